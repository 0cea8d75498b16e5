import * as assert from 'node:assert/strict';
import {
  formatBytes,
  formatThroughput,
  renderSummary,
  type Promotion,
} from '../../tasks/promote-image/summary';

const DIGEST = `sha256:${'cd'.repeat(32)}`;
const OLD = `sha256:${'ef'.repeat(32)}`;

const COPIED: Promotion = {
  method: 'copy',
  source: 'contosononprod.azurecr.io/team/web:1.4.2',
  digest: DIGEST,
  image: `contosoprod.azurecr.io/team/web@${DIGEST}`,
  tags: [
    { tag: '1.4.2', current: undefined, action: 'create' },
    { tag: 'prod', current: OLD, action: 'move' },
    { tag: 'stable', current: DIGEST, action: 'keep' },
  ],
  stats: {
    blobsCopied: 3,
    blobsSkipped: 2,
    blobsMounted: 1,
    bytesCopied: 3 * 1024 * 1024,
    manifestsCopied: 2,
    manifestsSkipped: 1,
    tagsWritten: 2,
    durationMs: 1500,
  },
  imported: false,
  locked: true,
  durationMs: 2000,
};

describe('PromoteImage summary', () => {
  it('formats sizes in binary units and throughput per second', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(500 * 1024 * 1024), '500.0 MiB');
    assert.equal(formatThroughput(3 * 1024 * 1024, 1500), '2.0 MiB/s');
    assert.equal(formatThroughput(0, 1500), '-');
  });

  it('shows source, target by digest, each tag’s fate, the lock and what was copied', () => {
    assert.equal(
      renderSummary(COPIED),
      [
        `### Promoted \`${DIGEST}\``,
        '',
        '| | |',
        '|---|---|',
        '| From | `contosononprod.azurecr.io/team/web:1.4.2` |',
        `| To | \`contosoprod.azurecr.io/team/web@${DIGEST}\` |`,
        '| Method | copy |',
        `| Tags | \`1.4.2\` (new), \`prod\` (moved from \`${OLD}\`), \`stable\` (already there) |`,
        '| Locked | yes (`writeEnabled: false`) |',
        '| Manifests | 2 copied, 1 already there |',
        '| Blobs | 3 copied, 2 already there, 1 mounted |',
        '| Bytes | 3.0 MiB in 1.5 s (2.0 MiB/s) |',
        '| Time | 2.0 s |',
        '',
      ].join('\n'),
    );
  });

  it('says how an import went and that a digest-only promotion has no tags', () => {
    const imported = renderSummary({
      ...COPIED,
      method: 'import',
      stats: undefined,
      imported: true,
      tags: [],
      locked: false,
    });
    assert.match(imported, /\| Tags \| none \(by digest\) \|/);
    assert.match(imported, /\| Import \| server-side by ACR \|/);
    assert.match(imported, /\| Locked \| no \|/);
    assert.doesNotMatch(imported, /Blobs/);
  });
});
