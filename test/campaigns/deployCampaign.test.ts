import * as assert from 'node:assert/strict';
import { assertCampaignPassed } from './campaignAssertions';
import type { TaskRun } from '../../scripts/agent';
import { taskRunOf as taskRun } from './judgeRun';
import {
  drawScenario,
  expectedOutcome,
  imageOf,
  judge,
  runDeployCampaign,
  template,
  type ClusterObservation,
  type DeployScenario,
} from './deployCampaign';

const DIGEST = `sha256:${'d'.repeat(64)}`;

describe('the DeployAksTemplate fault campaign', function () {
  this.timeout(180_000);

  it('runs the bundled task under API server faults: three seeds, no findings', async () => {
    // Seed 4: three workloads with Services; 5: one of three cannot pull, which must fail naming it;
    // 11: two workloads. Half the campaign's default rate: with three seeds, the bound allows one
    // failure for faults alone, and at 10% an API server fault outlasts three tries in a run of 15.
    const reports = await runDeployCampaign({ seeds: [4, 5, 11], faultRate: 0.05 });

    assertCampaignPassed(reports);
    assert.equal(
      reports.find((report) => report.seed === 5)?.result,
      'Failed',
      'the image that cannot be pulled',
    );
  });

  describe('its scenarios', () => {
    it('are drawn the same for the same seed, in a namespace of their own', () => {
      assert.deepEqual(drawScenario(42), drawScenario(42));
      assert.notEqual(drawScenario(1).namespace, drawScenario(2).namespace);
    });

    it('write a template with every workload, its ConfigMap and the Services drawn', () => {
      const scenario: DeployScenario = {
        namespace: 'campaign-7',
        workloads: ['api', 'web'],
        services: ['web'],
        tag: '1.7.0',
        broken: 'api',
      };
      const text = template(scenario);
      assert.equal((text.match(/^kind: Deployment$/gm) ?? []).length, 2);
      assert.equal((text.match(/^kind: ConfigMap$/gm) ?? []).length, 2);
      assert.equal((text.match(/^kind: Service$/gm) ?? []).length, 1);
      assert.ok(text.includes(`image: ${imageOf(scenario, 'api')}`));
      assert.match(imageOf(scenario, 'api'), /:missing$/);
      assert.match(imageOf(scenario, 'web'), /:1\.7\.0$/);
    });
  });

  describe('its judge', () => {
    const scenario: DeployScenario = {
      namespace: 'campaign-3',
      workloads: ['api'],
      services: [],
      tag: '1.3.0',
      broken: undefined,
    };
    const deployed: ClusterObservation = {
      images: { api: imageOf(scenario, 'api') },
      configMaps: { api: true },
    };
    const succeeded = (deployedImages: string): TaskRun =>
      taskRun([
        `##vso[task.setvariable variable=deployedImages;isOutput=true;issecret=false;]${deployedImages}`,
        '##vso[task.complete result=Succeeded;]done',
      ]);

    it('accepts a success that left every workload at its image, with its digest in deployedImages', () => {
      const judged = judge(succeeded(`${imageOf(scenario, 'api')}@${DIGEST}`), scenario, deployed, 0, []);
      assert.deepEqual(judged.findings, []);
    });

    it('finds a success that left a workload at another image, or reported no digest', () => {
      const stale: ClusterObservation = { images: { api: 'contoso/api:old' }, configMaps: { api: false } };
      assert.deepEqual(judge(succeeded(imageOf(scenario, 'api')), scenario, stale, 0, []).findings, [
        `Deployment api runs contoso/api:old, not ${imageOf(scenario, 'api')}`,
        'ConfigMap api-settings is missing',
        `deployedImages lacks ${imageOf(scenario, 'api')} with its digest: ${imageOf(scenario, 'api')}`,
      ]);
    });

    it('finds a success where the scenario asked for a failure', () => {
      const broken = { ...scenario, broken: 'api' };
      const judged = judge(
        succeeded(`${imageOf(broken, 'api')}@${DIGEST}`),
        broken,
        { images: { api: imageOf(broken, 'api') }, configMaps: { api: true } },
        0,
        [],
      );
      assert.match(judged.findings.join('\n'), /succeeded, expected a failure/);
      assert.ok(expectedOutcome(broken).kind === 'fail');
    });

    it('counts a clean failure under faults apart, and finds one without faults', () => {
      const failed = taskRun([
        '##vso[task.issue type=error;]kubectl apply failed (exit code 1): Unable to connect to the server: EOF',
        '##vso[task.complete result=Failed;]kubectl apply failed (exit code 1): Unable to connect to the server: EOF',
      ]);
      assert.deepEqual(judge(failed, scenario, deployed, 3, []), { findings: [], failedUnderFaults: true });
      assert.match(judge(failed, scenario, deployed, 0, []).findings.join('\n'), /failed without any fault/);
    });
  });
});
