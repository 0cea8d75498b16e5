import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { startBase, type SandboxBase } from '../../sandbox/base';
import {
  kubectlSession,
  startKubernetesCluster,
  type KubectlSession,
  type KubernetesCluster,
  type PodApp,
} from '../../sandbox/kubernetes';

const HOST = 'forward-dns-0a1b2c3d.hcp.westeurope.azmk8s.io';
const OTHER_HOST = 'closing-dns-0a1b2c3d.hcp.westeurope.azmk8s.io';

/** A Deployment whose container names its port, and a ClusterIP Service that targets the name. */
const MANIFEST = `apiVersion: v1
kind: Namespace
metadata: { name: staging }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: staging }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: contoso/web:1.0.0
          ports: [{ name: http, containerPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: staging }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }]
---
apiVersion: v1
kind: Pod
metadata: { name: worker, namespace: staging, labels: { app: worker } }
spec:
  containers:
    - name: worker
      image: contoso/worker:1.0.0
      ports: [{ containerPort: 8080 }]
`;

interface Forwarding {
  readonly child: ChildProcess;
  readonly localPort: number | undefined;
  readonly output: () => string;
  readonly exited: Promise<number | string>;
}

/** `kubectl port-forward …` through the sandbox proxy; resolves at "Forwarding from" or at exit. */
async function portForward(session: KubectlSession, base: SandboxBase, args: string[]): Promise<Forwarding> {
  const child = spawn('kubectl', ['port-forward', ...args], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: path.dirname(session.kubeconfigPath),
      KUBECONFIG: session.kubeconfigPath,
      KUBECACHEDIR: session.cacheDirectory,
      ...base.clientEnvironment,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const localPort = await new Promise<number | undefined>((resolve) => {
    const onOutput = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(output);
      if (match !== null) resolve(Number(match[1]));
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    void exited.then(() => resolve(undefined));
  });
  return { child, localPort, output: () => output, exited };
}

function get(port: number, pathName: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: pathName, agent: false, timeout: 10_000 }, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      })
      .on('timeout', function (this: http.ClientRequest) {
        this.destroy(new Error(`GET ${pathName} timed out`));
      })
      .on('error', reject);
  });
}

describe('Kubernetes stand-in: kubectl port-forward to pods that serve an app', function () {
  this.timeout(60_000);
  let base: SandboxBase;
  let cluster: KubernetesCluster;
  let session: KubectlSession;
  let app: PodApp;

  before(async () => {
    base = await startBase();
    cluster = await startKubernetesCluster({
      tls: base.serverTls,
      certificateAuthority: base.ca.root.certificate,
      hostName: HOST,
    });
    base.proxy.route(HOST, cluster.port);
    session = kubectlSession({
      parentDirectory: base.directory,
      kubeconfig: cluster.kubeconfig(),
      environment: base.clientEnvironment,
    });
    app = await cluster.serveApp('staging', { app: 'web' }, 8080, (request, response) => {
      response.setHeader('content-type', 'text/plain');
      response.end(`web answers ${request.method ?? ''} ${request.url ?? ''}`);
    });
    await session.ok(['apply', '-f', '-'], { input: MANIFEST });
    await session.ok(['rollout', 'status', 'deployment/web', '-n', 'staging', '--timeout=20s']);
    await session.ok(['wait', 'pod/worker', '-n', 'staging', '--for=condition=Ready', '--timeout=20s']);
  });

  after(async () => {
    session.dispose();
    await cluster.close();
    await base.close();
    assert.deepEqual(base.proxy.refused, [], 'no request may leave the sandbox');
  });

  it('forwards service/web :80 to the named container port of one of its pods, and the app answers', async () => {
    const forward = await portForward(session, base, ['service/web', ':80', '-n', 'staging']);
    try {
      assert.ok(forward.localPort !== undefined, forward.output());
      assert.match(forward.output(), /Forwarding from 127\.0\.0\.1:\d+ -> 8080/);
      const before = app.requests;
      assert.deepEqual(await get(forward.localPort, '/healthz?full=1'), {
        status: 200,
        body: 'web answers GET /healthz?full=1',
      });
      assert.deepEqual(await get(forward.localPort, '/'), { status: 200, body: 'web answers GET /' });
      assert.equal(app.requests - before, 2);
      assert.equal(cluster.portForwardSessions, 1);
      // kubectl tries SPDY through a WebSocket first; the stand-in refuses and kubectl falls back to SPDY/3.1.
      const upgrades = cluster.requests
        .filter((r) => r.upgrade !== undefined)
        .map(
          (r) =>
            `${r.method} ${r.path.replace(/web-[a-z0-9]+-[a-z0-9]+/, 'web-<pod>')} ${r.upgrade} ${r.user}`,
        );
      assert.deepEqual(upgrades, [
        'GET /api/v1/namespaces/staging/pods/web-<pod>/portforward websocket clusterAdmin',
        'POST /api/v1/namespaces/staging/pods/web-<pod>/portforward SPDY/3.1 clusterAdmin',
      ]);
    } finally {
      forward.child.kill('SIGTERM');
      await forward.exited;
    }
  });

  it('gives kubectl the kubelet’s error for a pod no app serves, and kubectl ends', async () => {
    const forward = await portForward(session, base, ['pod/worker', ':8080', '-n', 'staging']);
    assert.ok(forward.localPort !== undefined, forward.output());
    await assert.rejects(get(forward.localPort, '/'));
    assert.equal(await forward.exited, 1);
    assert.match(forward.output(), /error forwarding port 8080 to pod staging\/worker/);
    assert.match(forward.output(), /lost connection to pod/);
  });

  it('sends GOAWAY when the cluster closes under a running kubectl port-forward', async () => {
    const other = await startKubernetesCluster({
      tls: base.serverTls,
      certificateAuthority: base.ca.root.certificate,
      hostName: OTHER_HOST,
    });
    base.proxy.route(OTHER_HOST, other.port);
    const otherSession = kubectlSession({
      parentDirectory: base.directory,
      kubeconfig: other.kubeconfig(),
      environment: base.clientEnvironment,
    });
    try {
      await other.serveApp('staging', { app: 'web' }, 8080, (_request, response) => response.end('ok'));
      await otherSession.ok(['apply', '-f', '-'], { input: MANIFEST });
      await otherSession.ok(['rollout', 'status', 'deployment/web', '-n', 'staging', '--timeout=20s']);
      const forward = await portForward(otherSession, base, ['service/web', ':http', '-n', 'staging']);
      assert.ok(forward.localPort !== undefined, forward.output());
      assert.equal((await get(forward.localPort, '/')).body, 'ok');
      await other.close();
      assert.equal(await forward.exited, 1);
      assert.match(forward.output(), /lost connection to pod/);
    } finally {
      otherSession.dispose();
    }
  });
});
