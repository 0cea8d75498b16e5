import * as assert from 'node:assert/strict';
import type { KubernetesObject, Manifest } from '../../tasks/deploy-aks-template/kubernetesObject';
import { workloadChange, workloadManifests } from '../../tasks/deploy-aks-template/workloads';

function manifest(apiVersion: string, kind: string, name: string): Manifest {
  const object: KubernetesObject = { apiVersion, kind, metadata: { name, namespace: 'web' } };
  return { source: { file: 'all.yaml', document: 1 }, object };
}

/** A Deployment as the API server returns it, with its generation and annotations. */
function liveDeployment(
  image: string,
  generation: number,
  annotations: Record<string, string> = {},
): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'web', generation, annotations },
    spec: {
      replicas: 2,
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [{ name: 'web', image, imagePullPolicy: 'IfNotPresent' }],
          restartPolicy: 'Always',
        },
      },
    },
    status: { observedGeneration: generation },
  };
}

const waited = (manifests: readonly Manifest[]): unknown[] =>
  workloadManifests(manifests).map(({ workload }) => workload);

describe('workloadManifests', () => {
  it('picks Deployments, StatefulSets, DaemonSets and Jobs, in manifest order', () => {
    const workloads = waited([
      manifest('v1', 'Service', 'web'),
      manifest('apps/v1', 'StatefulSet', 'db'),
      manifest('batch/v1', 'Job', 'migrate'),
      manifest('apps/v1', 'Deployment', 'web'),
      manifest('batch/v1', 'CronJob', 'nightly'),
      manifest('apps/v1', 'DaemonSet', 'agent'),
      manifest('apps/v1', 'ReplicaSet', 'legacy'),
      manifest('v1', 'Pod', 'debug'),
    ]);
    assert.deepEqual(workloads, [
      { kind: 'StatefulSet', name: 'db', namespace: 'web' },
      { kind: 'Job', name: 'migrate', namespace: 'web' },
      { kind: 'Deployment', name: 'web', namespace: 'web' },
      { kind: 'DaemonSet', name: 'agent', namespace: 'web' },
    ]);
  });

  it('waits for an object that two templates define once, where it first appears, as the later says', () => {
    const first = manifest('apps/v1', 'Deployment', 'web');
    const later = manifest('apps/v1', 'Deployment', 'web');
    const workloads = workloadManifests([first, manifest('apps/v1', 'StatefulSet', 'web'), later]);
    assert.deepEqual(
      workloads.map(({ workload }) => workload),
      [
        { kind: 'Deployment', name: 'web', namespace: 'web' },
        { kind: 'StatefulSet', name: 'web', namespace: 'web' },
      ],
    );
    assert.equal(workloads[0]?.manifest, later.object, 'the apply leaves the later manifest in place');
  });

  it('leaves out custom kinds that share a workload kind name', () => {
    assert.deepEqual(
      waited([manifest('serving.knative.dev/v1', 'Deployment', 'x'), manifest('contoso.com/v1', 'Job', 'y')]),
      [],
    );
  });
});

describe('workloadChange', () => {
  it('calls a workload that did not exist before the apply created', () => {
    assert.equal(workloadChange(undefined, liveDeployment('web:2', 1)), 'created');
  });

  it('calls a workload whose pod template changed changed', () => {
    assert.equal(workloadChange(liveDeployment('web:1', 4), liveDeployment('web:2', 5)), 'changed');
  });

  it('calls a workload whose only change is its own annotations and generation unchanged', () => {
    const before = liveDeployment('web:1', 4, { 'azure-pipelines/execution': '41' });
    const after = liveDeployment('web:1', 5, { 'azure-pipelines/execution': '42' });
    assert.equal(workloadChange(before, after), 'unchanged');
  });

  it('compares templates whatever the order of their keys', () => {
    const before = {
      spec: {
        template: {
          spec: { containers: [{ image: 'web:1', name: 'web' }] },
          metadata: { labels: { a: 'b' } },
        },
      },
    };
    const after = {
      spec: {
        template: {
          metadata: { labels: { a: 'b' } },
          spec: { containers: [{ name: 'web', image: 'web:1' }] },
        },
      },
    };
    assert.equal(workloadChange(before, after), 'unchanged');
  });
});
