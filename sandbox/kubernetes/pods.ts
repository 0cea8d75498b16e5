import * as crypto from 'node:crypto';
import { isJsonObject, textOf, type KubeObject } from './objects';

/**
 * What happens to a container that runs an image. Tests choose per image; everything else is
 * `ready` after the cluster's default delay.
 */
export type ImageBehaviour =
  /** Starts and becomes ready after `delayMs`; a Job's container then exits 0. */
  | { readonly kind: 'ready'; readonly delayMs?: number; readonly logs?: string }
  /** Stays ContainerCreating forever: a rollout that never finishes (or hits its progress deadline). */
  | { readonly kind: 'progressing' }
  /** The pull fails after `delayMs`: ErrImagePull, then ImagePullBackOff, with "Failed to pull image" events. */
  | { readonly kind: 'imagePullBackOff'; readonly delayMs?: number }
  /** Starts after `delayMs` and exits with `exitCode` (default 1) again and again: CrashLoopBackOff; a Job's pod fails. */
  | {
      readonly kind: 'crashLoopBackOff';
      readonly delayMs?: number;
      readonly exitCode?: number;
      readonly logs?: string;
    };

/** An event the pod should have produced by now; `count` grows for repeated ones (BackOff). */
export interface PodEventSpec {
  readonly key: string;
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
  readonly count: number;
  readonly fieldPath?: string;
}

export interface PodSimulation {
  readonly status: Record<string, unknown>;
  /** Epoch ms of the next state change, if any: the controller sets a timer for it. */
  readonly nextChangeAt: number | undefined;
  readonly events: PodEventSpec[];
}

export interface PodContext {
  readonly behaviourOf: (image: string) => ImageBehaviour;
  readonly now: number;
  /** When the pod was created, in epoch ms (creationTimestamp only has seconds). */
  readonly createdAt: number;
  readonly podIp: string;
  readonly hostIp: string;
}

/** Time from pull failure to the first ImagePullBackOff. */
const ERR_IMAGE_PULL_MS = 300;
/** Crash n (n ≥ 1) happens at start + CRASH_BASE_MS·(2^(n-1) − 1): the kubelet's doubling back-off, scaled down. */
const CRASH_BASE_MS = 200;
const MAX_SIMULATED_CRASHES = 8;
const DEFAULT_PULL_FAILURE_MS = 50;

