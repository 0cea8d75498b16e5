import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SandboxBase } from '../../sandbox/base';
import { sandboxSuite } from './harness';
import {
  kubectlSession,
  startKubernetesCluster,
  type KubectlSession,
  type KubeObject,
  type KubernetesCluster,
} from '../../sandbox/kubernetes';
import { jsonPatch, serverSideApply, strategicMergePatch } from '../../sandbox/kubernetes/patch';
import { parseFieldSelector, parseLabelSelector } from '../../sandbox/kubernetes/selectors';

const HOST = 'sandbox-dns-0a1b2c3d.hcp.westeurope.azmk8s.io';

interface AppOptions {
  readonly namespace: string;
  readonly image: string;
  readonly envB?: string;
  readonly replicas?: number;
  readonly progressDeadlineSeconds?: number;
}

/** The multi-document manifest a DeployAksTemplate run applies: Namespace, Deployment, LoadBalancer Service, ConfigMap, Ingress. */
function appManifest(options: AppOptions): string {
  const { namespace, image } = options;
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${namespace}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${namespace}
  labels: { app: web }
spec:
  replicas: ${options.replicas ?? 2}
  progressDeadlineSeconds: ${options.progressDeadlineSeconds ?? 600}
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: web
          image: ${image}
          ports: [{ containerPort: 8080 }]
          env:
            - { name: A, value: "1" }
            - { name: B, value: "${options.envB ?? '2'}" }
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: ${namespace}
spec:
  type: LoadBalancer
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-settings
  namespace: ${namespace}
data:
  greeting: hello
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: ${namespace}
spec:
  rules:
    - host: ${namespace}.contoso.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend: { service: { name: web, port: { number: 80 } } }
`;
}

function containerOf(deployment: KubeObject | undefined): Record<string, unknown> {
  const template = deployment?.spec?.template as
    { spec: { containers: Record<string, unknown>[] } } | undefined;
  const container = template?.spec.containers[0];
  assert.ok(container, 'the deployment has a container');
  return container;
}

async function eventually<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new assert.AssertionError({ message: `timed out waiting for ${what}` });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('sandbox Kubernetes API server with real kubectl', function () {
  let base: SandboxBase;
  let cluster: KubernetesCluster;
  let kubectl: KubectlSession;
  let sessions: KubectlSession[] = [];

  const session = (kubeconfig = cluster.kubeconfig()): KubectlSession => {
    const created = kubectlSession({
      parentDirectory: base.directory,
      kubeconfig,
      environment: base.clientEnvironment,
    });
    sessions.push(created);
    return created;
  };

  /** Writes a manifest file into the session folder and applies it (extra args e.g. --server-side). */
  const apply = async (manifest: string, ...args: string[]): Promise<string> => {
    const file = path.join(path.dirname(kubectl.kubeconfigPath), `manifest-${Date.now()}.yaml`);
    fs.writeFileSync(file, manifest);
    return kubectl.ok(['apply', '-f', file, ...args]);
  };

  sandboxSuite(async (started, keep) => {
    base = started;
    cluster = await keep(
      startKubernetesCluster({
        tls: base.serverTls,
        certificateAuthority: base.ca.root.certificate,
        hostName: HOST,
      }),
    );
    base.proxy.route(HOST, cluster.port);
  });

  beforeEach(function () {
    kubectl = session();
  });

  afterEach(function () {
    for (const s of sessions) s.dispose();
    sessions = [];
    assert.deepEqual(cluster.controller.errors, [], 'the controller reconciles without errors');
  });

  it('rejects a wrong bearer token with a 401 Status, so kubectl says to log in', async function () {
    const intruder = session(cluster.kubeconfig({ credential: { token: 'not-a-valid-token' } }));

    const result = await intruder.run(['get', 'namespaces']);

    assert.notEqual(result.exitCode, 0);
    assert.match(result.stderr, /You must be logged in to the server/);
    assert.ok(cluster.requests.some((r) => r.status === 401 && r.user === undefined));
  });

  it('applies a multi-document manifest client-side, creating every object with its metadata', async function () {
    const output = await apply(appManifest({ namespace: 'create', image: 'contoso.azurecr.io/web:1' }));

    assert.match(output, /namespace\/create created/);
    assert.match(output, /deployment\.apps\/web created/);
    assert.match(output, /service\/web created/);
    assert.match(output, /configmap\/web-settings created/);
    assert.match(output, /ingress\.networking\.k8s\.io\/web created/);
    const deployment = cluster.store.getByKind('Deployment', 'create', 'web');
    assert.ok(
      deployment?.metadata.uid &&
        deployment.metadata.creationTimestamp &&
        deployment.metadata.resourceVersion,
    );
    assert.equal(deployment.metadata.generation, 1);
    assert.match(
      deployment.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] ?? '',
      /contoso\.azurecr\.io\/web:1/,
    );
    const creates = cluster.requests.filter(
      (r) => r.method === 'POST' && r.path.includes('/namespaces/create/'),
    );
    assert.ok(creates.every((r) => r.query.includes('fieldManager=kubectl-client-side-apply')));
  });

  it('re-applies a changed image as a strategic merge patch that merges containers and env by name', async function () {
    await apply(appManifest({ namespace: 'patch', image: 'contoso.azurecr.io/web:1' }));
    const before = cluster.store.getByKind('Deployment', 'patch', 'web');

    const output = await apply(
      appManifest({ namespace: 'patch', image: 'contoso.azurecr.io/web:2', envB: 'changed' }),
    );

    assert.match(output, /deployment\.apps\/web configured/);
    assert.match(output, /service\/web unchanged/);
    const patch = cluster.requests.find(
      (r) => r.method === 'PATCH' && r.path === '/apis/apps/v1/namespaces/patch/deployments/web',
    );
    assert.equal(patch?.contentType, 'application/strategic-merge-patch+json');
    const after = cluster.store.getByKind('Deployment', 'patch', 'web');
    assert.equal(after?.metadata.generation, 2);
    assert.notEqual(after?.metadata.resourceVersion, before?.metadata.resourceVersion);
    const container = containerOf(after);
    assert.equal(container.image, 'contoso.azurecr.io/web:2');
    assert.deepEqual(container.env, [
      { name: 'A', value: '1' },
      { name: 'B', value: 'changed' },
    ]);
    assert.deepEqual(
      container.ports,
      [{ containerPort: 8080, protocol: 'TCP' }],
      'defaults set by the server survive the patch',
    );
  });

  it('applies server-side: creates when absent, then updates, with the field manager kubectl names', async function () {
    const created = await apply(
      appManifest({ namespace: 'ssa', image: 'contoso.azurecr.io/web:1' }),
      '--server-side',
    );
    const updated = await apply(
      appManifest({ namespace: 'ssa', image: 'contoso.azurecr.io/web:2' }),
      '--server-side',
    );

    assert.match(created, /deployment\.apps\/web serverside-applied/);
    assert.match(updated, /deployment\.apps\/web serverside-applied/);
    const applies = cluster.requests.filter(
      (r) => r.path === '/apis/apps/v1/namespaces/ssa/deployments/web' && r.method === 'PATCH',
    );
    assert.equal(applies.length, 2);
    assert.ok(
      applies.every(
        (r) => r.contentType === 'application/apply-patch+yaml' && /fieldManager=kubectl(&|$)/.test(r.query),
      ),
    );
    assert.equal(applies[0]?.status, 201);
    assert.equal(
      containerOf(cluster.store.getByKind('Deployment', 'ssa', 'web')).image,
      'contoso.azurecr.io/web:2',
    );
  });

  it('validates a --dry-run=server apply without storing anything', async function () {
    await apply(appManifest({ namespace: 'dry', image: 'contoso.azurecr.io/web:1' }));
    await kubectl.ok(['rollout', 'status', 'deployment/web', '-n', 'dry', '--timeout=20s']);
    const before = cluster.store.getByKind('Deployment', 'dry', 'web');

    const output = await apply(
      appManifest({ namespace: 'dry', image: 'contoso.azurecr.io/web:2' }),
      '--dry-run=server',
    );

    assert.match(output, /deployment\.apps\/web configured \(server dry run\)/);
    assert.ok(
      cluster.requests.some(
        (r) =>
          r.method === 'PATCH' && r.path.endsWith('/dry/deployments/web') && r.query.includes('dryRun=All'),
      ),
    );
    assert.deepEqual(cluster.store.getByKind('Deployment', 'dry', 'web'), before);
  });

  it('rejects an invalid object with 422 and the field that is wrong', async function () {
    await apply(appManifest({ namespace: 'invalid', image: 'contoso.azurecr.io/web:1' }));
    const broken = appManifest({ namespace: 'invalid', image: 'contoso.azurecr.io/web:1' }).replace(
      'labels: { app: web }\n    spec:',
      'labels: { app: other }\n    spec:',
    );
    const file = path.join(path.dirname(kubectl.kubeconfigPath), 'broken.yaml');
    fs.writeFileSync(file, broken);

    const result = await kubectl.run(['apply', '-f', file]);

    assert.notEqual(result.exitCode, 0);
    assert.match(result.stderr, /spec\.template\.metadata\.labels: Invalid value/);
  });

  it('waits out a rollout with kubectl rollout status, which lists then watches', async function () {
    cluster.setImageBehaviour('contoso.azurecr.io/web:slow', { kind: 'ready', delayMs: 1500 });
    await apply(appManifest({ namespace: 'rollout', image: 'contoso.azurecr.io/web:slow' }));

    const result = await kubectl.run([
      'rollout',
      'status',
      'deployment/web',
      '-n',
      'rollout',
      '--timeout=20s',
    ]);

    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, /Waiting for deployment "web" rollout to finish/);
    assert.match(result.stdout, /deployment "web" successfully rolled out/);
    assert.ok(
      cluster.requests.some(
        (r) => r.path === '/apis/apps/v1/namespaces/rollout/deployments' && r.query.includes('watch=true'),
      ),
    );
    const status = cluster.store.getByKind('Deployment', 'rollout', 'web')?.status as Record<string, unknown>;
    assert.equal(status.availableReplicas, 2);
    assert.deepEqual(
      (status.conditions as { type: string; reason: string }[]).map((c) => `${c.type}:${c.reason}`),
      ['Available:MinimumReplicasAvailable', 'Progressing:NewReplicaSetAvailable'],
    );
  });

  it('fails rollout status when pods hit ImagePullBackOff and the progress deadline passes, then rolls back with undo', async function () {
    await apply(
      appManifest({ namespace: 'broken', image: 'contoso.azurecr.io/web:1', progressDeadlineSeconds: 2 }),
    );
    await kubectl.ok(['rollout', 'status', 'deployment/web', '-n', 'broken', '--timeout=20s']);
    cluster.setImageBehaviour('contoso.azurecr.io/web:missing', { kind: 'imagePullBackOff' });
    await apply(
      appManifest({
        namespace: 'broken',
        image: 'contoso.azurecr.io/web:missing',
        progressDeadlineSeconds: 2,
      }),
    );

    const failed = await kubectl.run([
      'rollout',
      'status',
      'deployment/web',
      '-n',
      'broken',
      '--timeout=20s',
    ]);

    assert.notEqual(failed.exitCode, 0);
    assert.match(failed.stderr, /deployment "web" exceeded its progress deadline/);
    assert.ok(failed.durationMs < 8000, `failed after ${failed.durationMs} ms`);
    const pods = JSON.parse(await kubectl.ok(['get', 'pods', '-n', 'broken', '-o', 'json'])) as {
      items: KubeObject[];
    };
    const waiting = pods.items.flatMap((p) =>
      (p.status?.containerStatuses as { image: string; state: { waiting?: { reason: string } } }[]).filter(
        (c) => c.image.endsWith(':missing'),
      ),
    );
    assert.equal(waiting.length, 2);
    assert.ok(waiting.every((c) => c.state.waiting?.reason === 'ImagePullBackOff'));
    const events = await kubectl.ok(['get', 'events', '-n', 'broken', '-o', 'json']);
    assert.match(events, /Failed to pull image \\"contoso\.azurecr\.io\/web:missing\\"/);
    const history = await kubectl.ok(['rollout', 'history', 'deployment/web', '-n', 'broken']);
    assert.match(history, /^1\s/m);
    assert.match(history, /^2\s/m);

    const undo = await kubectl.ok(['rollout', 'undo', 'deployment/web', '-n', 'broken']);

    assert.match(undo, /deployment\.apps\/web rolled back/);
    const undoPatch = cluster.requests
      .filter((r) => r.method === 'PATCH' && r.path === '/apis/apps/v1/namespaces/broken/deployments/web')
      .at(-1);
    assert.equal(
      undoPatch?.contentType,
      'application/json-patch+json',
      'kubectl 1.32 rolls back client-side with a JSON patch',
    );
    assert.equal(
      containerOf(cluster.store.getByKind('Deployment', 'broken', 'web')).image,
      'contoso.azurecr.io/web:1',
    );
    await kubectl.ok(['rollout', 'status', 'deployment/web', '-n', 'broken', '--timeout=20s']);
    const revisions = await kubectl.ok(['rollout', 'history', 'deployment/web', '-n', 'broken']);
    assert.match(revisions, /^2\s/m);
    assert.match(revisions, /^3\s/m, 'the restored ReplicaSet becomes revision 3');
    assert.doesNotMatch(revisions, /^1\s/m);
  });

  it('shows the LoadBalancer IP in kubectl get svc -o json and an address on the Ingress', async function () {
    await apply(appManifest({ namespace: 'network', image: 'contoso.azurecr.io/web:1' }));

    const ip = await eventually('the load balancer IP', async () => {
      const service = JSON.parse(
        await kubectl.ok(['get', 'svc', 'web', '-n', 'network', '-o', 'json']),
      ) as KubeObject;
      const ingress = (service.status?.loadBalancer as { ingress?: { ip: string }[] }).ingress;
      return ingress?.[0]?.ip;
    });

    assert.match(ip, /^20\.\d+\.\d+\.\d+$/);
    const ingress = JSON.parse(
      await kubectl.ok(['get', 'ingress', 'web', '-n', 'network', '-o', 'json']),
    ) as KubeObject;
    assert.equal((ingress.spec?.rules as { host: string }[])[0]?.host, 'network.contoso.com');
    await eventually('the ingress address', () =>
      (cluster.store.getByKind('Ingress', 'network', 'web')?.status?.loadBalancer as { ingress?: unknown[] })
        .ingress?.length
        ? true
        : undefined,
    );
    const table = await kubectl.ok(['get', 'svc', 'web', '-n', 'network']);
    assert.match(
      table,
      new RegExp(`web\\s+LoadBalancer\\s+10\\.0\\.\\d+\\.\\d+\\s+${ip.replace(/\./g, '\\.')}\\s+80:\\d+/TCP`),
    );
  });

  it('reports CrashLoopBackOff with growing restart counts, and serves pod logs', async function () {
    cluster.setImageBehaviour('contoso.azurecr.io/web:crash', { kind: 'crashLoopBackOff', delayMs: 20 });
    await apply(appManifest({ namespace: 'crash', image: 'contoso.azurecr.io/web:crash', replicas: 1 }));

    const status = await eventually('a second restart', async () => {
      const pods = JSON.parse(await kubectl.ok(['get', 'pods', '-n', 'crash', '-o', 'json'])) as {
        items: KubeObject[];
      };
      const container = (
        pods.items[0]?.status?.containerStatuses as
          { restartCount: number; state: { waiting?: { reason: string } } }[] | undefined
      )?.[0];
      return container !== undefined && container.restartCount >= 2 ? container : undefined;
    });

    assert.equal(status.state.waiting?.reason, 'CrashLoopBackOff');
    const logs = await kubectl.ok(['logs', 'deployment/web', '-n', 'crash']);
    assert.match(logs, /starting contoso\.azurecr\.io\/web:crash/);
  });

  it('completes a Job, fails one past its backoff limit, and rolls out a StatefulSet and a DaemonSet', async function () {
    cluster.setImageBehaviour('contoso.azurecr.io/migrate:bad', { kind: 'crashLoopBackOff', delayMs: 20 });
    await apply(`apiVersion: v1
kind: Namespace
metadata: { name: batch }
---
apiVersion: batch/v1
kind: Job
metadata: { name: migrate, namespace: batch }
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: migrate, image: "contoso.azurecr.io/migrate:1" }]
---
apiVersion: batch/v1
kind: Job
metadata: { name: broken, namespace: batch }
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{ name: migrate, image: "contoso.azurecr.io/migrate:bad" }]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db, namespace: batch }
spec:
  replicas: 2
  serviceName: db
  selector: { matchLabels: { app: db } }
  template:
    metadata: { labels: { app: db } }
    spec:
      containers: [{ name: db, image: "postgres:16" }]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: agent, namespace: batch }
