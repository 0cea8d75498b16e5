import { deepEqual, isJsonObject, nowIso, type JsonRecord, type KubeObject } from './objects';
import {
  asList,
  isReady,
  isTerminal,
  JOB,
  keyOf,
  numberOr,
  POD,
  randomSuffix,
  setCondition,
  type ControllerContext,
} from './controllerContext';

/**
 * The job controller: runs pods until `completions` succeed (Complete) or more than `backoffLimit`
 * fail (Failed, BackoffLimitExceeded), or activeDeadlineSeconds passes (DeadlineExceeded).
 */
export function reconcileJob(ctx: ControllerContext, job: KubeObject): void {
  const spec = job.spec ?? {};
  const previous = job.status ?? {};
  const conditions = asList(previous.conditions);
  if (conditions.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')) return;
  if (spec.suspend === true) return;
  const now = Date.now();
  const nowText = nowIso();
  const uid = job.metadata.uid ?? '';
  if (!ctx.firstSeenAt.has(uid)) ctx.firstSeenAt.set(uid, now);
  const pods = ctx.ownedBy(POD, job);
  const succeeded = pods.filter((p) => p.status?.phase === 'Succeeded').length;
  const failed = pods.filter((p) => p.status?.phase === 'Failed').length;
  let active = pods.filter((p) => !isTerminal(p));
  const completions = numberOr(spec.completions, 1);
  const backoffLimit = numberOr(spec.backoffLimit, 6);
  const status: JsonRecord = {
    ...previous,
    startTime: typeof previous.startTime === 'string' ? previous.startTime : nowText,
    uncountedTerminatedPods: {},
    terminating: 0,
  };
  const finish = (
    type: 'Complete' | 'Failed',
    reason: string | undefined,
    message: string | undefined,
  ): void => {
    for (const pod of active) ctx.deletePod(job, pod);
    active = [];
    const interim = type === 'Complete' ? 'SuccessCriteriaMet' : 'FailureTarget';
    const extra = reason === undefined ? {} : { reason, message };
    setCondition(conditions, { type: interim, status: 'True', ...extra }, nowText);
    setCondition(conditions, { type, status: 'True', ...extra }, nowText);
    if (type === 'Complete') status.completionTime = nowText;
    ctx.recordEvent(
      job,
      type === 'Complete'
        ? { type: 'Normal', reason: 'Completed', message: 'Job completed', count: 1, key: 'completed' }
        : {
            type: 'Warning',
            reason: reason ?? 'Failed',
            message: message ?? 'Job failed',
            count: 1,
            key: 'failed',
          },
    );
  };
  const activeDeadline =
    typeof spec.activeDeadlineSeconds === 'number'
      ? (ctx.firstSeenAt.get(uid) ?? now) + spec.activeDeadlineSeconds * 1000
      : undefined;
  if (succeeded >= completions) {
    finish('Complete', undefined, undefined);
  } else if (failed > backoffLimit) {
    finish('Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
  } else if (activeDeadline !== undefined && now >= activeDeadline) {
    finish('Failed', 'DeadlineExceeded', 'Job was active longer than specified deadline');
  } else {
    if (activeDeadline !== undefined) ctx.wakeAt(keyOf(JOB, job), activeDeadline);
    const wanted = Math.min(numberOr(spec.parallelism, 1), completions - succeeded);
    const template = isJsonObject(spec.template) ? spec.template : {};
    while (active.length < wanted) {
      active.push(ctx.createPod(job, template, `${job.metadata.name ?? ''}-${randomSuffix()}`, {}));
    }
  }
  status.active = active.length;
  status.ready = active.filter(isReady).length;
  status.succeeded = succeeded;
  status.failed = failed;
  if (status.active === 0) delete status.active;
  if (succeeded === 0) delete status.succeeded;
  if (failed === 0) delete status.failed;
  if (conditions.length > 0) {
    // Job conditions carry lastProbeTime where workload conditions carry lastUpdateTime.
    status.conditions = conditions.map(({ lastUpdateTime, ...condition }) => ({
      ...condition,
      lastProbeTime: condition.lastProbeTime ?? lastUpdateTime,
    }));
  }
  if (!deepEqual(previous, status)) ctx.writeStatus(JOB, job, status);
}
