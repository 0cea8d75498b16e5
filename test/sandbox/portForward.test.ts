import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { hasEnded } from '../support/processes';
import { CertificateAuthority } from '../../sandbox/tls/certificateAuthority';
import { createPortForwardServer, type PortForwardServer } from '../../sandbox/kubernetes/portForward';

const TOKEN = 'port-forward-test-token';

const SERVICE = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'staging', uid: 'svc-uid', resourceVersion: '10' },
  spec: {
    type: 'ClusterIP',
    clusterIP: '10.0.0.10',
    selector: { app: 'web' },
    ports: [{ name: 'http', protocol: 'TCP', port: 8080, targetPort: 'http' }],
  },
};

const POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web-1',
    namespace: 'staging',
    uid: 'pod-uid',
    resourceVersion: '11',
    labels: { app: 'web' },
    creationTimestamp: '2026-01-01T00:00:00Z',
  },
  spec: {
    containers: [
      { name: 'web', image: 'web:1', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] },
    ],
  },
  status: { phase: 'Running', podIP: '10.244.0.5' },
};

interface UpgradeRecord {
  readonly method: string;
  readonly url: string;
  readonly upgrade: string;
  readonly handled: boolean;
}

interface FakeApi {
  readonly url: string;
  readonly caCertificate: string;
  readonly upgrades: UpgradeRecord[];
  close(): Promise<void>;
}

function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** Just the API kubectl port-forward service/web reads (seen with -v=8), plus the upgrade. */
async function startFakeApi(directory: string, portForward: PortForwardServer): Promise<FakeApi> {
  const ca = CertificateAuthority.create(path.join(directory, 'ca'));
  const tls = ca.issueServerCertificate(['localhost']);
  const upgrades: UpgradeRecord[] = [];
  const sockets = new Set<Socket>();
  let address = '';
  const server = https.createServer({ key: tls.key, cert: tls.certificate }, (request, response) => {
    if (request.headers.authorization !== `Bearer ${TOKEN}`) {
      sendJson(response, 401, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 401 });
      return;
    }
    const route = (request.url ?? '/').split('?')[0];
    const answers: Record<string, unknown> = {
      '/version': { major: '1', minor: '32', gitVersion: 'v1.32.4', platform: 'linux/amd64' },
      '/api': {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: address }],
      },
      '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups: [] },
      '/api/v1': {
        kind: 'APIResourceList',
        groupVersion: 'v1',
        resources: [
          { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list'] },
          {
            name: 'pods/portforward',
            singularName: '',
            namespaced: true,
            kind: 'PodPortForwardOptions',
            verbs: ['create', 'get'],
          },
          {
            name: 'services',
            singularName: 'service',
            namespaced: true,
            kind: 'Service',
            verbs: ['get', 'list'],
          },
        ],
      },
      '/api/v1/namespaces/staging/services/web': SERVICE,
      '/api/v1/namespaces/staging/pods': {
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: { resourceVersion: '12' },
        items: [POD],
      },
      '/api/v1/namespaces/staging/pods/web-1': POD,
    };
    const answer = route === undefined ? undefined : answers[route];
    if (request.method === 'GET' && answer !== undefined) sendJson(response, 200, answer);
    else
      sendJson(response, 404, {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'NotFound',
        code: 404,
      });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (request: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const authorized = request.headers.authorization === `Bearer ${TOKEN}`;
    const handled = authorized && portForward.handleUpgrade(request, socket, head);
    upgrades.push({
      method: request.method ?? '',
      url: request.url ?? '',
      upgrade: request.headers.upgrade ?? '',
      handled,
    });
    if (!handled) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `https://${address}`,
    caCertificate: ca.root.certificate,
    upgrades,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

interface FakePod {
  readonly port: number;
  /** The most requests the pod had in flight at once. */
  readonly maxInFlight: () => number;
  readonly openConnections: () => number;
  close(): Promise<void>;
}

/** The "pod": GET /hello, GET /slow?id=…, POST /echo (answers the body it got). */
async function startFakePod(): Promise<FakePod> {
  let inFlight = 0;
  let maxInFlight = 0;
  const sockets = new Set<Socket>();
  const server = http.createServer((request, response) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    response.on('close', () => inFlight--);
    const url = new URL(request.url ?? '/', 'http://pod');
    if (url.pathname === '/hello') {
      response.end('hello from web-1');
    } else if (url.pathname === '/slow') {
      setTimeout(() => response.end(`slow ${url.searchParams.get('id')}`), 400);
    } else if (url.pathname === '/echo' && request.method === 'POST') {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => response.end(Buffer.concat(chunks)));
    } else {
      response.writeHead(404).end();
    }
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    maxInFlight: () => maxInFlight,
    openConnections: () => sockets.size,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface KubectlPortForward {
  readonly child: ChildProcess;
  /** The local port kubectl listens on. */
  readonly localPort: number;
  output(): string;
  /** Resolves with the exit code or signal once the process is gone. */
  readonly exited: Promise<number | string>;
}

function writeKubeconfig(directory: string, api: FakeApi): string {
  const file = path.join(directory, 'kubeconfig');
  // JSON is YAML: kubectl reads it as is.
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'sandbox',
        cluster: {
          server: api.url,
          'certificate-authority-data': Buffer.from(api.caCertificate).toString('base64'),
        },
      },
    ],
    contexts: [{ name: 'sandbox', context: { cluster: 'sandbox', user: 'tester' } }],
    'current-context': 'sandbox',
    users: [{ name: 'tester', user: { token: TOKEN } }],
  };
  fs.writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  return file;
}

