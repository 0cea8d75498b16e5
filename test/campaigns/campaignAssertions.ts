import * as assert from 'node:assert/strict';
import { summarizeCampaign, type RunReport } from './keyVaultCampaign';

/** What every campaign run in `npm test` must show: no findings, faults met, and the bound kept. */
export function assertCampaignPassed(reports: readonly RunReport[]): void {
  assert.deepEqual(
    reports.flatMap((report) => report.findings.map((finding) => `seed ${report.seed}: ${finding}`)),
    [],
  );
  assert.ok(
    reports.some((report) => report.faults > 0),
    'faults were injected',
  );
  assert.deepEqual(
    summarizeCampaign(reports).findings,
    [],
    'faults alone failed no more runs than the bound',
  );
}
