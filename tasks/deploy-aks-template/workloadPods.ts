import { groupBy } from '../common/collections';
import { isJsonObject, type JsonObject } from './kubernetesObject';
import type { Kubectl } from './kubectl';
import type { Workload } from './workloads';

/**
 * `app=web,tier=front` from a workload's `spec.selector.matchLabels`, or undefined when it has none
 * (a selector of matchExpressions only): its pods are then not watched, and its rollout status alone
 * decides.
 */
export function matchLabelsSelector(workload: unknown): string | undefined {
  const labels = matchLabelsOf(workload);
  return labels === undefined
    ? undefined
    : Object.entries(labels)
        .map(([key, value]) => `${key}=${value}`)
        .join(',');
}

/**
 * The ReplicaSet of a Deployment's newest revision (`deployment.kubernetes.io/revision`), among those
 * its selector lists; only those the Deployment owns when its uid is known.
 */
export function newestReplicaSet(
  replicaSets: readonly JsonObject[],
  ownerUid: string | undefined,
): JsonObject | undefined {
  let newest: JsonObject | undefined;
  let newestRevision = -1;
  for (const replicaSet of replicaSets) {
    if (ownerUid !== undefined && !ownedBy(replicaSet, ownerUid)) continue;
    const revision = Number(annotationOf(replicaSet, 'deployment.kubernetes.io/revision'));
    if (Number.isFinite(revision) && revision > newestRevision) {
      newest = replicaSet;
      newestRevision = revision;
    }
  }
  return newest;
}

/**
 * The pods of the workload's current revision: for a Deployment those of its newest ReplicaSet (by
 * their `pod-template-hash`), so that an old pod still draining is not taken for the new one; for
 * the other kinds every pod of the selector. Empty when the workload has no label selector. A
 * Deployment's ReplicaSets and pods come in one kubectl process: both carry the selector's labels.
 */
export async function currentPods(
  kubectl: Kubectl,
  workload: Workload,
  applied: JsonObject | undefined,
  signal?: AbortSignal,
): Promise<JsonObject[]> {
  const selector = matchLabelsSelector(applied);
  if (selector === undefined) return [];
  const objects = await kubectl.list(kindsToList([workload]), workload.namespace, selector, signal);
  return podsOfRevision(workload, applied, objects);
}

/** A workload and the object as the apply returned it (its selector, its uid). */
export interface WorkloadObject {
  readonly workload: Workload;
  readonly applied: JsonObject | undefined;
}

/**
 * currentPods of several workloads of one namespace, in one kubectl process when their selectors
 * share a label key (`app in (api,web)`), which is how most templates label their workloads:
 * a process per workload costs a tenth of a second each. Otherwise one process per workload.
 */
export async function currentPodsOf<T extends WorkloadObject>(
  kubectl: Kubectl,
  namespace: string,
  targets: readonly T[],
  signal?: AbortSignal,
): Promise<Map<T, JsonObject[]>> {
  const selected = targets.filter(({ applied }) => matchLabelsOf(applied) !== undefined);
  const shared =
    selected.length > 1
      ? sharedKeySelector(selected.map(({ applied }) => matchLabelsOf(applied) ?? {}))
      : undefined;
  const pods = new Map<T, JsonObject[]>(targets.map((target) => [target, []]));
  if (shared === undefined) {
    await Promise.all(
      selected.map(async (target) =>
        pods.set(target, await currentPods(kubectl, target.workload, target.applied, signal)),
      ),
    );
    return pods;
  }
  const objects = await kubectl.list(
    kindsToList(selected.map(({ workload }) => workload)),
    namespace,
    shared,
    signal,
  );
  for (const target of selected) {
    const labels = matchLabelsOf(target.applied) ?? {};
    const own = objects.filter((object) => hasLabels(object, labels));
    pods.set(target, podsOfRevision(target.workload, target.applied, own));
  }
  return pods;
}

/**
 * currentPodsOf for workloads asked for one at a time (each as its rollout finishes), one kubectl
 * process per namespace: the asks for a namespace are held until every `expected` workload of it
 * has asked, then read together, because kubectl reports the rollouts of a namespace finished a few
 * milliseconds apart and a process per workload would run three at once on two CPUs. What is asked
 * in one moment is read together.
 */
export class BatchedPodReader<T extends WorkloadObject> {
  private pending: PendingRead<T>[] = [];
  /** Namespace → how many of its expected workloads have not asked yet. */
  private readonly awaited = new Map<string, number>();
  private scheduled = false;

  constructor(
    private readonly kubectl: Kubectl,
    expected: readonly T[],
  ) {
    for (const [namespace, targets] of groupBy(expected, ({ workload }) => workload.namespace))
      this.awaited.set(namespace, targets.length);
  }

