import * as assert from 'node:assert/strict';
import { hideSecretValues } from '../../tasks/deploy-aks-template/renderedFile';
import type { Manifest } from '../../tasks/deploy-aks-template/kubernetesObject';

describe('hideSecretValues', () => {
  it('replaces every value of a Secret and leaves other objects as they are', () => {
    const source = { file: 'app.yaml', document: 1 };
    const secret: Manifest = {
      source,
      object: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db' },
        type: 'Opaque',
        data: { password: 'cGFzc3dvcmQ=' },
        stringData: { user: 'app' },
      },
    };
    const config: Manifest = {
      source,
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'db' }, data: { user: 'app' } },
    };
    const [hiddenSecret, hiddenConfig] = hideSecretValues([secret, config]);
    assert.deepEqual(hiddenSecret?.object, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db' },
      type: 'Opaque',
      data: { password: '***' },
      stringData: { user: '***' },
    });
    assert.equal(hiddenConfig, config);
    assert.deepEqual(
      secret.object.data,
      { password: 'cGFzc3dvcmQ=' },
      'the applied manifest keeps its values',
    );
  });
});
