import type { DeployedImage } from './outputs';
import { workloadLabel } from './rollout';

export type ObjectResult =
  'created' | 'changed' | 'unchanged' | 'applied' | 'validated' | 'checked by kubectl';

/** What a deploy did, for the run's summary. */
export interface DeployReport {
  readonly server: string;
  readonly dryRun: boolean;
  /** Every object of the run, as messages name it, in the order applied. */
  readonly objects: readonly { readonly object: string; readonly result: ObjectResult }[];
  /** `Kind namespace/name` → rollout time in milliseconds, for each workload that finished. */
  readonly rolloutMs: ReadonlyMap<string, number>;
  readonly images: readonly DeployedImage[];
  readonly endpoints: readonly string[];
  /** A dry run: whether `kubectl diff` found differences. */
  readonly differences?: boolean;
  /** The task's failure line, when it failed after the apply. */
  readonly failure?: string;
  readonly rolledBack: readonly string[];
  readonly leftCreated: readonly string[];
}

/** The run's summary: what was applied, how each workload rolled out, what runs, where to reach it. */
export function renderSummary(report: DeployReport): string {
  const lines = [
    report.dryRun ? `### Dry run against \`${report.server}\`` : `### Deployed to \`${report.server}\``,
    '',
  ];
  if (report.failure !== undefined) lines.push(`**Failed:** ${cell(report.failure)}`, '');
  if (report.dryRun && report.differences !== undefined)
    lines.push(
      report.differences
        ? 'The cluster differs from the templates; see the diff in the log.'
        : 'The cluster already matches the templates.',
      '',
    );
  lines.push('| Object | Result | Rollout |', '|---|---|---|');
  for (const { object, result } of report.objects) {
    const ms = report.rolloutMs.get(object);
    lines.push(`| ${cell(object)} | ${result} | ${ms === undefined ? '' : `${(ms / 1000).toFixed(1)} s`} |`);
  }
  lines.push('');
  if (report.images.length > 0) {
    lines.push('| Workload | Container | Image |', '|---|---|---|');
    for (const { workload, container, image } of report.images)
      lines.push(`| ${cell(workloadLabel(workload))} | ${cell(container)} | \`${cell(image)}\` |`);
    lines.push('');
  }
  if (report.endpoints.length > 0) {
    lines.push('Endpoints:', '', ...report.endpoints.map((url) => `- ${url}`), '');
  }
  if (report.rolledBack.length > 0)
    lines.push(`**Rolled back:** ${report.rolledBack.map(cell).join(', ')}`, '');
  if (report.leftCreated.length > 0)
    lines.push(`**Left in place (created by this run):** ${report.leftCreated.map(cell).join(', ')}`, '');
  return lines.join('\n');
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}
