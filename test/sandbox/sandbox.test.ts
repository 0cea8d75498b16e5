import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { startSandbox } from '../../sandbox';
import { accepts } from './ports';

describe('the whole sandbox', () => {
  it('starts every part, the real registries included, and leaves no port or folder behind', async () => {
    const started = performance.now();
    const sandbox = await startSandbox();
    console.log(`      (sandbox started in ${(performance.now() - started).toFixed(0)} ms)`);
    const ports = [
      sandbox.base.proxy.port,
      sandbox.entra.port,
      sandbox.keyVault.port,
      sandbox.arm.port,
      sandbox.kubectlDownloads.port,
    ];
    const cluster = await sandbox.aks.createCluster({ resourceGroup: 'rg-one', name: 'aks-one' });
    ports.push(cluster.kubernetes.port);
    for (const port of ports) assert.ok(await accepts(port), `port ${port} is open while running`);
    assert.ok(fs.existsSync(sandbox.base.directory));

    await sandbox.close();
    for (const port of ports)
      assert.equal(await accepts(port), false, `port ${port} is closed after close()`);
    assert.equal(fs.existsSync(sandbox.base.directory), false, 'the temp folder is gone');
  });
});
