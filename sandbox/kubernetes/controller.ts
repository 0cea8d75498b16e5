import {
  controllerOf,
  deepClone,
  deepEqual,
  isJsonObject,
  nowIso,
  ownerReferenceTo,
  textOf,
  type KubeObject,
  type JsonRecord,
} from './objects';
import {
  asList,
  CONTROLLER_REVISION,
  DAEMON_SET,
  DEPLOYMENT,
  EVENT,
  imagesOf,
  INGRESS,
  JOB,
  keepTransitionTimes,
  keyOf,
  NODE,
  POD,
  REPLICA_SET,
  SERVICE,
  STATEFUL_SET,
  type ControllerContext,
  type ControllerOptions,
  type EventSpec,
} from './controllerContext';
import { reconcileDeployment, reconcileReplicaSet } from './deployments';
import { reconcileJob } from './jobs';
import { reconcileIngress, reconcileService } from './network';
import { containerLogs, simulatePod, type ImageBehaviour } from './pods';
import type { ResourceType } from './resources';
import { reconcileDaemonSet, reconcileStatefulSet } from './revisioned';
import type { ObjectStore, StoreEvent } from './store';

export type { ControllerOptions } from './controllerContext';

const OWNER_KINDS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob']);

/**
 * The cluster's control plane: a work queue and timers driving the deployment, replica set,
 * stateful set, daemon set, job, service (load balancer) and ingress reconcilers (in their own
 * modules), a garbage collector, and a simulated scheduler and kubelet whose containers behave as
 * the test chose per image. Level-triggered like the real ones: every
 * store change queues the affected objects, and reconciling an object twice changes nothing, so
 * status only changes (and watch events only flow) when something really happened.
 */
export class ClusterController implements ControllerContext {
  private readonly behaviours = new Map<string, ImageBehaviour>();
  private readonly queue = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  /** Exact creation times (creationTimestamp has whole seconds only). */
  private readonly podCreatedAt = new Map<string, number>();
  private readonly podIps = new Map<string, string>();
  /** Exact time of a Deployment's last progress, for progressDeadlineSeconds. */
  readonly lastProgressAt = new Map<string, number>();
  readonly firstSeenAt = new Map<string, number>();
  private readonly emittedEvents = new Map<string, string>();
  private nextPodIp = 10;
  private eventSequence = 0;
  private drainScheduled = false;
  private closed = false;
  private readonly unsubscribe: () => void;
  /** Errors thrown by reconcilers: a test can assert there are none. */
  readonly errors: string[] = [];

  constructor(readonly options: ControllerOptions) {
    this.unsubscribe = options.store.subscribe((event) => this.onStoreEvent(event));
  }

  get store(): ObjectStore {
    return this.options.store;
  }

  setImageBehaviour(image: string, behaviour: ImageBehaviour): void {
    this.behaviours.set(image, behaviour);
    // Pods already running the image re-evaluate: a test can fix a broken image in place.
    for (const pod of this.store.list(POD)) {
      if (imagesOf(pod).includes(image)) this.enqueue(POD, pod);
    }
  }

  behaviourOf(image: string): ImageBehaviour {
    return this.behaviours.get(image) ?? { kind: 'ready', delayMs: this.options.defaultReadyDelayMs };
  }

  /** Log text for the API server's `pods/log`. */
  podLogs(pod: KubeObject, container: string): { text: string } | { waiting: string } {
    const spec = [...asList(pod.spec?.containers), ...asList(pod.spec?.initContainers)].find(
      (c) => c.name === container,
    );
    return containerLogs(pod, container, this.behaviourOf(textOf(spec?.image)));
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.clear();
  }

  // ---- queue and timers ----

  private onStoreEvent(event: StoreEvent): void {
    const object = event.object;
    const kind = event.resourceType.kind;
    if (event.type === 'DELETED') {
      if (OWNER_KINDS.has(kind)) this.queue.add(`gc|${object.metadata.uid ?? ''}`);
      this.lastProgressAt.delete(object.metadata.uid ?? '');
      this.firstSeenAt.delete(object.metadata.uid ?? '');
      this.firstSeenAt.delete(keyOf(event.resourceType, object));
      if (kind === 'Pod') {
        this.podCreatedAt.delete(object.metadata.uid ?? '');
        this.podIps.delete(object.metadata.uid ?? '');
      }
    } else if (kind !== 'Event') {
      this.queue.add(keyOf(event.resourceType, object));
    }
    const owner = controllerOf(object);
    if (owner !== undefined && object.metadata.namespace !== undefined) {
      const ownerType = ownerTypes[owner.kind];
      if (ownerType !== undefined)
        this.queue.add(`${ownerType.kind}|${object.metadata.namespace}|${owner.name}`);
    }
    this.scheduleDrain();
  }

