import { setTimeout as delay } from 'node:timers/promises';
import { userError } from './messages';
import { KubectlError, type Kubectl } from './kubectl';
import type { JsonObject } from './kubernetesObject';
import { classifyPodFailure, type PodFailure } from './podFailures';
import { currentPods } from './workloadPods';
import type { Workload } from './workloads';

/** A workload to wait for, with the object as the API server returned it after the apply. */
export interface RolloutTarget {
  readonly workload: Workload;
  readonly applied: JsonObject | undefined;
}

export interface WorkloadFailure {
  readonly workload: Workload;
  /** The pod that can never start, when that is what failed the rollout. */
  readonly pod: PodFailure | undefined;
  /** What the task fails with. */
  readonly error: Error;
}

export interface RolloutResult {
  /** `Kind namespace/name` → milliseconds from the start of the wait, for each workload that finished. */
  readonly durationsMs: ReadonlyMap<string, number>;
  /** Empty when every rollout finished; else the first failure (and any found in the same moment). */
  readonly failures: readonly WorkloadFailure[];
}

export interface RolloutOptions {
  readonly timeoutSeconds: number;
  /** How often the pods of each workload are looked at while its rollout runs. */
  readonly pollIntervalMs: number;
  readonly now: () => number;
  /** Called the moment a workload's rollout finished, while the others may still run. */
  readonly onRolledOut?: (target: RolloutTarget) => void;
}

export function workloadLabel(workload: Workload): string {
  return `${workload.kind} ${workload.namespace}/${workload.name}`;
}

/**
 * Waits for every rollout at once, all within one `timeoutSeconds`. While they run, the pods of each
 * workload's current revision are classified every `pollIntervalMs` (the first time one period after
 * the start): a pod that can never start
 * fails the wait at once instead of after the whole timeout. The first failure stops every other
 * wait, killing its kubectl process, and the function returns only once all of them have ended.
 */
export async function waitForRollouts(
  kubectl: Kubectl,
  targets: readonly RolloutTarget[],
  options: RolloutOptions,
): Promise<RolloutResult> {
  const stop = new AbortController();
  const failures: WorkloadFailure[] = [];
  const durationsMs = new Map<string, number>();
  const start = options.now();
  let onFirstFailure: () => void = () => undefined;
  const firstFailure = new Promise<void>((resolve) => (onFirstFailure = resolve));
  const fail = (failure: WorkloadFailure): void => {
    if (stop.signal.aborted) return;
    failures.push(failure);
    onFirstFailure();
  };

  const watchRollout = async (target: RolloutTarget): Promise<void> => {
    const { workload } = target;
    try {
      await kubectl.rolloutStatus(
        workload.kind,
        workload.name,
        workload.namespace,
        options.timeoutSeconds,
        stop.signal,
      );
      durationsMs.set(workloadLabel(workload), options.now() - start);
      options.onRolledOut?.(target);
    } catch (error: unknown) {
      if (stop.signal.aborted) return;
      fail({ workload, pod: undefined, error: rolloutError(workload, error, options.timeoutSeconds) });
    }
  };

  const watchPods = async ({ workload, applied }: RolloutTarget): Promise<void> => {
    // The first look is one period after the apply, not at once: a pod the apply has just created
    // cannot have failed to pull or start yet, and on two CPUs a poll per workload at that moment
    // slows the rollout watches it runs beside (a quick rollout then needs no poll at all).
    await delay(options.pollIntervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
    while (!stop.signal.aborted && !durationsMs.has(workloadLabel(workload))) {
      // A pod list that fails (a slow API server) is not a rollout failure: the next poll, or the
      // rollout status, tells.
      const pods = await currentPods(kubectl, workload, applied, stop.signal).catch(() => []);
      const pod = firstPodFailure(pods);
      if (pod !== undefined && !durationsMs.has(workloadLabel(workload))) {
        fail({ workload, pod, error: podFailureError(workload, pod) });
        return;
      }
      await delay(options.pollIntervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  };

  const rollouts = Promise.all(targets.map(watchRollout));
  const polls = targets.map(watchPods);
  try {
    await Promise.race([rollouts, firstFailure]);
  } finally {
    stop.abort();
    await Promise.allSettled([rollouts, ...polls]);
  }
  return { durationsMs, failures };
}

export function firstPodFailure(pods: readonly JsonObject[]): PodFailure | undefined {
  for (const pod of pods) {
    const failure = classifyPodFailure(pod);
    if (failure !== undefined) return failure;
  }
  return undefined;
}

/** The task's failure line for a pod that can never start: workload, pod, container and reason. */
export function podFailureError(workload: Workload, pod: PodFailure): Error {
  const message = pod.message === '' ? pod.reason : `${pod.reason}: ${pod.message}`;
  return pod.container === undefined
    ? userError('PodCannotStart', workloadLabel(workload), pod.pod, message)
    : userError('ContainerCannotStart', workloadLabel(workload), pod.pod, pod.container, message);
}

function rolloutError(workload: Workload, error: unknown, timeoutSeconds: number): Error {
  // kubectl's own --timeout ends with "timed out waiting for the condition" (rollout status and wait alike).
  if (error instanceof KubectlError && /timed out/i.test(error.result.stderr))
    return userError('RolloutTimedOut', workloadLabel(workload), timeoutSeconds);
  return error instanceof Error ? error : new Error(String(error));
}
