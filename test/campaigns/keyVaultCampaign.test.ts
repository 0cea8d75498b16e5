import * as assert from 'node:assert/strict';
import { assertCampaignPassed } from './campaignAssertions';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { interpretOutput, type TaskRun } from '../../scripts/agent';
import { bundleTasks } from '../../scripts/bundle';
import {
  drawScenario,
  expectedOutcome,
  judge,
  runKeyVaultCampaign,
  summarizeCampaign,
  type RunReport,
} from './keyVaultCampaign';

function taskRun(stdout: string): TaskRun {
  const interpreted = interpretOutput(stdout);
  const result = interpreted.result ?? 'Succeeded';
  return { ...interpreted, result, exitCode: 0, stdout, stderr: '', durationMs: 1 };
}

describe('the Key Vault fault campaign', function () {
  this.timeout(180_000);

  it('runs the bundled task under faults: three seeds, no findings', async () => {
    // Seeds whose scenarios succeed without faults (two with `*`, one with names): seeds 1-3 all
    // fail on their inputs before faults matter.
    const reports = await runKeyVaultCampaign({ seeds: [4, 5, 14], maxSecrets: 30, faultRate: 0.1 });
    assert.equal(reports.length, 3);
    assertCampaignPassed(reports);
  });

  it('reports findings against a build with every retry switched off', async () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aks-delivery-no-retries-'));
    try {
      await bundleTasks({ outDir, retries: false });

      const reports = await runKeyVaultCampaign({
        seeds: [21, 22, 23, 24, 25],
        maxSecrets: 30,
        faultRate: 0.3,
        extensionDir: outDir,
      });

      const summary = summarizeCampaign(reports);
      assert.match(summary.findings.join('\n'), /failed for faults alone; the bound is 5% \(at most 1\)/);
      assert.ok(summary.failedUnderFaults >= 2, JSON.stringify(summary));
    } finally {
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  });

  describe('its bound on failures under faults', () => {
    const report = (seed: number, result: string, failedUnderFaults: boolean): RunReport => ({
      seed,
      scenario: '',
      result,
      durationMs: 1,
      faults: failedUnderFaults ? 3 : 0,
      faultKinds: failedUnderFaults ? { status5xx: 2, neverAnswer: 1 } : {},
      failedUnderFaults,
      findings: [],
    });
    const campaign = (runs: number, underFaults: number): RunReport[] =>
      Array.from({ length: runs }, (_, i) =>
        report(i, i < underFaults ? 'Failed' : 'Succeeded', i < underFaults),
      );

    it('allows 5% of the runs, rounded up, to fail for faults alone', () => {
      const summary = summarizeCampaign(campaign(200, 10));

      assert.deepEqual(summary.findings, []);
      assert.equal(summary.allowedUnderFaults, 10);
      assert.deepEqual(
        [summary.runs, summary.succeeded, summary.failedAsRequired, summary.failedUnderFaults],
        [200, 190, 0, 10],
      );
      assert.deepEqual(summary.faultKinds, { status5xx: 20, neverAnswer: 10 });
    });

    it('reports a campaign where more runs than that fail for faults alone', () => {
      assert.deepEqual(summarizeCampaign(campaign(200, 11)).findings, [
        '11 of 200 runs failed for faults alone; the bound is 5% (at most 10): the retries give up too early',
      ]);
      assert.equal(summarizeCampaign(campaign(3, 2)).findings.length, 1);
    });
  });

  describe('its judge', () => {
    // Seed 4 draws 56 usable-or-skipped secrets with `*` and multi-line allowed: a run that succeeds.
    const scenario = drawScenario(4, 60);
    const expectation = expectedOutcome(scenario);
    const expected = expectation.kind === 'succeed' ? expectation.variables : new Map<string, string>();
    const setVariable = (name: string, value: string): string =>
      `##vso[task.setvariable variable=${name};issecret=true;]${value.replace(/%/g, '%AZP25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}`;
    const warnings = (count: number): string[] =>
      Array.from({ length: count }, (_, i) => `##vso[task.issue type=warning;]skipped ${i}`);
    const goodOutput = (): string[] => [
      ...[...expected].map(([name, value]) => setVariable(name, value)),
      ...warnings(expectation.kind === 'succeed' ? expectation.warnings : 0),
      '##vso[task.complete result=Succeeded;]done',
    ];

    it('passes the run the contract asks for', () => {
      assert.equal(expectation.kind, 'succeed');
      assert.deepEqual(judge(taskRun(goodOutput().join('\n')), expectation, scenario, 0).findings, []);
    });

    it('finds a wrong value, a missing variable, a leak and a half-done failure', () => {
      // A value the leak scan can see (one line, three characters or more), and another variable.
      const first = [...expected].find(([, value]) => value.trim().length >= 3 && !/[\r\n]/.test(value))![0];
      const second = [...expected.keys()].find((name) => name !== first);
      const wrong = goodOutput().map((line) =>
        line.includes(`variable=${first};`) ? setVariable(first, 'not the value') : line,
      );
      const missing = goodOutput().filter((line) => !line.includes(`variable=${second};`));
      const leaked = [...goodOutput(), `setting ${expected.get(first)}`];
      const halfDone = [
        setVariable(first, expected.get(first)!),
        '##vso[task.issue type=error;]boom',
        '##vso[task.complete result=Failed;]boom',
      ];
      const findingsOf = (lines: string[], faults = 0): string =>
        judge(taskRun(lines.join('\n')), expectation, scenario, faults).findings.join('; ');
      assert.match(findingsOf(wrong), new RegExp(`variable ${first} has the wrong value`));
      assert.match(findingsOf(missing), new RegExp(`variable ${second} not set`));
      assert.match(findingsOf(leaked), /leak/);
      assert.match(findingsOf(halfDone, 5), /failed after setting 1 variables/);
      assert.match(findingsOf(halfDone.slice(1)), /failed without any fault/);
    });

    it('finds a run that ended without a result, or with two, and a JavaScript error in the output', () => {
      const findingsOf = (lines: string[]): string =>
        judge(taskRun(lines.join('\n')), expectation, scenario, 0).findings.join('; ');
      const silent = goodOutput().filter((line) => !line.startsWith('##vso[task.complete'));

      assert.match(findingsOf(silent), /0 task\.complete commands, expected exactly one/);
      assert.match(
        findingsOf([...goodOutput(), '##vso[task.complete result=Failed;]late']),
        /2 task\.complete/,
      );
      assert.match(
        findingsOf([...goodOutput(), "TypeError: Cannot read properties of undefined (reading 'split')"]),
        /a JavaScript error reached the output/,
      );
    });
  });
});
