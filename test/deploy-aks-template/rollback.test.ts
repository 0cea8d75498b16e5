import * as assert from 'node:assert/strict';
import type { AppliedWorkload } from '../../tasks/deploy-aks-template/apply';
import type { KubernetesObject } from '../../tasks/deploy-aks-template/kubernetesObject';
import { planRollback } from '../../tasks/deploy-aks-template/rollback';

function template(image: string): Record<string, unknown> {
  return { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image }] } };
}

function manifest(name: string, image: string): KubernetesObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'web', annotations: { 'azure-pipelines/execution': '7' } },
    spec: { replicas: 3, selector: { matchLabels: { app: name } }, template: template(image) },
  };
}

function applied(name: string, change: AppliedWorkload['change'], before?: string): AppliedWorkload {
  const workload = { kind: 'Deployment' as const, name, namespace: 'web' };
  return {
    workload,
    manifest: manifest(name, 'web:2.0'),
    before: before === undefined ? undefined : { spec: { template: template(before) } },
    after: { spec: { template: template('web:2.0') } },
    change,
  };
}

describe('planRollback', () => {
  it('re-applies the manifest of each changed workload with the pod template it had before', () => {
    const plan = planRollback([applied('web', 'changed', 'web:1.0')]);
    assert.deepEqual(plan.restore, [
      {
        workload: { kind: 'Deployment', name: 'web', namespace: 'web' },
        manifest: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'web', namespace: 'web', annotations: { 'azure-pipelines/execution': '7' } },
          spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: template('web:1.0') },
        },
      },
    ]);
    assert.deepEqual(plan.leftCreated, []);
  });

  it('leaves workloads this run created, and does not touch unchanged ones', () => {
    const plan = planRollback([applied('api', 'created'), applied('web', 'unchanged', 'web:2.0')]);
    assert.deepEqual(plan.restore, []);
    assert.deepEqual(plan.leftCreated, [{ kind: 'Deployment', name: 'api', namespace: 'web' }]);
  });
});
