import * as assert from 'node:assert/strict';
import { interpretOutput, type TaskRun } from '../../scripts/agent';
import { drawScenario, expectedOutcome, judge, runKeyVaultCampaign } from './keyVaultCampaign';

function taskRun(stdout: string): TaskRun {
  const interpreted = interpretOutput(stdout);
  const result = interpreted.result ?? 'Succeeded';
  return { ...interpreted, result, exitCode: 0, stdout, stderr: '', durationMs: 1 };
}

describe('the Key Vault fault campaign', function () {
  this.timeout(180_000);

  it('runs the bundled task under faults: three seeds, no findings', async () => {
    const reports = await runKeyVaultCampaign({ seeds: [1, 2, 3], maxSecrets: 30, faultRate: 0.1 });
    assert.equal(reports.length, 3);
    assert.deepEqual(
      reports.flatMap((report) => report.findings.map((finding) => `seed ${report.seed}: ${finding}`)),
      [],
    );
    assert.ok(
      reports.some((report) => report.faults > 0),
      'faults were injected',
    );
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
  });
});
