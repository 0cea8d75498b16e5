import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { matchesHost, startProxy, type RunningProxy } from '../../sandbox/proxy';

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

/** Sends CONNECT target over a raw socket and returns every byte the proxy sent until it closed. */
function rawConnect(proxy: RunningProxy, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxy.port, '127.0.0.1', () =>
      socket.write(`CONNECT ${target} HTTP/1.1\r\nhost: ${target}\r\n\r\n`),
    );
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}

interface RawAnswer {
  readonly statusLine: string;
  readonly headers: ReadonlyMap<string, string>;
  readonly bodyLength: number;
}

function parseRaw(answer: string): RawAnswer {
  const end = answer.indexOf('\r\n\r\n');
  const [statusLine = '', ...headerLines] = answer.slice(0, end).split('\r\n');
  const headers = new Map(
    headerLines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as const;
    }),
  );
  return { statusLine, headers, bodyLength: Buffer.byteLength(answer.slice(end + 4)) };
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

  describe('refusal rules', () => {
    const vaultTarget = 'contoso-kv.vault.azure.net:443';

    it('answers an error status with a body shorter than its Content-Length, then closes', async () => {
      const rule = proxy.refuse('*.vault.azure.net', { kind: 'status', status: 503, truncated: true });
      try {
        const answer = parseRaw(await rawConnect(proxy, vaultTarget));
        assert.equal(answer.statusLine, 'HTTP/1.1 503 Service Unavailable');
        const declared = Number(answer.headers.get('content-length'));
        assert.equal(declared - answer.bodyLength, 512, 'the body stops 512 bytes short');
        assert.equal(rule.applied, 1);
      } finally {
        rule.remove();
      }
    });

    it('answers 403 and 502 with a whole body', async () => {
      for (const [status, statusLine] of [
        [403, 'HTTP/1.1 403 Forbidden'],
        [502, 'HTTP/1.1 502 Bad Gateway'],
      ] as const) {
        const rule = proxy.refuse('contoso-kv.vault.azure.net', { kind: 'status', status });
        try {
          const answer = parseRaw(await rawConnect(proxy, vaultTarget));
          assert.equal(answer.statusLine, statusLine);
          assert.equal(Number(answer.headers.get('content-length')), answer.bodyLength);
        } finally {
          rule.remove();
        }
      }
    });

    it('asks for proxy credentials with 407 and a Basic realm', async () => {
      const rule = proxy.refuse('login.microsoftonline.com', {
        kind: 'authenticationRequired',
        realm: 'corp-proxy',
      });
      try {
        const answer = parseRaw(await rawConnect(proxy, 'login.microsoftonline.com:443'));
        assert.equal(answer.statusLine, 'HTTP/1.1 407 Proxy Authentication Required');
        assert.equal(answer.headers.get('proxy-authenticate'), 'Basic realm="corp-proxy"');
      } finally {
        rule.remove();
      }
    });

    it('plays a captive portal: 200 OK with an HTML page and a close, no tunnel behind it', async () => {
      const rule = proxy.refuse('*.vault.azure.net', { kind: 'captivePortal' });
      try {
        const raw = await rawConnect(proxy, vaultTarget);
        const answer = parseRaw(raw);
        assert.equal(answer.statusLine, 'HTTP/1.1 200 OK');
        assert.equal(answer.headers.get('content-type'), 'text/html; charset=utf-8');
        assert.match(raw, /<!DOCTYPE html>.*<\/html>\n$/s);
        assert.equal(Number(answer.headers.get('content-length')), answer.bodyLength);
      } finally {
        rule.remove();
      }
    });

    it('leaves other hosts routed, applies the latest matching rule, lifts a removed one and counts `times`', async () => {
      const wide = proxy.refuse('*.vault.azure.net', { kind: 'status', status: 502 });
      const narrow = proxy.refuse('contoso-kv.vault.azure.net', { kind: 'status', status: 403 });
      assert.equal(await connectStatus(proxy, vaultTarget), 403);
      assert.equal(await connectStatus(proxy, 'other-kv.vault.azure.net:443'), 502);
      narrow.remove();
      assert.equal(await connectStatus(proxy, vaultTarget), 502);
      wide.remove();
      assert.equal(await connectStatus(proxy, vaultTarget), 200);
      const once = proxy.refuse('*.vault.azure.net', { kind: 'status', status: 503 }, { times: 1 });
      assert.equal(await connectStatus(proxy, vaultTarget), 503);
      assert.equal(
        await connectStatus(proxy, vaultTarget),
        200,
        'a rule for one CONNECT lets the next through',
      );
      assert.equal(once.applied, 1);
      assert.deepEqual([narrow.applied, wide.applied], [1, 2]);
      assert.deepEqual(proxy.refusedByRule.slice(-4, -1), [
        vaultTarget,
        'other-kv.vault.azure.net:443',
        vaultTarget,
      ]);
    });
  });

  it('matches wildcards on whole labels only', () => {
    assert.ok(matchesHost('*.vault.azure.net', 'a.vault.azure.net'));
    assert.ok(!matchesHost('*.vault.azure.net', 'vault.azure.net'));
    assert.ok(!matchesHost('*.vault.azure.net', 'xvault.azure.net'));
    assert.ok(matchesHost('login.microsoftonline.com', 'LOGIN.microsoftonline.com'));
  });
});