interface ContainerOutcome {
  readonly status: Record<string, unknown>;
  /** Has run at least once (state running or terminated ever). */
  readonly started: boolean;
  readonly ready: boolean;
  /** For run-to-completion pods: how the container ended, if it has. */
  readonly exited: 'succeeded' | 'failed' | undefined;
  readonly nextChangeAt: number | undefined;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function sha(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}

function imageId(image: string): string {
  const repository = image.replace(/@sha256:.*$/, '').replace(/:[^/:]+$/, '');
  const digest = /@(sha256:[0-9a-f]{64})$/.exec(image)?.[1] ?? `sha256:${sha(image)}`;
  return `${repository}@${digest}`;
}

function pullFailureMessage(image: string): string {
  const reference = image.includes('/') ? image : `docker.io/library/${image}`;
  return `rpc error: code = NotFound desc = failed to pull and unpack image "${reference}": failed to resolve reference "${reference}": ${reference}: not found`;
}

/**
 * The state of one container `elapsed` ms after it could start. `runsToCompletion` is true for
 * restartPolicy Never/OnFailure (Jobs) and for init containers.
 */
function simulateContainer(
  name: string,
  image: string,
  behaviour: ImageBehaviour,
  startAt: number,
  now: number,
  podKey: string,
  runsToCompletion: boolean,
  events: PodEventSpec[],
): ContainerOutcome {
  const fieldPath = `spec.containers{${name}}`;
  const base = {
    name,
    image,
    imageID: '',
    restartCount: 0,
    started: false,
    ready: false,
    lastState: {} as Record<string, unknown>,
  };
  const creating = (next: number | undefined): ContainerOutcome => ({
    status: { ...base, state: { waiting: { reason: 'ContainerCreating' } } },
    started: false,
    ready: false,
    exited: undefined,
    nextChangeAt: next,
  });
  const elapsed = now - startAt;
  if (elapsed < 0) return creating(startAt);
  switch (behaviour.kind) {
    case 'progressing':
      events.push({
        key: `pulling/${name}`,
        type: 'Normal',
        reason: 'Pulling',
        message: `Pulling image "${image}"`,
        count: 1,
        fieldPath,
      });
      return creating(undefined);
    case 'imagePullBackOff': {
      const failAt = startAt + (behaviour.delayMs ?? DEFAULT_PULL_FAILURE_MS);
      events.push({
        key: `pulling/${name}`,
        type: 'Normal',
        reason: 'Pulling',
        message: `Pulling image "${image}"`,
        count: 1,
        fieldPath,
      });
      if (now < failAt) return creating(failAt);
      const message = pullFailureMessage(image);
      events.push({
        key: `pullFailed/${name}`,
        type: 'Warning',
        reason: 'Failed',
        message: `Failed to pull image "${image}": ${message}`,
        count: 1,
        fieldPath,
      });
      events.push({
        key: `errImagePull/${name}`,
        type: 'Warning',
        reason: 'Failed',
        message: 'Error: ErrImagePull',
        count: 1,
        fieldPath,
      });
      if (now < failAt + ERR_IMAGE_PULL_MS) {
        return {
          status: { ...base, state: { waiting: { reason: 'ErrImagePull', message } } },
          started: false,
          ready: false,
          exited: undefined,
          nextChangeAt: failAt + ERR_IMAGE_PULL_MS,
        };
      }
      events.push({
        key: `pullBackOff/${name}`,
        type: 'Normal',
        reason: 'BackOff',
        message: `Back-off pulling image "${image}"`,
        count: 1,
        fieldPath,
      });
      events.push({
        key: `errPullBackOff/${name}`,
        type: 'Warning',
        reason: 'Failed',
        message: 'Error: ImagePullBackOff',
        count: 1,
        fieldPath,
      });
      return {
        status: {
          ...base,
          state: {
            waiting: {
              reason: 'ImagePullBackOff',
              message: `Back-off pulling image "${image}": ErrImagePull: ${message}`,
            },
          },
        },
        started: false,
        ready: false,
        exited: undefined,
        nextChangeAt: undefined,
      };
    }
    case 'ready':
    case 'crashLoopBackOff': {
      const runAt = startAt + (behaviour.delayMs ?? DEFAULT_PULL_FAILURE_MS);
      if (now < runAt) return creating(runAt);
      events.push({
        key: `pulled/${name}`,
        type: 'Normal',
        reason: 'Pulled',
        message: `Successfully pulled image "${image}" in 412ms (412ms including waiting). Image size: 28716434 bytes.`,
        count: 1,
        fieldPath,
      });
      events.push({
        key: `created/${name}`,
        type: 'Normal',
        reason: 'Created',
        message: `Created container ${name}`,
        count: 1,
        fieldPath,
      });
      events.push({
        key: `started/${name}`,
        type: 'Normal',
        reason: 'Started',
        message: `Started container ${name}`,
        count: 1,
        fieldPath,
      });
      const running = {
        ...base,
        imageID: imageId(image),
        started: true,
        containerID: `containerd://${sha(`${podKey}/${name}/0`)}`,
      };
      if (behaviour.kind === 'ready') {
        if (runsToCompletion) {
          const terminated = {
            exitCode: 0,
            reason: 'Completed',
            startedAt: iso(runAt),
            finishedAt: iso(runAt),
            containerID: running.containerID,
          };
          return {
            status: { ...running, started: false, state: { terminated } },
            started: true,
            ready: false,
            exited: 'succeeded',
            nextChangeAt: undefined,
          };
        }
        return {
          status: { ...running, ready: true, state: { running: { startedAt: iso(runAt) } } },
          started: true,
          ready: true,
          exited: undefined,
          nextChangeAt: undefined,
        };
      }
      const exitCode = behaviour.exitCode ?? 1;
      const terminated = (at: number, restart: number): Record<string, unknown> => ({
        exitCode,
        reason: 'Error',
        startedAt: iso(at),
        finishedAt: iso(at),
        containerID: `containerd://${sha(`${podKey}/${name}/${restart}`)}`,
      });
      if (runsToCompletion) {
        return {
          status: { ...running, started: false, state: { terminated: terminated(runAt, 0) } },
          started: true,
          ready: false,
          exited: 'failed',
          nextChangeAt: undefined,
        };
      }
      let crashes = 1;
      while (crashes < MAX_SIMULATED_CRASHES && now >= runAt + CRASH_BASE_MS * (2 ** crashes - 1)) crashes++;
      const nextCrash =
        crashes < MAX_SIMULATED_CRASHES ? runAt + CRASH_BASE_MS * (2 ** crashes - 1) : undefined;
      const lastCrashAt = runAt + CRASH_BASE_MS * (2 ** (crashes - 1) - 1);
      const backOffSeconds = Math.min(300, 10 * 2 ** (crashes - 1));
      events.push({
        key: `crashBackOff/${name}`,
        type: 'Warning',
        reason: 'BackOff',
        message: `Back-off restarting failed container ${name} in pod ${podKey}`,
        count: crashes,
        fieldPath,
      });
      return {
        status: {
          ...running,
          started: false,
          restartCount: crashes,
          containerID: `containerd://${sha(`${podKey}/${name}/${crashes - 1}`)}`,
          lastState: { terminated: terminated(lastCrashAt, crashes - 1) },
          state: {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: `back-off ${backOffSeconds}s restarting failed container=${name} pod=${podKey}`,
            },
          },
        },
        started: true,
        ready: false,
        exited: undefined,
        nextChangeAt: nextCrash,
      };
    }
  }
}

