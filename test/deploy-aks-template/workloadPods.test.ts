import * as assert from 'node:assert/strict';
import { matchLabelsSelector, newestReplicaSet } from '../../tasks/deploy-aks-template/workloadPods';

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
