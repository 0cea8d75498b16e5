import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { matchesHost, startProxy, type RunningProxy } from './proxy';

/** Sends CONNECT host:443 through the proxy and returns the status code it answered. */
function connectStatus(proxy: RunningProxy, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port: proxy.port, method: 'CONNECT', path: target });
    request.on('connect', (response, socket) => {
      socket.destroy();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
    request.end();
  });
}

describe('sandbox CONNECT proxy', () => {
  let proxy: RunningProxy;
  let upstream: net.Server;

  before(async () => {
    upstream = net.createServer((socket) => socket.end('hello'));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    proxy = await startProxy([
      { host: '*.vault.azure.net', port: (upstream.address() as net.AddressInfo).port },
    ]);
  });

  after(async () => {
    await proxy.close();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  it('tunnels a routed host to its local server', async () => {
    assert.equal(await connectStatus(proxy, 'contoso-kv.vault.azure.net:443'), 200);
  });

  it('refuses every other destination and records it, so nothing reaches the internet', async () => {
    assert.equal(await connectStatus(proxy, 'example.com:443'), 403);
    assert.equal(await connectStatus(proxy, 'vault.azure.net.evil.example:443'), 403);
    assert.deepEqual(proxy.refused, ['example.com:443', 'vault.azure.net.evil.example:443']);
  });

  it('matches wildcards on whole labels only', () => {
    assert.ok(matchesHost('*.vault.azure.net', 'a.vault.azure.net'));
    assert.ok(!matchesHost('*.vault.azure.net', 'vault.azure.net'));
    assert.ok(!matchesHost('*.vault.azure.net', 'xvault.azure.net'));
    assert.ok(matchesHost('login.microsoftonline.com', 'LOGIN.microsoftonline.com'));
  });
});