function containersOf(
  spec: Record<string, unknown> | undefined,
  field: string,
): { name: string; image: string }[] {
  const list = spec?.[field];
  return (Array.isArray(list) ? list : [])
    .filter(isJsonObject)
    .map((c) => ({ name: textOf(c.name), image: textOf(c.image) }));
}

/**
 * The status a kubelet would report for `pod` now, under the per-image behaviours: init containers
 * run to completion one after another, then the app containers start. Pure, so the controller can
 * recompute it whenever a timer fires.
 */
export function simulatePod(pod: KubeObject, context: PodContext): PodSimulation {
  const events: PodEventSpec[] = [];
  const podKey = `${pod.metadata.name ?? ''}_${pod.metadata.namespace ?? ''}(${pod.metadata.uid ?? ''})`;
  const restartPolicy = textOf(pod.spec?.restartPolicy, 'Always');
  const runsToCompletion = restartPolicy !== 'Always';
  const nodeName = textOf(pod.spec?.nodeName);
  events.push({
    key: 'scheduled',
    type: 'Normal',
    reason: 'Scheduled',
    message: `Successfully assigned ${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''} to ${nodeName}`,
    count: 1,
  });

  let startAt = context.createdAt;
  let nextChangeAt: number | undefined;
  const earliest = (at: number | undefined): void => {
    if (at !== undefined && (nextChangeAt === undefined || at < nextChangeAt)) nextChangeAt = at;
  };
  const initStatuses: Record<string, unknown>[] = [];
  let initialized = true;
  let initFailed = false;
  for (const init of containersOf(pod.spec, 'initContainers')) {
    if (!initialized) {
      initStatuses.push(initializingStatus(init));
      continue;
    }
    const behaviour = context.behaviourOf(init.image);
    const outcome = simulateContainer(
      init.name,
      init.image,
      behaviour,
      startAt,
      context.now,
      podKey,
      true,
      events,
    );
    earliest(outcome.nextChangeAt);
    if (outcome.exited === 'succeeded') {
      initStatuses.push({ ...outcome.status, ready: true });
      startAt += behaviour.kind === 'ready' ? (behaviour.delayMs ?? DEFAULT_PULL_FAILURE_MS) : 0;
    } else {
      initStatuses.push(outcome.status);
      initialized = false;
      initFailed = outcome.exited === 'failed';
    }
  }

  const containerStatuses: Record<string, unknown>[] = [];
  let allReady = true;
  let allStarted = true;
  let anySucceeded = false;
  let anyFailed = false;
  let allExited = true;
  const notReady: string[] = [];
  for (const container of containersOf(pod.spec, 'containers')) {
    if (!initialized) {
      containerStatuses.push(initializingStatus(container));
      allReady = false;
      allStarted = false;
      allExited = false;
      notReady.push(container.name);
      continue;
    }
    const outcome = simulateContainer(
      container.name,
      container.image,
      context.behaviourOf(container.image),
      startAt,
      context.now,
      podKey,
      runsToCompletion,
      events,
    );
    earliest(outcome.nextChangeAt);
    containerStatuses.push(outcome.status);
    if (!outcome.ready) {
      allReady = false;
      notReady.push(container.name);
    }
    if (!outcome.started) allStarted = false;
    if (outcome.exited === undefined) allExited = false;
    if (outcome.exited === 'succeeded') anySucceeded = true;
    if (outcome.exited === 'failed') anyFailed = true;
  }

  let phase: string;
  if (runsToCompletion && (initFailed || (allExited && anyFailed))) phase = 'Failed';
  else if (runsToCompletion && allExited && anySucceeded) phase = 'Succeeded';
  else if (initialized && allStarted) phase = 'Running';
  else phase = 'Pending';

  const created = iso(context.createdAt);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const readyCondition =
    allReady && !terminal
      ? { type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: created }
      : {
          type: 'Ready',
          status: 'False',
          lastProbeTime: null,
          lastTransitionTime: created,
          reason: terminal ? 'PodCompleted' : 'ContainersNotReady',
          message: terminal ? undefined : `containers with unready status: [${notReady.join(' ')}]`,
        };
  const conditions = [
    { type: 'PodReadyToStartContainers', status: 'True', lastProbeTime: null, lastTransitionTime: created },
    initialized
      ? { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: created }
      : {
          type: 'Initialized',
          status: 'False',
          lastProbeTime: null,
          lastTransitionTime: created,
          reason: 'ContainersNotInitialized',
          message: 'containers with incomplete status: [init]',
        },
    readyCondition,
    { ...readyCondition, type: 'ContainersReady' },
    { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: created },
  ].map((c) => JSON.parse(JSON.stringify(c)) as Record<string, unknown>);

  const status: Record<string, unknown> = {
    phase,
    conditions,
    hostIP: context.hostIp,
    hostIPs: [{ ip: context.hostIp }],
    podIP: context.podIp,
    podIPs: [{ ip: context.podIp }],
    startTime: created,
    ...(initStatuses.length > 0 ? { initContainerStatuses: initStatuses } : {}),
    containerStatuses,
    qosClass: 'BestEffort',
  };
  return { status, nextChangeAt, events };
}

