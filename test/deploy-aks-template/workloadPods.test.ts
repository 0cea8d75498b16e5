import * as assert from 'node:assert/strict';
import { Kubectl } from '../../tasks/deploy-aks-template/kubectl';
import type { JsonObject } from '../../tasks/deploy-aks-template/kubernetesObject';
import {
  BatchedPodReader,
  currentPodsOf,
  matchLabelsSelector,
  newestReplicaSet,
  sharedKeySelector,
  type WorkloadObject,
} from '../../tasks/deploy-aks-template/workloadPods';

function replicaSet(name: string, revision: string, owner: string, hash: string): Record<string, unknown> {
  return {
    metadata: {
      name,
      annotations: { 'deployment.kubernetes.io/revision': revision },
      labels: { app: 'web', 'pod-template-hash': hash },
      ownerReferences: [{ kind: 'Deployment', name: 'web', uid: owner }],
    },
  };
}

describe('matchLabelsSelector', () => {
  it('joins matchLabels into a label selector', () => {
    assert.equal(
      matchLabelsSelector({ spec: { selector: { matchLabels: { app: 'web', tier: 'front' } } } }),
      'app=web,tier=front',
    );
  });

  it('gives none for a selector of matchExpressions only, or no spec', () => {
    assert.equal(
      matchLabelsSelector({ spec: { selector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] } } }),
      undefined,
    );
    assert.equal(matchLabelsSelector({ spec: { selector: { matchLabels: {} } } }), undefined);
    assert.equal(matchLabelsSelector(undefined), undefined);
  });
});

describe('newestReplicaSet', () => {
  const older = replicaSet('web-1', '1', 'uid-web', 'aaa');
  const newer = replicaSet('web-2', '10', 'uid-web', 'bbb');
  const foreign = replicaSet('other-3', '11', 'uid-other', 'ccc');

  it('picks the highest revision, compared as numbers, among those the Deployment owns', () => {
    assert.equal(newestReplicaSet([newer, older, foreign], 'uid-web'), newer);
  });

  it('takes every ReplicaSet into account when the owner is unknown', () => {
    assert.equal(newestReplicaSet([older, newer, foreign], undefined), foreign);
  });

  it('gives none when no ReplicaSet has a revision yet', () => {
    assert.equal(newestReplicaSet([{ metadata: { name: 'x' } }], undefined), undefined);
  });
});

describe('sharedKeySelector', () => {
  it('selects every workload by the first label key all of them have', () => {
    assert.equal(
      sharedKeySelector([{ app: 'web', tier: 'front' }, { tier: 'back', app: 'api' }, { app: 'web' }]),
      'app in (api,web)',
    );
  });

  it('gives none when the selectors share no key', () => {
    assert.equal(sharedKeySelector([{ app: 'web' }, { name: 'api' }]), undefined);
    assert.equal(sharedKeySelector([]), undefined);
  });
});

describe('currentPodsOf', () => {
  const GLOBAL = ['--kubeconfig', '/k', '--request-timeout=30s'];

  function recordingKubectl(objects: JsonObject[]): { kubectl: Kubectl; calls: (readonly string[])[] } {
    const calls: (readonly string[])[] = [];
    const kubectl = new Kubectl(
      (args) => {
        calls.push(args);
        return Promise.resolve({
          code: 0,
          stdout: JSON.stringify({ kind: 'List', items: objects }),
          stderr: '',
        });
      },
      { kubeconfig: '/k', requestTimeoutSeconds: 30, commandTimeoutSeconds: 60 },
    );
    return { kubectl, calls };
  }

  function workloadObject(
    kind: string,
    name: string,
    uid: string,
    labels: Record<string, string>,
  ): WorkloadObject {
    return {
      workload: { kind, name, namespace: 'shop' } as WorkloadObject['workload'],
      applied: { kind, metadata: { name, uid }, spec: { selector: { matchLabels: labels } } },
    };
  }

  function pod(name: string, labels: Record<string, string>): JsonObject {
    return { kind: 'Pod', metadata: { name, labels } };
  }

  it("reads the pods of a namespace's workloads in one process and gives each its current revision's", async () => {
    const web = workloadObject('Deployment', 'web', 'uid-web', { app: 'web' });
    const db = workloadObject('StatefulSet', 'db', 'uid-db', { app: 'db', tier: 'data' });
    const { kubectl, calls } = recordingKubectl([
      { kind: 'ReplicaSet', ...replicaSet('web-old', '1', 'uid-web', 'old') },
      { kind: 'ReplicaSet', ...replicaSet('web-new', '2', 'uid-web', 'new') },
      pod('web-old-1', { app: 'web', 'pod-template-hash': 'old' }),
      pod('web-new-1', { app: 'web', 'pod-template-hash': 'new' }),
      pod('db-0', { app: 'db', tier: 'data' }),
      pod('db-stray', { app: 'db' }),
    ]);
    const pods = await currentPodsOf(kubectl, 'shop', [web, db]);
    assert.deepEqual(calls, [
      [
        ...GLOBAL,
        'get',
        'ReplicaSet,Pod',
        '--namespace',
        'shop',
        '--selector=app in (db,web)',
        '--output=json',
      ],
    ]);
    assert.deepEqual(
      pods.get(web)?.map((p) => (p.metadata as { name: string }).name),
      ['web-new-1'],
    );
    assert.deepEqual(
      pods.get(db)?.map((p) => (p.metadata as { name: string }).name),
      ['db-0'],
    );
  });

  it('reads each workload apart when their selectors share no key, and none for a workload without matchLabels', async () => {
    const web = workloadObject('DaemonSet', 'web', 'uid-web', { app: 'web' });
    const api = workloadObject('DaemonSet', 'api', 'uid-api', { name: 'api' });
    const bare: WorkloadObject = {
      workload: { kind: 'Job', name: 'migrate', namespace: 'shop' },
      applied: {},
    };
    const { kubectl, calls } = recordingKubectl([]);
    const pods = await currentPodsOf(kubectl, 'shop', [web, api, bare]);
    assert.deepEqual(
      [...calls].sort(),
      [
        [...GLOBAL, 'get', 'Pod', '--namespace', 'shop', '--selector=app=web', '--output=json'],
        [...GLOBAL, 'get', 'Pod', '--namespace', 'shop', '--selector=name=api', '--output=json'],
      ].sort(),
    );
    assert.deepEqual(pods.get(bare), []);
  });
});