spec:
  selector: { matchLabels: { app: agent } }
  template:
    metadata: { labels: { app: agent } }
    spec:
      containers: [{ name: agent, image: "contoso.azurecr.io/agent:1" }]
`);

    const [complete, failed, statefulSet, daemonSet] = await Promise.all([
      kubectl.run(['wait', '--for=condition=complete', 'job/migrate', '-n', 'batch', '--timeout=15s']),
      kubectl.run(['wait', '--for=condition=failed', 'job/broken', '-n', 'batch', '--timeout=15s']),
      kubectl.run(['rollout', 'status', 'statefulset/db', '-n', 'batch', '--timeout=15s']),
      kubectl.run(['rollout', 'status', 'daemonset/agent', '-n', 'batch', '--timeout=15s']),
    ]);

    assert.equal(complete.exitCode, 0, complete.stderr);
    assert.equal(failed.exitCode, 0, failed.stderr);
    assert.equal(statefulSet.exitCode, 0, statefulSet.stderr);
    assert.equal(daemonSet.exitCode, 0, daemonSet.stderr);
    const brokenJob = cluster.store.getByKind('Job', 'batch', 'broken');
    assert.ok(
      (brokenJob?.status?.conditions as { type: string; reason?: string }[]).some(
        (c) => c.type === 'Failed' && c.reason === 'BackoffLimitExceeded',
      ),
    );
    assert.equal(brokenJob?.status?.failed, 2);
    assert.equal(cluster.store.getByKind('Job', 'batch', 'migrate')?.status?.succeeded, 1);
    assert.match(daemonSet.stdout, /daemon set "agent" successfully rolled out/);
  });

  it('deletes a namespace with everything in it', async function () {
    await apply(appManifest({ namespace: 'doomed', image: 'contoso.azurecr.io/web:1' }));

    await kubectl.ok(['delete', 'namespace', 'doomed']);

    assert.equal(cluster.store.getByKind('Namespace', undefined, 'doomed'), undefined);
    assert.deepEqual(cluster.store.listByKind('Deployment', 'doomed'), []);
    await eventually('pods gone', () =>
      cluster.store.listByKind('Pod', 'doomed').length === 0 ? true : undefined,
    );
  });
});

describe('sandbox Kubernetes patch and selector semantics', function () {
  it('merges containers and env by name and honours kubectl directives in a strategic merge patch', function () {
    const live = {
      spec: {
        containers: [
          {
            name: 'web',
            image: 'web:1',
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
          },
          { name: 'sidecar', image: 'proxy:1' },
        ],
        finalizers: ['a'],
      },
    };
    const patch = {
      spec: {
        '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'web' }],
        containers: [
          {
            name: 'web',
            image: 'web:2',
            env: [
              { name: 'B', $patch: 'delete' },
              { name: 'C', value: '3' },
            ],
          },
        ],
        finalizers: ['b'],
      },
    };

    const merged = strategicMergePatch(live, patch) as typeof live;

    assert.deepEqual(
      merged.spec.containers.map((c) => c.name),
      ['sidecar', 'web'],
    );
    assert.deepEqual(merged.spec.containers[1], {
      name: 'web',
      image: 'web:2',
      env: [
        { name: 'A', value: '1' },
        { name: 'C', value: '3' },
      ],
    });
    assert.deepEqual(merged.spec.finalizers, ['a', 'b']);
  });

  it('applies JSON patches and removes fields a server-side apply no longer sets', function () {
    const patched = jsonPatch({ metadata: { annotations: { a: '1' } }, spec: { replicas: 1 } }, [
      { op: 'replace', path: '/spec/replicas', value: 3 },
      { op: 'add', path: '/metadata/annotations/b', value: '2' },
      { op: 'test', path: '/spec/replicas', value: 3 },
    ]);
    assert.deepEqual(patched, { metadata: { annotations: { a: '1', b: '2' } }, spec: { replicas: 3 } });
    assert.throws(
      () => jsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }]),
      /testing value \/a failed/,
    );

    const previous = { data: { kept: 'x', dropped: 'y' } };
    const live = { data: { kept: 'x', dropped: 'y', other: 'z' } };
    assert.deepEqual(serverSideApply(live, { data: { kept: 'x2' } }, previous), {
      data: { kept: 'x2', other: 'z' },
    });
  });

  it('parses label selectors with set operators and field selectors on dotted paths', function () {
    const select = parseLabelSelector('app in (web, api),tier!=db,!canary');
    assert.equal(select({ app: 'web', tier: 'front' }), true);
    assert.equal(select({ app: 'api', canary: 'yes' }), false);
    assert.equal(select({ app: 'job' }), false);
    const byName = parseFieldSelector('metadata.name=web,status.phase!=Failed');
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, status: { phase: 'Running' } };
    assert.equal(byName(pod), true);
    assert.equal(byName({ ...pod, status: { phase: 'Failed' } }), false);
  });
});