/** Starts `kubectl port-forward` with its own HOME and KUBECACHEDIR and waits for "Forwarding from". */
async function startKubectl(
  directory: string,
  kubeconfig: string,
  args: readonly string[],
  environment: Record<string, string> = {},
): Promise<KubectlPortForward> {
  const home = fs.mkdtempSync(path.join(directory, 'kubectl-'));
  const child = spawn('kubectl', ['--kubeconfig', kubeconfig, ...args], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      KUBECACHEDIR: path.join(home, 'cache'),
      ...environment,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const localPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kubectl did not start forwarding:\n${output}`)), 20_000);
    const onOutput = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`kubectl exited (${code}) before forwarding:\n${output}`));
    });
  });
  return { child, localPort, output: () => output, exited };
}

interface HttpAnswer {
  readonly status: number;
  readonly body: Buffer;
}

/** One request on a fresh connection (no keep-alive), so each is its own forwarded stream pair. */
function request(port: number, method: string, pathName: string, body?: Buffer): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      { host: '127.0.0.1', port, method, path: pathName, agent: false, timeout: 15_000 },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
        response.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`${method} ${pathName} timed out`)));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('port-forward server with the real kubectl', function () {
  this.timeout(60_000);
  let directory: string;
  let pod: FakePod;
  let portForward: PortForwardServer;
  let api: FakeApi;
  let kubeconfig: string;
  const resolved: string[] = [];
  const protocolErrors: unknown[] = [];

  before(async () => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'port-forward-'));
    pod = await startFakePod();
    portForward = createPortForwardServer({
      resolveTarget: (namespace, podName, port) => {
        resolved.push(`${namespace}/${podName}:${port}`);
        return namespace === 'staging' && podName === 'web-1' && port === 80
          ? { host: '127.0.0.1', port: pod.port }
          : undefined;
      },
      podExists: (namespace, podName) => namespace === 'staging' && podName === 'web-1',
      onProtocolError: (error) => protocolErrors.push(error),
    });
    api = await startFakeApi(directory, portForward);
    kubeconfig = writeKubeconfig(directory, api);
  });

  after(async () => {
    await portForward.close();
    await api.close();
    await pod.close();
    fs.rmSync(directory, { recursive: true, force: true });
  });

  describe('kubectl port-forward service/web :8080 -n staging', () => {
    let kubectl: KubectlPortForward;

    before(async () => {
      kubectl = await startKubectl(directory, kubeconfig, [
        'port-forward',
        'service/web',
        ':8080',
        '-n',
        'staging',
      ]);
    });

    after(() => {
      kubectl.child.kill('SIGKILL');
    });

    it('forwards to the pod port the service targets (named port http -> 80)', () => {
      assert.match(
        kubectl.output(),
        new RegExp(`Forwarding from 127\\.0\\.0\\.1:${kubectl.localPort} -> 80\\n`),
      );
    });

    it('answers a GET through the forwarded port', async () => {
      const answer = await request(kubectl.localPort, 'GET', '/hello');
      assert.equal(answer.status, 200);
      assert.equal(answer.body.toString('utf8'), 'hello from web-1');
      assert.deepEqual(resolved.slice(-1), ['staging/web-1:80']);
    });

    it('serves two concurrent requests on separate forwarded connections', async () => {
      const [first, second] = await Promise.all([
        request(kubectl.localPort, 'GET', '/slow?id=1'),
        request(kubectl.localPort, 'GET', '/slow?id=2'),
      ]);
      assert.equal(first.body.toString('utf8'), 'slow 1');
      assert.equal(second.body.toString('utf8'), 'slow 2');
      assert.equal(pod.maxInFlight(), 2);
    });

    it('carries a 1 MB request body and its 1 MB echo intact', async () => {
      const body = crypto.randomBytes(1024 * 1024);
      const answer = await request(kubectl.localPort, 'POST', '/echo', body);
      assert.equal(answer.status, 200);
      assert.equal(answer.body.length, body.length);
      assert.ok(answer.body.equals(body), 'the echoed body differs from the one sent');
    });

    it('was asked for a WebSocket tunnel first, refused it, and got the SPDY/3.1 upgrade', () => {
      assert.deepEqual(
        api.upgrades.map((u) => `${u.method} ${u.url} ${u.upgrade}`),
        [
          'GET /api/v1/namespaces/staging/pods/web-1/portforward websocket',
          'POST /api/v1/namespaces/staging/pods/web-1/portforward SPDY/3.1',
        ],
      );
      assert.equal(portForward.openSessions, 1);
    });

    it('closes its pod connections once each forwarded connection ends', async () => {
      await waitFor(() => pod.openConnections() === 0, 'the pod connections to close');
    });

    it('drops the session when kubectl is killed, leaving nothing open', async () => {
      const pid = kubectl.child.pid ?? 0;
      kubectl.child.kill('SIGTERM');
      assert.equal(await kubectl.exited, 'SIGTERM');
      assert.equal(hasEnded(pid), true);
      await waitFor(() => portForward.openSessions === 0, 'the SPDY session to close');
      assert.deepEqual(protocolErrors, []);
    });
  });

  describe('kubectl port-forward pod/web-1 to a port nothing listens on', () => {
    it('reports the kubelet-style error and kubectl gives up, as with a real cluster', async () => {
      const upgradesBefore = api.upgrades.length;
      const kubectl = await startKubectl(
        directory,
        kubeconfig,
        ['port-forward', 'pod/web-1', ':9999', '-n', 'staging'],
        // Also shows that the SPDY path alone works when kubectl skips the WebSocket attempt.
        { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' },
      );
      await assert.rejects(request(kubectl.localPort, 'GET', '/hello'));
      const exitCode = await kubectl.exited;
      assert.equal(exitCode, 1);
      assert.match(
        kubectl.output(),
        /an error occurred forwarding \d+ -> 9999: error forwarding port 9999 to pod staging\/web-1: .*nothing listens on port 9999/,
      );
      assert.match(kubectl.output(), /lost connection to pod/);
      assert.deepEqual(
        api.upgrades.slice(upgradesBefore).map((u) => `${u.method} ${u.upgrade}`),
        ['POST SPDY/3.1'],
      );
    });
  });

  describe('a server that is closed while kubectl is connected', () => {
    it('sends GOAWAY and kubectl exits', async () => {
      const kubectl = await startKubectl(directory, kubeconfig, [
        'port-forward',
        'pod/web-1',
        ':80',
        '-n',
        'staging',
      ]);
      assert.equal(
        (await request(kubectl.localPort, 'GET', '/hello')).body.toString('utf8'),
        'hello from web-1',
      );
      await portForward.close();
      assert.equal(portForward.openSessions, 0);
      const exitCode = await kubectl.exited;
      assert.equal(exitCode, 1);
      assert.match(kubectl.output(), /lost connection to pod/);
    });
  });
});
