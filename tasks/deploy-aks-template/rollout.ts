import { setTimeout as delay } from 'node:timers/promises';
import { userError } from './messages';
import { KubectlError, type Kubectl } from './kubectl';
import { nameOf, type JsonObject } from './kubernetesObject';
import { classifyPodFailure, failedJobPod, jobFailure, type PodFailure } from './podFailures';
import { groupBy } from '../common/collections';
import { currentPodsOf } from './workloadPods';
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
 * Waits for every rollout at once, all within one `timeoutSeconds`: one kubectl process per
 * namespace (and one more for its Jobs), which waits for its workloads in turn. While they run, the
 * pods of each unfinished workload's current revision are classified every `pollIntervalMs` (the
 * first time one period after the start), one kubectl process per namespace: a pod that can never
 * start fails the wait at once instead of after the whole timeout. The first failure stops every
 * other wait, killing its kubectl process, and the function returns only once all of them have ended.
 */
export async function waitForRollouts(
  kubectl: Kubectl,
  targets: readonly RolloutTarget[],
  options: RolloutOptions,
): Promise<RolloutResult> {
  const stop = new AbortController();
  // kubectl's --timeout counts from each workload's turn; this one counts from the start for all.
  const deadline = AbortSignal.timeout(options.timeoutSeconds * 1000);
  const waits = AbortSignal.any([stop.signal, deadline]);
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
  const finished = (target: RolloutTarget): boolean => durationsMs.has(workloadLabel(target.workload));
  const finish = (target: RolloutTarget): void => {
    if (finished(target)) return;
    durationsMs.set(workloadLabel(target.workload), options.now() - start);
    options.onRolledOut?.(target);
  };

  const watchRollouts = async (group: readonly RolloutTarget[]): Promise<void> => {
    const namespace = group[0]?.workload.namespace ?? 'default';
    try {
      await kubectl.rolloutStatus(
        group.map(({ workload }) => workload),
        namespace,
        options.timeoutSeconds,
        {
          signal: waits,
          onFinished: (index) => {
            const target = group[index];
            if (target !== undefined) finish(target);
          },
        },
      );
      group.forEach(finish);
    } catch (error: unknown) {
      if (stop.signal.aborted) return;
      // kubectl waits in turn: the first unfinished workload is the one it gave up on.
      const workload = (group.find((target) => !finished(target)) ?? group[0])?.workload;
      if (workload === undefined) return;
      const timedOut =
        deadline.aborted || (error instanceof KubectlError && /timed out/i.test(error.result.stderr));
      fail({
        workload,
        pod: undefined,
        error: timedOut
          ? userError('RolloutTimedOut', workloadLabel(workload), options.timeoutSeconds)
          : error instanceof Error
            ? error
            : new Error(String(error)),
      });
    }
  };

  const watchPods = async (namespace: string, group: readonly RolloutTarget[]): Promise<void> => {
    // The first look is one period after the apply, not at once: a pod the apply has just created
    // cannot have failed to pull or start yet, and on two CPUs a poll at that moment slows the
    // rollout watches it runs beside (a quick rollout then needs no poll at all).
    await delay(options.pollIntervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
    while (!stop.signal.aborted) {
      const pending = group.filter((target) => !finished(target));
      if (pending.length === 0) return;
      // A pod list that fails (a slow API server) is not a rollout failure: the next poll, or the
      // rollout status, tells. kubectl's wait for a Job's Complete never ends on a Job that failed
      // (its backoff limit, its deadline), so pending Jobs are read alongside their pods.
      const pendingJobs = pending.filter((target) => target.workload.kind === 'Job');
      const [pods, jobs] = await Promise.all([
        currentPodsOf(kubectl, namespace, pending, stop.signal).catch(
          () => new Map<RolloutTarget, JsonObject[]>(),
        ),
        pendingJobs.length === 0
          ? Promise.resolve([])
          : kubectl
              .getNamed(
                'Job',
                pendingJobs.map((target) => target.workload.name),
                namespace,
                stop.signal,
              )
              .catch(() => []),
      ]);
      for (const target of pending) {
        const pod = firstPodFailure(pods.get(target) ?? []);
        if (pod !== undefined && !finished(target)) {
          fail({ workload: target.workload, pod, error: podFailureError(target.workload, pod) });
          return;
        }
      }
      for (const target of pendingJobs) {
        const failure = jobFailure(jobs.find((job) => nameOf(job) === target.workload.name));
        if (failure === undefined || finished(target)) continue;
        const pod = failedJobPod(pods.get(target) ?? [], failure.reason);
        const why = failure.message === '' ? failure.reason : `${failure.reason}: ${failure.message}`;
        fail({
          workload: target.workload,
          pod,
          error: userError('JobFailed', workloadLabel(target.workload), why),
        });
        return;
      }
      await delay(options.pollIntervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  };

  const byNamespace = groupBy(targets, ({ workload }) => workload.namespace);
  const rolloutGroups = [...byNamespace.values()].flatMap((group) => [
    ...groupBy(group, ({ workload }) => workload.kind === 'Job').values(),
  ]);
  const rollouts = Promise.all(rolloutGroups.map(watchRollouts));
  const polls = [...byNamespace].map(([namespace, group]) => watchPods(namespace, group));
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