/** The container's log text, or why there is none (the API server turns that into 400 BadRequest). */
export function containerLogs(
  pod: KubeObject,
  container: string,
  behaviour: ImageBehaviour,
): { text: string } | { waiting: string } {
  const statuses = [...asList(pod.status?.containerStatuses), ...asList(pod.status?.initContainerStatuses)];
  const status = statuses.find((s) => s.name === container);
  const state = isJsonObject(status?.state) ? status.state : {};
  const waiting = isJsonObject(state.waiting) ? state.waiting : undefined;
  const everRan =
    status !== undefined &&
    ((isJsonObject(status.lastState) && 'terminated' in status.lastState) ||
      'running' in state ||
      'terminated' in state);
  if (waiting !== undefined && !everRan) {
    const reason = textOf(waiting.reason, 'ContainerCreating');
    const why =
      reason === 'ErrImagePull' || reason === 'ImagePullBackOff'
        ? 'trying and failing to pull image'
        : reason;
    return {
      waiting: `container "${container}" in pod "${pod.metadata.name ?? ''}" is waiting to start: ${why}`,
    };
  }
  const image = textOf(status?.image);
  if ((behaviour.kind === 'ready' || behaviour.kind === 'crashLoopBackOff') && behaviour.logs !== undefined)
    return { text: behaviour.logs };
  if (behaviour.kind === 'crashLoopBackOff') {
    return { text: `starting ${image}\nfatal: configuration invalid: required setting missing\n` };
  }
  return { text: `starting ${image}\nlistening on :8080\nready\n` };
}

function asList(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isJsonObject) : [];
}

/** A container that has not started because the pod's init containers have not finished. */
function initializingStatus(container: { name: string; image: string }): Record<string, unknown> {
  return {
    name: container.name,
    image: container.image,
    imageID: '',
    ready: false,
    restartCount: 0,
    started: false,
    state: { waiting: { reason: 'PodInitializing' } },
    lastState: {},
  };
}