  read(target: T): Promise<JsonObject[]> {
    return new Promise((resolve, reject) => {
      const { namespace } = target.workload;
      const left = this.awaited.get(namespace);
      if (left !== undefined) this.awaited.set(namespace, left - 1);
      this.pending.push({ target, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.readPending();
        });
      }
    });
  }

  /**
   * Answers every held ask with no pods, without reading: after a failed rollout the workloads
   * still expected never ask, and the answers are not used.
   */
  discardHeld(): void {
    const held = this.pending;
    this.pending = [];
    for (const { resolve } of held) resolve([]);
  }

  private readPending(): void {
    const ready = this.pending.filter(
      ({ target }) => (this.awaited.get(target.workload.namespace) ?? 0) <= 0,
    );
    this.pending = this.pending.filter((ask) => !ready.includes(ask));
    for (const [namespace, asks] of groupBy(ready, ({ target }) => target.workload.namespace)) {
      currentPodsOf(
        this.kubectl,
        namespace,
        asks.map(({ target }) => target),
      ).then(
        (pods) => asks.forEach(({ target, resolve }) => resolve(pods.get(target) ?? [])),
        (error: unknown) => asks.forEach(({ reject }) => reject(error)),
      );
    }
  }
}

interface PendingRead<T> {
  readonly target: T;
  readonly resolve: (pods: JsonObject[]) => void;
  readonly reject: (error: unknown) => void;
}

/** `key in (a,b)` for the first label key every selector has, undefined when they share none. */
export function sharedKeySelector(
  selectors: readonly Readonly<Record<string, string>>[],
): string | undefined {
  const [first, ...rest] = selectors;
  if (first === undefined) return undefined;
  const key = Object.keys(first).find((candidate) => rest.every((selector) => candidate in selector));
  if (key === undefined) return undefined;
  const values = [...new Set(selectors.map((selector) => selector[key] ?? ''))].sort();
  return `${key} in (${values.join(',')})`;
}

function kindsToList(workloads: readonly Workload[]): string[] {
  return workloads.some(({ kind }) => kind === 'Deployment') ? ['ReplicaSet', 'Pod'] : ['Pod'];
}

/** The pods of the workload's current revision among `objects` (its ReplicaSets and pods). */
function podsOfRevision(
  workload: Workload,
  applied: JsonObject | undefined,
  objects: readonly JsonObject[],
): JsonObject[] {
  const pods = objects.filter((object) => object.kind === 'Pod');
  if (workload.kind !== 'Deployment') return pods;
  const replicaSets = objects.filter((object) => object.kind === 'ReplicaSet');
  const hash = labelOf(newestReplicaSet(replicaSets, uidOf(applied)), 'pod-template-hash');
  return hash === undefined ? pods : pods.filter((pod) => labelOf(pod, 'pod-template-hash') === hash);
}

function matchLabelsOf(workload: unknown): Record<string, string> | undefined {
  if (!isJsonObject(workload) || !isJsonObject(workload.spec) || !isJsonObject(workload.spec.selector))
    return undefined;
  const labels = workload.spec.selector.matchLabels;
  if (!isJsonObject(labels)) return undefined;
  const pairs = Object.entries(labels).filter(
    (entry): entry is [string, string] => typeof entry[1] === 'string',
  );
  return pairs.length === 0 ? undefined : Object.fromEntries(pairs);
}

function hasLabels(object: JsonObject, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(labels).every(([key, value]) => labelOf(object, key) === value);
}

export function uidOf(object: unknown): string | undefined {
  const metadata = isJsonObject(object) ? object.metadata : undefined;
  return isJsonObject(metadata) && typeof metadata.uid === 'string' ? metadata.uid : undefined;
}

function ownedBy(object: JsonObject, uid: string): boolean {
  const metadata = object.metadata;
  if (!isJsonObject(metadata) || !Array.isArray(metadata.ownerReferences)) return false;
  return metadata.ownerReferences.some((owner) => isJsonObject(owner) && owner.uid === uid);
}

function annotationOf(object: JsonObject, key: string): string | undefined {
  return stringField(object, 'annotations', key);
}

function labelOf(object: JsonObject | undefined, key: string): string | undefined {
  return object === undefined ? undefined : stringField(object, 'labels', key);
}

function stringField(object: JsonObject, field: 'labels' | 'annotations', key: string): string | undefined {
  const metadata = object.metadata;
  if (!isJsonObject(metadata)) return undefined;
  const map = metadata[field];
  if (!isJsonObject(map)) return undefined;
  const value = map[key];
  return typeof value === 'string' ? value : undefined;
}
