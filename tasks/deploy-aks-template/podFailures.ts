import { isJsonObject, type JsonObject } from './kubernetesObject';

/** Container waiting reasons that a pod does not recover from on its own within a rollout. */
export const HOPELESS_WAITING_REASONS = [
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CrashLoopBackOff',
] as const;

/** `Failed`: a pod of a Job that failed for good, its container ended with an error. */
export type PodFailureReason = (typeof HOPELESS_WAITING_REASONS)[number] | 'Unschedulable' | 'Failed';

export interface PodFailure {
  readonly pod: string;
  /** Undefined when the pod as a whole cannot start (Unschedulable). */
  readonly container: string | undefined;
  readonly reason: PodFailureReason;
  /** Kubernetes' own explanation; for a crash loop, with how the last run ended. */
  readonly message: string;
}

/**
 * Why a pod (as `kubectl get pod -o json` returns it) can never become ready, or undefined while it
 * may yet. Init containers are looked at first, since they hold the others back; a pod the scheduler
 * cannot place has no container statuses at all, so its PodScheduled condition is looked at last.
 */
export function classifyPodFailure(pod: unknown): PodFailure | undefined {
  if (!isJsonObject(pod)) return undefined;
  const name = isJsonObject(pod.metadata) && typeof pod.metadata.name === 'string' ? pod.metadata.name : '';
  const status = isJsonObject(pod.status) ? pod.status : {};
  for (const field of ['initContainerStatuses', 'containerStatuses']) {
    const statuses = status[field];
    if (!Array.isArray(statuses)) continue;
    for (const containerStatus of statuses) {
      const failure = containerFailure(name, containerStatus);
      if (failure !== undefined) return failure;
    }
  }
  const conditions = Array.isArray(status.conditions) ? status.conditions.filter(isJsonObject) : [];
  const scheduled = conditions.find((condition) => condition.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { pod: name, container: undefined, reason: 'Unschedulable', message: text(scheduled.message) };
  }
  return undefined;
}

function containerFailure(pod: string, containerStatus: unknown): PodFailure | undefined {
  if (!isJsonObject(containerStatus)) return undefined;
  const waiting = stateOf(containerStatus.state, 'waiting');
  const reason = waiting?.reason;
  if (!isHopeless(reason)) return undefined;
  const container = typeof containerStatus.name === 'string' ? containerStatus.name : undefined;
  let message = text(waiting?.message);
  if (reason === 'CrashLoopBackOff') {
    const lastExit = lastTermination(containerStatus);
    if (lastExit !== undefined) message = message === '' ? lastExit : `${message}; ${lastExit}`;
  }
  return { pod, container, reason, message };
}

/** `last exit: Error, code 1`, how the previous instance of a crash-looping container ended. */
function lastTermination(containerStatus: JsonObject): string | undefined {
  const terminated = stateOf(containerStatus.lastState, 'terminated');
  if (terminated === undefined) return undefined;
  const reason = typeof terminated.reason === 'string' ? `${terminated.reason}, ` : '';
  return `last exit: ${reason}code ${String(terminated.exitCode)}`;
}

function stateOf(state: unknown, phase: 'waiting' | 'terminated'): JsonObject | undefined {
  if (!isJsonObject(state)) return undefined;
  const value = state[phase];
  return isJsonObject(value) ? value : undefined;
}

function isHopeless(reason: unknown): reason is (typeof HOPELESS_WAITING_REASONS)[number] {
  return HOPELESS_WAITING_REASONS.some((hopeless) => hopeless === reason);
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/**
 * Why a Job failed for good (its `Failed` condition: BackoffLimitExceeded, DeadlineExceeded…), or
 * undefined while it may still complete. A failed pod alone does not say: the Job retries it.
 */
export function jobFailure(job: unknown): { readonly reason: string; readonly message: string } | undefined {
  if (!isJsonObject(job) || !isJsonObject(job.status) || !Array.isArray(job.status.conditions))
    return undefined;
  const conditions: unknown[] = job.status.conditions;
  const failed = conditions
    .filter(isJsonObject)
    .find((condition) => condition.type === 'Failed' && condition.status === 'True');
  if (failed === undefined) return undefined;
  return { reason: text(failed.reason) || 'Failed', message: text(failed.message) };
}

/** Whether a pod ended in failure (phase Failed): for a Job, one of its tries. */
function hasFailed(pod: unknown): boolean {
  return isJsonObject(pod) && isJsonObject(pod.status) && pod.status.phase === 'Failed';
}

/** The failed pod among a failed Job's, last created first, with the container that ended in error. */
export function failedJobPod(pods: readonly JsonObject[], jobReason: string): PodFailure | undefined {
  const failed = pods.filter(hasFailed).sort((a, b) => creationOf(b).localeCompare(creationOf(a)));
  const pod = failed[0];
  if (pod === undefined) return undefined;
  const name = isJsonObject(pod.metadata) && typeof pod.metadata.name === 'string' ? pod.metadata.name : '';
  const statuses =
    isJsonObject(pod.status) && Array.isArray(pod.status.containerStatuses)
      ? pod.status.containerStatuses
      : [];
  for (const containerStatus of statuses) {
    if (!isJsonObject(containerStatus)) continue;
    const terminated = stateOf(containerStatus.state, 'terminated');
    if (terminated === undefined || terminated.exitCode === 0) continue;
    const reason = typeof terminated.reason === 'string' ? `${terminated.reason}, ` : '';
    return {
      pod: name,
      container: typeof containerStatus.name === 'string' ? containerStatus.name : undefined,
      reason: 'Failed',
      message: `${jobReason}; exit: ${reason}code ${String(terminated.exitCode)}`,
    };
  }
  return { pod: name, container: undefined, reason: 'Failed', message: jobReason };
}

function creationOf(object: JsonObject): string {
  return isJsonObject(object.metadata) && typeof object.metadata.creationTimestamp === 'string'
    ? object.metadata.creationTimestamp
    : '';
}