describe('BatchedPodReader', () => {
  function recordingKubectl(calls: (readonly string[])[]): Kubectl {
    return new Kubectl(
      (args) => {
        calls.push(args);
        return Promise.resolve({ code: 0, stdout: '{"kind":"List","items":[]}', stderr: '' });
      },
      { kubeconfig: '/k', requestTimeoutSeconds: 30, commandTimeoutSeconds: 60 },
    );
  }
  const target = (name: string, namespace: string): WorkloadObject => ({
    workload: { kind: 'StatefulSet', name, namespace },
    applied: { spec: { selector: { matchLabels: { app: name } } } },
  });
  const commands = (calls: readonly (readonly string[])[]): string[] =>
    calls.map((args) => args.slice(3).join(' '));
  const settled = <T>(promise: Promise<T>): { done: boolean } => {
    const state = { done: false };
    void promise.then(() => (state.done = true));
    return state;
  };
  const nextMoment = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 10));

  it('reads what is asked in one moment together, one process per namespace', async () => {
    const calls: (readonly string[])[] = [];
    const [a, b, c] = [target('a', 'one'), target('b', 'one'), target('c', 'two')];
    const reader = new BatchedPodReader(recordingKubectl(calls), [a, b, c]);
    await Promise.all([reader.read(a), reader.read(b), reader.read(c)]);
    assert.deepEqual(commands(calls), [
      'get Pod --namespace one --selector=app in (a,b) --output=json',
      'get Pod --namespace two --selector=app=c --output=json',
    ]);
  });

  it("holds a namespace's asks until each of its expected workloads asked, then reads them in one process", async () => {
    const calls: (readonly string[])[] = [];
    const [a, b, c] = [target('a', 'one'), target('b', 'one'), target('c', 'two')];
    const reader = new BatchedPodReader(recordingKubectl(calls), [a, b, c]);
    const first = settled(reader.read(a));
    const other = settled(reader.read(c));
    await nextMoment();
    assert.deepEqual(commands(calls), ['get Pod --namespace two --selector=app=c --output=json']);
    assert.equal(other.done, true, 'a namespace whose workloads all asked is read at once');
    assert.equal(first.done, false, 'b of the same namespace has not asked yet');
    await reader.read(b);
    await nextMoment();
    assert.deepEqual(commands(calls).slice(1), [
      'get Pod --namespace one --selector=app in (a,b) --output=json',
    ]);
    assert.equal(first.done, true);
  });

  it('answers held asks with no pods and no process when they are discarded', async () => {
    const calls: (readonly string[])[] = [];
    const [a, b] = [target('a', 'one'), target('b', 'one')];
    const reader = new BatchedPodReader(recordingKubectl(calls), [a, b]);
    const held = reader.read(a);
    await nextMoment();
    reader.discardHeld();
    assert.deepEqual(await held, []);
    await nextMoment();
    assert.deepEqual(calls, []);
  });
});