  enqueue(type: ResourceType, object: KubeObject): void {
    this.queue.add(keyOf(type, object));
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.drainScheduled || this.closed || this.queue.size === 0) return;
    this.drainScheduled = true;
    // Asynchronous on purpose: reconciling inside a store listener would publish nested events out of order.
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    let budget = 500;
    while (!this.closed && this.queue.size > 0 && budget-- > 0) {
      const key = this.queue.values().next().value as string;
      this.queue.delete(key);
      try {
        this.reconcile(key);
      } catch (error: unknown) {
        this.errors.push(
          `${key}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
      }
    }
    this.scheduleDrain();
  }

  /** Reconciles `key` again at `at` (epoch ms); keeps only the earliest pending timer per key. */
  wakeAt(key: string, at: number): void {
    if (this.closed) return;
    const existing = this.timers.get(key);
    if (existing !== undefined && existing.at <= at) return;
    if (existing !== undefined) clearTimeout(existing.timer);
    const timer = setTimeout(
      () => {
        this.timers.delete(key);
        this.queue.add(key);
        this.scheduleDrain();
      },
      Math.max(0, at - Date.now()) + 5,
    );
    this.timers.set(key, { at, timer });
  }

  private reconcile(key: string): void {
    const [kind, namespace, name] = key.split('|');
    if (kind === 'gc') return this.collectGarbage(namespace ?? '');
    const type = reconcilerTypes[kind ?? ''];
    if (type === undefined) return;
    const object = this.store.get(type, namespace === '' ? undefined : namespace, name ?? '');
    if (object === undefined) return;
    switch (kind) {
      case 'Pod':
        return this.reconcilePod(object);
      case 'ReplicaSet':
        return reconcileReplicaSet(this, object);
      case 'Deployment':
        return reconcileDeployment(this, object);
      case 'StatefulSet':
        return reconcileStatefulSet(this, object);
      case 'DaemonSet':
        return reconcileDaemonSet(this, object);
      case 'Job':
        return reconcileJob(this, object);
      case 'Service':
        return reconcileService(this, object);
      case 'Ingress':
        return reconcileIngress(this, object);
    }
  }

  // ---- writes ----

  /** Writes status on the latest version of the object (no precondition: the controller is the only status writer). */
  writeStatus(type: ResourceType, object: KubeObject, status: JsonRecord): KubeObject {
    const next = deepClone(object);
    delete next.metadata.resourceVersion;
    next.status = status;
    return this.store.update(type, next, 'status');
  }

  writeMain(type: ResourceType, object: KubeObject): KubeObject {
    const next = deepClone(object);
    delete next.metadata.resourceVersion;
    return this.store.update(type, next, 'main');
  }

  recordEvent(involved: KubeObject, spec: EventSpec): void {
    const identity = `${involved.metadata.uid ?? ''}/${spec.key ?? `${spec.reason}/${spec.message}`}`;
    const namespace = involved.metadata.namespace ?? 'default';
    const existingName = this.emittedEvents.get(identity);
    const now = nowIso();
    if (existingName !== undefined) {
      const existing = this.store.get(EVENT, namespace, existingName);
      if (existing === undefined || existing.count === spec.count) return;
      this.writeMain(EVENT, { ...existing, count: spec.count, lastTimestamp: now });
      return;
    }
    // Real event names end in the creation time in hex nanoseconds, so lists come out in time order.
    const name = `${involved.metadata.name ?? ''}.${(BigInt(Date.now()) * 1_000_000n + BigInt(this.eventSequence++ % 1_000_000)).toString(16)}`;
    this.emittedEvents.set(identity, name);
    const component =
      spec.reason === 'Scheduled'
        ? 'default-scheduler'
        : involved.kind === 'Pod'
          ? 'kubelet'
          : involved.kind === 'Service'
            ? 'service-controller'
            : `${involved.kind.toLowerCase()}-controller`;
    this.store.create(EVENT, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        kind: involved.kind,
        namespace,
        name: involved.metadata.name,
        uid: involved.metadata.uid,
        apiVersion: involved.apiVersion,
        resourceVersion: involved.metadata.resourceVersion,
        ...(spec.fieldPath === undefined ? {} : { fieldPath: spec.fieldPath }),
      },
      reason: spec.reason,
      message: spec.message,
      source: {
        component,
        ...(involved.kind === 'Pod' && component === 'kubelet'
          ? { host: textOf(involved.spec?.nodeName) }
          : {}),
      },
      firstTimestamp: now,
      lastTimestamp: now,
      count: spec.count,
      type: spec.type,
      eventTime: null,
      reportingComponent: component,
      reportingInstance: '',
    });
  }

  // ---- garbage collection ----

  /** Deletes everything whose owner references name `uid`; their deletions cascade in turn. */
  private collectGarbage(uid: string): void {
    for (const type of [REPLICA_SET, POD, CONTROLLER_REVISION, JOB]) {
      for (const dependent of this.store.list(type)) {
        if (!(dependent.metadata.ownerReferences ?? []).some((o) => o.uid === uid)) continue;
        if (this.store.get(type, dependent.metadata.namespace, dependent.metadata.name ?? '') !== undefined) {
          this.store.delete(type, dependent.metadata.namespace, dependent.metadata.name ?? '');
        }
      }
    }
  }

  // ---- pods (the kubelet) ----

  nodes(): KubeObject[] {
    return this.store.list(NODE);
  }

  private reconcilePod(pod: KubeObject): void {
    const uid = pod.metadata.uid ?? '';
    if (pod.spec?.nodeName === undefined) {
      // The scheduler: least-loaded node.
      const counts = new Map(this.nodes().map((n) => [n.metadata.name ?? '', 0]));
      for (const other of this.store.list(POD)) {
        const node = textOf(other.spec?.nodeName);
        if (counts.has(node)) counts.set(node, (counts.get(node) ?? 0) + 1);
      }
      const node =
        [...counts.entries()].sort((a, b) => a[1] - b[1])[0]?.[0] ?? 'aks-nodepool1-00000000-vmss000000';
      pod = this.writeMain(POD, { ...pod, spec: { ...pod.spec, nodeName: node } });
    }
    if (!this.podCreatedAt.has(uid)) this.podCreatedAt.set(uid, Date.now());
    if (!this.podIps.has(uid)) {
      const n = this.nextPodIp++;
      this.podIps.set(uid, `10.244.${Math.floor(n / 250) % 250}.${(n % 250) + 2}`);
    }
    const node = this.store.get(NODE, undefined, textOf(pod.spec?.nodeName));
    const hostIp = asList(node?.status?.addresses).find((a) => a.type === 'InternalIP')?.address;
    const simulation = simulatePod(pod, {
      behaviourOf: (image) => this.behaviourOf(image),
      now: Date.now(),
      createdAt: this.podCreatedAt.get(uid) ?? Date.now(),
      podIp: this.podIps.get(uid) ?? '10.244.0.2',
      hostIp: typeof hostIp === 'string' ? hostIp : '10.224.0.4',
    });
    const previous = pod.status ?? {};
    // Keep transition times stable when nothing about a condition changed.
    const status = {
      ...simulation.status,
      conditions: keepTransitionTimes(asList(previous.conditions), asList(simulation.status.conditions)),
    };
    if (!deepEqual(previous, status)) this.writeStatus(POD, pod, status);
    for (const event of simulation.events) this.recordEvent(pod, event);
    if (simulation.nextChangeAt !== undefined) this.wakeAt(keyOf(POD, pod), simulation.nextChangeAt);
  }

  ownedBy(type: ResourceType, owner: KubeObject): KubeObject[] {
    return this.store
      .list(type, { namespace: owner.metadata.namespace ?? '' })
      .filter((o) => controllerOf(o)?.uid === owner.metadata.uid);
  }

  /** A pod from `template`, owned by `owner`. */
  createPod(
    owner: KubeObject,
    template: JsonRecord,
    name: string,
    extraLabels: Record<string, string>,
    nodeName?: string,
  ): KubeObject {
    const metadata = isJsonObject(template.metadata) ? template.metadata : {};
    const labels = {
      ...(isJsonObject(metadata.labels) ? (metadata.labels as Record<string, string>) : {}),
      ...extraLabels,
    };
    const annotations = isJsonObject(metadata.annotations)
      ? (metadata.annotations as Record<string, string>)
      : undefined;
    const spec = deepClone(isJsonObject(template.spec) ? template.spec : {});
    if (nodeName !== undefined) spec.nodeName = nodeName;
    const pod = this.store.create(POD, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: owner.metadata.namespace,
        labels,
        ...(annotations === undefined ? {} : { annotations }),
        ownerReferences: [ownerReferenceTo(owner)],
      },
      spec,
    });
    this.recordEvent(owner, {
      type: 'Normal',
      reason: 'SuccessfulCreate',
      message: `Created pod: ${name}`,
      count: 1,
      key: `create/${name}`,
    });
    return pod;
  }

  deletePod(owner: KubeObject, pod: KubeObject): void {
    this.store.delete(POD, pod.metadata.namespace, pod.metadata.name ?? '');
    this.recordEvent(owner, {
      type: 'Normal',
      reason: 'SuccessfulDelete',
      message: `Deleted pod: ${pod.metadata.name ?? ''}`,
      count: 1,
      key: `delete/${pod.metadata.name ?? ''}`,
    });
  }

  // ---- replica sets ----

  firstSeen(key: string): number {
    let at = this.firstSeenAt.get(key);
    if (at === undefined) {
      at = Date.now();
      this.firstSeenAt.set(key, at);
    }
    return at;
  }
}

const reconcilerTypes: Record<string, ResourceType> = {
  Pod: POD,
  ReplicaSet: REPLICA_SET,
  Deployment: DEPLOYMENT,
  StatefulSet: STATEFUL_SET,
  DaemonSet: DAEMON_SET,
  Job: JOB,
  Service: SERVICE,
  Ingress: INGRESS,
};

/** Owners whose status depends on their dependents: a change to the dependent requeues them. */
const ownerTypes: Record<string, ResourceType> = {
  ReplicaSet: REPLICA_SET,
  Deployment: DEPLOYMENT,
  StatefulSet: STATEFUL_SET,
  DaemonSet: DAEMON_SET,
  Job: JOB,
};
