import * as assert from 'node:assert/strict';
import { assertCampaignPassed } from './campaignAssertions';
import { taskRunOf as taskRun } from './judgeRun';
import { PROMOTER } from '../integration/promoteHarness';
import {
  drawScenario,
  expectedOutcome,
  judge,
  runPromoteCampaign,
  type PromoteScenario,
  type TargetObservation,
} from './promoteCampaign';

const PROMOTED = `sha256:${'a'.repeat(64)}`;
const OLD = `sha256:${'b'.repeat(64)}`;
const CHILD = `sha256:${'c'.repeat(64)}`;

describe('the PromoteImage fault campaign', function () {
  this.timeout(180_000);

  it('runs the bundled task under faults: three seeds, no findings', async () => {
    // Seed 4: a two-platform index that succeeds through faults; 14: a referrer, overwrite on;
    // 20: a taken tag without overwrite, which must fail and leave the tag where it was.
    const reports = await runPromoteCampaign({ seeds: [4, 14, 20], faultRate: 0.1 });

    assertCampaignPassed(reports);
    assert.deepEqual(
      reports.map((report) => report.result),
      ['Succeeded', 'Succeeded', 'Failed'],
    );
  });

  describe('its scenarios', () => {
    it('are drawn the same for the same seed', () => {
      assert.deepEqual(drawScenario(42), drawScenario(42));
      assert.notDeepEqual(drawScenario(42), drawScenario(43));
    });

    it('must fail when a target tag is taken and overwrite is off, or a fault never lifts', () => {
      const base = drawScenario(1);
      const scenario = (changes: Partial<PromoteScenario>): PromoteScenario => ({ ...base, ...changes });
      assert.equal(
        expectedOutcome(scenario({ conflictingTag: 'prod', overwrite: false, lastingFault: undefined })).kind,
        'fail',
      );
      assert.equal(
        expectedOutcome(scenario({ conflictingTag: 'prod', overwrite: true, lastingFault: undefined })).kind,
        'succeed',
      );
      assert.equal(
        expectedOutcome(scenario({ conflictingTag: undefined, lastingFault: 'blobUploads' })).kind,
        'fail',
      );
    });
  });

  describe('its judge, on a run that must fail (a taken tag, overwrite off)', () => {
    const scenario: PromoteScenario = {
      ...drawScenario(1),
      targetTags: ['1.1.0', 'prod'],
      conflictingTag: 'prod',
      overwrite: false,
      lastingFault: undefined,
    };
    const expectation = expectedOutcome(scenario);
    const unchanged: TargetObservation = {
      promotedDigest: PROMOTED,
      before: { '1.1.0': undefined, prod: OLD },
      after: { '1.1.0': undefined, prod: OLD },
      missingManifests: [],
    };
    const refusal = `Target contosoprod.azurecr.io/campaign/s1 already has tags at other digests: prod (${OLD}); the promoted digest is ${PROMOTED}. Nothing was copied.`;
    const failed = [
      `##vso[task.issue type=error;]${refusal}`,
      `##vso[task.complete result=Failed;]${refusal}`,
    ];
    const findingsOf = (lines: readonly string[], target = unchanged, faults = 0): string =>
      judge(taskRun(lines), expectation, target, faults).findings.join('; ');

    it('passes the refusal the contract asks for', () => {
      assert.equal(expectation.kind, 'fail');
      assert.equal(findingsOf(failed), '');
    });

    it('finds a run that succeeded instead', () => {
      const succeeded = [
        `##vso[task.setvariable variable=promotedDigest;isOutput=true;]${PROMOTED}`,
        '##vso[task.complete result=Succeeded;]',
      ];
      const moved = { ...unchanged, after: { '1.1.0': PROMOTED, prod: PROMOTED } };

      assert.match(findingsOf(succeeded, moved), /succeeded, expected a failure matching/);
    });

    it('finds a failure that moved a tag, set an output, or said it in two lines', () => {
      const halfDone = { ...unchanged, after: { '1.1.0': PROMOTED, prod: OLD } };
      const withOutput = [
        `##vso[task.setvariable variable=promotedDigest;isOutput=true;]${PROMOTED}`,
        ...failed,
      ];
      const twoLines = [`##vso[task.issue type=error;]first`, ...failed];

      assert.match(
        findingsOf(failed, halfDone),
        new RegExp(`failed, yet tag 1\\.1\\.0 moved from nothing to ${PROMOTED}`),
      );
      assert.match(findingsOf(withOutput), /failed after setting promotedDigest/);
      assert.match(findingsOf(twoLines), /failed with 2 error lines/);
    });

    it('finds a failure for another reason, unless faults explain it', () => {
      const other = [
        '##vso[task.issue type=error;]A registry request failed and retries did not help: HTTP 503.',
        '##vso[task.complete result=Failed;]A registry request failed and retries did not help: HTTP 503.',
      ];

      assert.match(findingsOf(other), /failed with "A registry request failed.*", expected/);
      const underFaults = judge(taskRun(other), expectation, unchanged, 3);
      assert.deepEqual(underFaults, { findings: [], failedUnderFaults: true });
    });

    it('finds a stack trace, a leaked secret, and a missing or second result', () => {
      assert.match(findingsOf([...failed, '    at copyBlobs (/agent/_tasks/index.js:1:2)']), /stack trace/);
      assert.match(findingsOf([`password ${PROMOTER.secret}`, ...failed]), /leak/);
      assert.match(findingsOf(failed.slice(0, 1)), /0 task\.complete commands/);
      assert.match(findingsOf([...failed, '##vso[task.complete result=Failed;]again']), /2 task\.complete/);
    });
  });

  describe('its judge, on a run that must succeed', () => {
    const expectation = expectedOutcome({
      ...drawScenario(1),
      conflictingTag: undefined,
      lastingFault: undefined,
    });
    const done: TargetObservation = {
      promotedDigest: PROMOTED,
      before: { prod: undefined },
      after: { prod: PROMOTED },
      missingManifests: [],
    };
    const succeeded = [
      `##vso[task.setvariable variable=promotedDigest;isOutput=true;]${PROMOTED}`,
      `##vso[task.setvariable variable=promotedImage;isOutput=true;]contosoprod.azurecr.io/campaign/s1@${PROMOTED}`,
      '##vso[task.complete result=Succeeded;]',
    ];
    const findingsOf = (lines: readonly string[], target = done): string =>
      judge(taskRun(lines), expectation, target, 0).findings.join('; ');

    it('passes the exact digest under every tag with both outputs', () => {
      assert.equal(findingsOf(succeeded), '');
    });

    it('finds a tag at another digest, a missing platform manifest and a wrong output', () => {
      assert.match(findingsOf(succeeded, { ...done, after: { prod: OLD } }), /tag prod is at sha256:b+, not/);
      assert.match(
        findingsOf(succeeded, { ...done, missingManifests: [CHILD] }),
        /the target lacks sha256:c+/,
      );
      assert.match(findingsOf(succeeded.slice(1)), /promotedDigest is unset/);
    });
  });
});
