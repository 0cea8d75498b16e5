import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tl from 'azure-pipelines-task-lib/task';
import type { CopyStats } from './copy';
import type { PromotionMethod } from './inputs';
import type { TagDecision } from './tagProtection';

/** What a promotion did, for the log, the outputs and the run's summary. */
export interface Promotion {
  readonly method: PromotionMethod;
  /** `registry/repository:tag` or `registry/repository@sha256:…` as the author gave it. */
  readonly source: string;
  readonly digest: string;
  /** `registry/repository@sha256:…` in the target: the `promotedImage` output. */
  readonly image: string;
  readonly tags: readonly TagDecision[];
  /** Copy only: what moved. */
  readonly stats: CopyStats | undefined;
  /** Import only: false when the target already had everything and ARM was not asked. */
  readonly imported: boolean;
  readonly locked: boolean;
  readonly durationMs: number;
}

/** `1.5 MiB`: binary units, one decimal from KiB up. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatSeconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

/** Bytes per second over `ms`, formatted; `-` when nothing moved. */
export function formatThroughput(bytes: number, ms: number): string {
  return bytes === 0 || ms <= 0 ? '-' : `${formatBytes(Math.round((bytes * 1000) / ms))}/s`;
}

function tagCell(decision: TagDecision): string {
  switch (decision.action) {
    case 'create':
      return `\`${decision.tag}\` (new)`;
    case 'keep':
      return `\`${decision.tag}\` (already there)`;
    case 'move':
      return `\`${decision.tag}\` (moved from \`${decision.current ?? ''}\`)`;
  }
}

/** The run's summary: a table an approver reads to see exactly what reached the target. */
export function renderSummary(promotion: Promotion): string {
  const rows: [string, string][] = [
    ['From', `\`${promotion.source}\``],
    ['To', `\`${promotion.image}\``],
    ['Method', promotion.method],
    ['Tags', promotion.tags.length === 0 ? 'none (by digest)' : promotion.tags.map(tagCell).join(', ')],
    ['Locked', promotion.locked ? 'yes (`writeEnabled: false`)' : 'no'],
  ];
  const stats = promotion.stats;
  if (stats !== undefined) {
    rows.push(
      ['Manifests', `${stats.manifestsCopied} copied, ${stats.manifestsSkipped} already there`],
      [
        'Blobs',
        `${stats.blobsCopied} copied, ${stats.blobsSkipped} already there, ${stats.blobsMounted} mounted`,
      ],
      [
        'Bytes',
        `${formatBytes(stats.bytesCopied)} in ${formatSeconds(stats.durationMs)} s (${formatThroughput(stats.bytesCopied, stats.durationMs)})`,
      ],
    );
  } else {
    rows.push(['Import', promotion.imported ? 'server-side by ACR' : 'not needed: the target had the image']);
  }
  rows.push(['Time', `${formatSeconds(promotion.durationMs)} s`]);
  return [
    `### Promoted \`${promotion.digest}\``,
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([name, value]) => `| ${name} | ${value.replace(/\|/g, '\\|')} |`),
    '',
  ].join('\n');
}

/** Attaches the summary to the run (a Markdown file the agent uploads). */
export function publishSummary(markdown: string): void {
  const folder = tl.getVariable('Agent.TempDirectory') ?? os.tmpdir();
  const file = path.join(folder, `promote-image-${process.pid}-${Date.now()}.md`);
  fs.writeFileSync(file, markdown);
  tl.uploadSummary(file);
}
