import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createDefaultHttpClient, createPipelineRequest } from '@azure/core-rest-pipeline';
import {
  PROXY_NOT_A_TUNNEL,
  PROXY_REFUSED,
  ProxyConnectError,
  ProxyTunnelAgent,
} from '../../tasks/common/proxy';
import { startHttpsServer, type RunningServer } from '../../sandbox/httpsServer';
import { CertificateAuthority } from '../../sandbox/tls/certificateAuthority';
import { trustCertificateAuthority } from '../../sandbox/tls/trust';

const VAULT = 'https://contoso-kv.vault.azure.net/secrets?api-version=7.5';
const TARGET = 'contoso-kv.vault.azure.net:443';

interface ConnectSeen {
  readonly target: string;
  readonly headers: Readonly<Record<string, string>>;
}

interface FakeProxy {
  readonly url: string;
  readonly connects: readonly ConnectSeen[];
  close(): Promise<void>;
}

/**
 * A proxy that reads one CONNECT per connection and lets `answer` reply on the raw socket: wrong
 * Content-Lengths and early closes are exactly what it is for.
 */
async function startFakeProxy(
  answer: (socket: net.Socket, connect: ConnectSeen) => void,
): Promise<FakeProxy> {
  const connects: ConnectSeen[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const [requestLine = '', ...headerLines] = head.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const connect = { target: requestLine.split(' ')[1] ?? '', headers };
      connects.push(connect);
      answer(socket, connect);
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connects,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One GET through `agent`; the body as text. */
function get(url: string, agent: https.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = https.request(url, { agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

/** The error a request ends with, or a failure naming the hang when it does not end within 5 s. */
async function failureOf(request: Promise<unknown>): Promise<unknown> {
  let guard: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    guard = setTimeout(
      () => reject(new Error('the request through the proxy had not settled after 5 s')),
      5000,
    );
  });
  try {
    return await Promise.race([
      request.then(
        (value) => assert.fail(`expected a failure, got ${JSON.stringify(value)}`),
        (error: unknown) => error,
      ),
      hung,
    ]);
  } finally {
    clearTimeout(guard);
  }
}

describe('ProxyTunnelAgent', () => {
  let proxy: FakeProxy | undefined;
  let agent: ProxyTunnelAgent | undefined;

  afterEach(async () => {
    agent?.destroy();
    agent = undefined;
    await proxy?.close();
    proxy = undefined;
  });

  describe('when the proxy does not open the tunnel', () => {
    it('fails at once naming the proxy when a 403 is cut shorter than its Content-Length and the proxy closes', async () => {
      proxy = await startFakeProxy((socket) => {
        socket.end(
          'HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\n<html><body>Blocked by policy',
        );
      });
      agent = new ProxyTunnelAgent(proxy.url, { keepAlive: true });

      const error = await failureOf(get(VAULT, agent));

      assert.ok(error instanceof ProxyConnectError, `got ${String(error)}`);
      assert.equal(error.code, PROXY_REFUSED);
      assert.equal(error.status, 403);
      assert.equal(error.statusText, 'Forbidden');
      assert.equal(error.proxy, proxy.url);
      assert.equal(error.target, TARGET);
      assert.equal(
        error.message,
        `The proxy ${proxy.url} refused the connection to ${TARGET}: 403 Forbidden`,
      );
      assert.deepEqual(
        proxy.connects.map((c) => c.target),
        [TARGET],
      );
    });

    it('fails at once on a 407 while the proxy keeps the connection open, keeping credentials out of the error', async () => {
      proxy = await startFakeProxy((socket) => {
        socket.write(
          'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="corp"\r\nContent-Length: 0\r\n\r\n',
        );
      });
      const withCredentials = proxy.url.replace('http://', 'http://build%40contoso:s3cr%3At@');
      agent = new ProxyTunnelAgent(withCredentials, { keepAlive: true });

      const error = await failureOf(get(VAULT, agent));

      assert.ok(error instanceof ProxyConnectError, `got ${String(error)}`);
      assert.equal(error.code, PROXY_REFUSED);
      assert.equal(error.status, 407);
      assert.equal(error.statusText, 'Proxy Authentication Required');
      assert.equal(error.proxy, proxy.url);
      assert.equal(error.target, TARGET);
      assert.doesNotMatch(error.message, /s3cr|build/);
      assert.equal(
        proxy.connects[0]?.headers['proxy-authorization'],
        `Basic ${Buffer.from('build@contoso:s3cr:t').toString('base64')}`,
      );
    });

    it('fails at once on a 502 from the proxy', async () => {
      proxy = await startFakeProxy((socket) => {
        socket.end(
          'HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nBad Gateway',
        );
      });
      agent = new ProxyTunnelAgent(proxy.url, { keepAlive: true });

      const error = await failureOf(get(VAULT, agent));

      assert.ok(error instanceof ProxyConnectError, `got ${String(error)}`);
      assert.equal(error.code, PROXY_REFUSED);
      assert.equal(error.status, 502);
      assert.equal(error.statusText, 'Bad Gateway');
      assert.equal(error.target, TARGET);
    });

    it('fails at once on a 200 that carries a web page (a captive portal), without quoting the page', async () => {
      const page = '<html><body>Sign in to Contoso Guest Wi-Fi</body></html>';
      proxy = await startFakeProxy((socket) => {
        socket.write(
          `HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: ${page.length}\r\n\r\n${page}`,
        );
      });
      agent = new ProxyTunnelAgent(proxy.url, { keepAlive: true });

      const error = await failureOf(get(VAULT, agent));

      assert.ok(error instanceof ProxyConnectError, `got ${String(error)}`);
      assert.equal(error.code, PROXY_NOT_A_TUNNEL);
      assert.equal(error.status, 200);
      assert.equal(error.proxy, proxy.url);
      assert.equal(error.target, TARGET);
      assert.equal(
        error.message,
        `The proxy ${proxy.url} answered the connection to ${TARGET} with a page instead of a tunnel: 200 OK`,
      );
    });

    it('fails at once when the proxy closes without answering', async () => {
      proxy = await startFakeProxy((socket) => socket.destroy());
      agent = new ProxyTunnelAgent(proxy.url, { keepAlive: true });

      const error = await failureOf(get(VAULT, agent));

      assert.equal((error as { code?: string }).code, 'ECONNRESET', `got ${String(error)}`);
    });
  });

  describe('through a tunnel', () => {
    let ca: CertificateAuthority;
    let vault: RunningServer;
    let directory: string;
    const served: string[] = [];

    before(async () => {
      directory = fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-tunnel-'));
      ca = CertificateAuthority.create(directory);
      vault = await startHttpsServer(
        ca.issueServerCertificate(['*.vault.azure.net']),
        (request, response) => {
          served.push(`${request.headers.host ?? ''} ${request.url ?? ''}`);
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end('{"value":[]}');
        },
      );
    });

    after(async () => {
      await vault.close();
      fs.rmSync(directory, { recursive: true, force: true });
    });

    beforeEach(async () => {
      served.length = 0;
      proxy = await startFakeProxy((socket) => {
        const upstream = net.connect(vault.port, '127.0.0.1', () => {
          socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
          socket.pipe(upstream).pipe(socket);
        });
        upstream.on('error', () => socket.destroy());
        socket.on('close', () => upstream.destroy());
      });
    });

    it('reuses one tunnel for requests one after another and sends the URL’s credentials as Basic', async () => {
      const untrust = trustCertificateAuthority(ca.root.certificate);
      try {
        const url = proxy?.url.replace('http://', 'http://build%40contoso:p%3Ass@') ?? '';
        agent = new ProxyTunnelAgent(url, { keepAlive: true });

        const first = await get(VAULT, agent);
        const second = await get('https://contoso-kv.vault.azure.net/secrets/db/?api-version=7.5', agent);

        assert.deepEqual(
          [first, second],
          [
            { status: 200, body: '{"value":[]}' },
            { status: 200, body: '{"value":[]}' },
          ],
        );
        assert.deepEqual(served, [
          'contoso-kv.vault.azure.net /secrets?api-version=7.5',
          'contoso-kv.vault.azure.net /secrets/db/?api-version=7.5',
        ]);
        assert.deepEqual(
          proxy?.connects.map((c) => [c.target, c.headers['proxy-authorization']]),
          [[TARGET, `Basic ${Buffer.from('build@contoso:p:ss').toString('base64')}`]],
        );
      } finally {
        untrust();
      }
    });

    it('reuses one tunnel for the Azure SDK’s HTTP client too (it names a freed tunnel by http rules unless told it is secure)', async () => {
      const untrust = trustCertificateAuthority(ca.root.certificate);
      try {
        agent = new ProxyTunnelAgent(proxy?.url ?? '', { keepAlive: true });
        const client = createDefaultHttpClient();
        const statuses: number[] = [];
        for (const url of [VAULT, 'https://contoso-kv.vault.azure.net/secrets/db/?api-version=7.5']) {
          const request = createPipelineRequest({ url });
          request.agent = agent;
          statuses.push((await client.sendRequest(request)).status);
        }

        assert.deepEqual(statuses, [200, 200]);
        assert.equal(served.length, 2);
        assert.deepEqual(
          proxy?.connects.map((c) => c.target),
          [TARGET],
        );
      } finally {
        untrust();
      }
    });

    it('checks the server’s certificate against the request’s own trusted authorities', async () => {
      agent = new ProxyTunnelAgent(proxy?.url ?? '', { keepAlive: true, ca: ca.root.certificate });

      const answer = await Promise.race([
        get(VAULT, agent).then(
          (response) => response,
          (error: unknown) => error,
        ),
        new Promise((resolve) => setTimeout(() => resolve('no answer after 5 s'), 5000).unref()),
      ]);

      assert.deepEqual(answer, { status: 200, body: '{"value":[]}' });
    });

    it('refuses a server whose certificate no trusted authority signed', async () => {
      agent = new ProxyTunnelAgent(proxy?.url ?? '', { keepAlive: true });

      const error = await failureOf(get(VAULT, agent));

      assert.equal(
        (error as { code?: string }).code,
        'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
        `got ${String(error)}`,
      );
      assert.deepEqual(served, []);
    });
  });
});
