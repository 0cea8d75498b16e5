import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hideSecretValues, writeRenderedFiles } from '../../tasks/deploy-aks-template/renderedFile';
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

describe('writeRenderedFiles', () => {
  it('masks secret values in the attachment wherever they are, numbers and booleans included', () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'rendered-file-'));
    try {
      const manifest: Manifest = {
        source: { file: 'app.yaml', document: 1 },
        object: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'settings' },
          data: { pin: 90817263, octal: 215123, url: 'https://app:s3cr3t-Pa55@db', port: 8080 },
        },
      };
      const files = writeRenderedFiles(directory, [manifest], 'as applied\n', [
        '90817263',
        's3cr3t-Pa55',
        // `0644123` in the template reads as octal 215123, which is what was rendered.
        '0644123',
      ]);
      const attachment = fs.readFileSync(files.attachment, 'utf8');
      assert.match(attachment, /pin: "\*\*\*"|pin: '\*\*\*'/);
      assert.match(attachment, /octal: "\*\*\*"|octal: '\*\*\*'/);
      assert.match(attachment, /url: https:\/\/app:\*\*\*@db/);
      assert.match(attachment, /port: 8080/, 'numbers that are no secret stay numbers');
      assert.doesNotMatch(attachment, /90817263|s3cr3t/);
      assert.equal(
        fs.readFileSync(files.manifests, 'utf8'),
        'as applied\n',
        'what kubectl applies is untouched',
      );
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });
});
