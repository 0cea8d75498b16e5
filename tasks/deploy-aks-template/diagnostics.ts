import { inertLine, inertText } from '../common/logText';
import { firstLine } from '../common/errors';
import { loc } from './messages';
import type { Kubectl } from './kubectl';
import { isJsonObject, type JsonObject } from './kubernetesObject';
import { workloadLabel, type WorkloadFailure } from './rollout';

/** Events shown per object: the latest ones, which are about this rollout. */
export const EVENTS_SHOWN = 20;
export const LOG_LINES = 50;

/** Reasons whose container never ran, so it has no logs to show. */
const NEVER_RAN = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'CreateContainerConfigError',
]);

/**
 * Per failing workload, in a collapsed log group: its recent events, the failing pod's events, and the
 * last lines the failing container wrote (its previous instance for a crash loop, whose current one
 * is waiting to restart). What cannot be read is said and skipped: diagnostics never hide the failure.
 */
export async function printDiagnostics(
  kubectl: Kubectl,
  failures: readonly WorkloadFailure[],
  log: (line: string) => void,
): Promise<void> {
  for (const { workload, pod } of failures) {
    const lines: string[] = [];
    const { namespace } = workload;
    await addEvents(lines, kubectl, namespace, workload.kind, workload.name);
    if (pod !== undefined) {
      await addEvents(lines, kubectl, namespace, 'Pod', pod.pod);
      if (pod.container !== undefined) {
        if (NEVER_RAN.has(pod.reason)) {
          lines.push(loc('DiagnosticsNoLogs', pod.container, pod.pod, pod.reason));
        } else {
          const previous = pod.reason === 'CrashLoopBackOff';
          lines.push(
            loc(previous ? 'DiagnosticsPreviousLogs' : 'DiagnosticsLogs', LOG_LINES, pod.container, pod.pod),
          );
          try {
            const text = await kubectl.logs(pod.pod, pod.container, namespace, { previous, tail: LOG_LINES });
            // The container's own words: whatever it printed must not act on the pipeline.
            lines.push(...inertText(text.replace(/\r?\n$/, '')).split(/\r?\n/));
          } catch (error: unknown) {
            lines.push(loc('DiagnosticsUnavailable', errorLine(error)));
          }
        }
      }
    }
    log(`##[group]${loc('DiagnosticsGroup', workloadLabel(workload))}`);
    for (const line of lines) log(line);
    log('##[endgroup]');
  }
}

async function addEvents(
  lines: string[],
  kubectl: Kubectl,
  namespace: string,
  kind: string,
  name: string,
): Promise<void> {
  lines.push(loc('DiagnosticsEvents', kind, name));
  try {
    const events = (await kubectl.events(namespace, { kind, name })).slice(-EVENTS_SHOWN);
    if (events.length === 0) lines.push(`  ${loc('DiagnosticsNoEvents')}`);
    for (const event of events) lines.push(`  ${inertLine(formatEvent(event))}`);
  } catch (error: unknown) {
    lines.push(`  ${loc('DiagnosticsUnavailable', errorLine(error))}`);
  }
}

/** `2026-11-30T10:00:00Z Warning Failed (x3): Failed to pull image "web:9": not found`, one line. */
export function formatEvent(event: JsonObject): string {
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  const time = text(event.lastTimestamp) || text(event.eventTime) || text(event.firstTimestamp);
  const count = typeof event.count === 'number' && event.count > 1 ? ` (x${event.count})` : '';
  const message = text(event.message)
    .replace(/\s*\r?\n\s*/g, ' ')
    .trim();
  const source = isJsonObject(event.source) ? text(event.source.component) : '';
  return [
    time,
    text(event.type),
    `${text(event.reason)}${count}:`,
    message,
    source === '' ? '' : `[${source}]`,
  ]
    .filter((part) => part !== '')
    .join(' ');
}

function errorLine(error: unknown): string {
  return firstLine(error instanceof Error ? error.message : String(error));
}
