// The bundled DeployAksTemplate task run as the agent runs it, with the real kubectl on PATH, against
// the sandbox: AKS clusters (ARM + Kubernetes API stand-in with its controller), Entra ID and the
// dl.k8s.io stand-in, all reached through the sandbox's CONNECT proxy under their real host names.
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTaskAsAgent, type TaskRun } from '../../scripts/agent';
import type { EndpointDefinition } from '../../scripts/agentEnvironment';
import { startSandbox, type Sandbox } from '../../sandbox';
import type { AksCluster } from '../../sandbox/kubernetes/aks';
import type { ApiRequestRecord, KubeObject } from '../../sandbox/kubernetes';
import { startHttpsServer, type RunningServer } from '../../sandbox/httpsServer';
import { AKS_AAD_SERVER_ID } from '../../sandbox/kubernetes/aks';
import { findLeaks } from '../support/leaks';

const CONNECTION = '7e1f0a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b';
const DEPLOYER = { clientId: 'a1b2c3d4-0000-4000-8000-0000000000d1', secret: 'deployer~Secret.42' };
const WEB_REPOSITORY = 'contosononprod.azurecr.io/team/web';
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A Namespace, a Deployment (image, replicas and greeting from inputs), a LoadBalancer Service, a ConfigMap. */
function webTemplate(namespace: string): string {
  return `apiVersion: v1
kind: Namespace
metadata: { name: ${namespace} }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${namespace}, labels: { app: web } }
spec:
  replicas: \${REPLICAS}
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: ${WEB_REPOSITORY}:template
          ports: [{ containerPort: 8080 }]
          env: [{ name: GREETING, value: "\${GREETING}" }]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: ${namespace} }
spec:
  type: LoadBalancer
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: web-settings, namespace: ${namespace} }
data: { greeting: "\${GREETING}" }
`;
}

interface Deploy {
  readonly namespace: string;
  readonly image?: string;
  readonly inputs?: Record<string, string>;
  /** Replaces the web template. */
  readonly template?: string;
  /** The pipeline's secret variables, as the agent hands them to the task. */
  readonly secretVariables?: Record<string, string>;
}

function containerImage(object: KubeObject | undefined): string | undefined {
  const containers = (object?.spec?.template as { spec?: { containers?: { image?: string }[] } } | undefined)
    ?.spec?.containers;
  return containers?.[0]?.image;
}

function containerImageOfPod(pod: KubeObject): string {
  return (pod.spec?.containers as { image?: string }[] | undefined)?.[0]?.image ?? '';
}

/** Text to append to an assertion message, so a failure shows what the task printed. */
function shown(run: TaskRun): string {
  return `\n----- task stdout -----\n${run.stdout}\n----- task stderr -----\n${run.stderr}`;
}

function assertSucceeded(run: TaskRun): void {
  assert.equal(run.result, 'Succeeded', `${run.resultMessage ?? ''}${shown(run)}`);
}

function assertFailed(run: TaskRun, message: RegExp): void {
  assert.equal(run.result, 'Failed', shown(run));
  assert.match(run.resultMessage ?? '', message, shown(run));
}

describe('DeployAksTemplate bundle against the sandbox (real kubectl, AKS and dl.k8s.io through the proxy)', function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  let staging: AksCluster;
  let production: AksCluster;
  let directory: string;
  let kubeconfigFile: string;
  /** Every value no output line may show. */
  let secretValues: string[];

  before(async function () {
    sandbox = await startSandbox({ services: ['entra', 'arm', 'aks', 'kubectlDownloads'] });
    sandbox.entra.registerServicePrincipal(DEPLOYER);
    [staging, production] = await Promise.all([
      sandbox.aks.createCluster({ resourceGroup: 'rg-staging', name: 'aks-staging' }),
      sandbox.aks.createCluster({ resourceGroup: 'rg-production', name: 'aks-production', aadEnabled: true }),
    ]);
    directory = fs.mkdtempSync(path.join(sandbox.base.directory, 'deploy-'));
    kubeconfigFile = path.join(directory, 'kubeconfig');
    fs.writeFileSync(kubeconfigFile, staging.kubernetes.kubeconfig(), { mode: 0o600 });
    secretValues = [
      DEPLOYER.secret,
      ...[staging, production].flatMap((c) => [c.kubernetes.adminToken, c.kubernetes.userToken]),
    ];
  });

  after(async function () {
    await sandbox?.close();
  });

  afterEach(function () {
    assert.deepEqual(sandbox.base.proxy.refused, [], 'no request may leave the sandbox');
    for (const cluster of [staging, production])
      assert.deepEqual(cluster.kubernetes.controller.errors, [], 'the controller reconciles without errors');
  });

  const azureConnection = (): EndpointDefinition => ({
    url: 'https://management.azure.com/',
    scheme: 'ServicePrincipal',
    auth: {
      tenantid: sandbox.base.tenantId,
      serviceprincipalid: DEPLOYER.clientId,
      serviceprincipalkey: DEPLOYER.secret,
      authenticationType: 'spnKey',
    },
    data: { environment: 'AzureCloud', subscriptionId: sandbox.base.subscriptionId },
  });

  /**
   * Writes the deploy's template, runs the bundle (kubeconfig connection to staging unless `inputs`
   * says otherwise) with a temp folder that outlives the run, and checks what every run must do: one
   * result, no secret in any line, the kubeconfig it wrote removed.
   */
  const deploy = async (options: Deploy): Promise<TaskRun> => {
    const run = fs.mkdtempSync(path.join(directory, `${options.namespace}-`));
    const temp = path.join(run, '_temp');
    fs.mkdirSync(temp);
    const template = path.join(run, 'app.yaml');
    fs.writeFileSync(template, options.template ?? webTemplate(options.namespace));
    const result = await runTaskAsAgent({
      task: 'deploy-aks-template',
      inputs: {
        connectionType: 'kubeconfig',
        kubeconfig: kubeconfigFile,
        templates: template,
        images: `${WEB_REPOSITORY}:${options.image ?? '1.0.0'}`,
        variables: 'REPLICAS=2\nGREETING=hello',
        ...options.inputs,
      },
      endpoints: { [CONNECTION]: azureConnection() },
      ...(options.secretVariables === undefined ? {} : { secretVariables: options.secretVariables }),
      // Our own temp folder: runTaskAsAgent removes its own, and the outputs are files in it.
      env: { ...sandbox.environment, AGENT_TEMPDIRECTORY: temp },
    });
    assert.equal(
      result.commands.filter((c) => c.command === 'task.complete').length,
      1,
      `exactly one task.complete${shown(result)}`,
    );
    assert.deepEqual(findLeaks(result.stdout + result.stderr, secretValues), [], 'no secret reaches the log');
    assert.deepEqual(
      fs.readdirSync(temp).filter((name) => name.startsWith('kubeconfig-')),
      [],
      'the kubeconfig the task wrote is removed',
    );
    return result;
  };

  /** The requests `cluster` receives while `act` runs. */
  const requestsDuring = async <T>(
    cluster: AksCluster,
    act: () => Promise<T>,
  ): Promise<{ value: T; requests: ApiRequestRecord[] }> => {
    const from = cluster.requests.length;
    const value = await act();
    return { value, requests: cluster.requests.slice(from) };
  };

  it('deploys and sets renderedManifests, deployedImages with digests, serviceEndpoints and the summary', async function () {
    const run = await deploy({ namespace: 'shop', image: '1.0.0' });

    assertSucceeded(run);
    const deployment = staging.store.getByKind('Deployment', 'shop', 'web');
    assert.equal(containerImage(deployment), `${WEB_REPOSITORY}:1.0.0`);
    assert.equal(deployment?.spec?.replicas, 2);
    assert.equal(
      (staging.store.getByKind('ConfigMap', 'shop', 'web-settings')?.data as { greeting?: string })?.greeting,
      'hello',
    );
    const rendered = fs.readFileSync(run.variables['renderedManifests'] ?? '', 'utf8');
    assert.match(rendered, new RegExp(`image: ${WEB_REPOSITORY}:1\\.0\\.0`));
    assert.doesNotMatch(rendered, /\$\{/);
    const pod = staging.store.listByKind('Pod', 'shop')[0];
    const imageId = (pod?.status?.containerStatuses as { imageID: string }[] | undefined)?.[0]?.imageID ?? '';
    assert.equal(run.variables['deployedImages'], `${WEB_REPOSITORY}:1.0.0@${imageId.split('@')[1] ?? '?'}`);
    const address = (
      staging.store.getByKind('Service', 'shop', 'web')?.status?.loadBalancer as {
        ingress?: { ip: string }[];
      }
    ).ingress?.[0]?.ip;
    assert.match(address ?? '', /^20\.\d+\.\d+\.\d+$/);
    assert.equal(run.variables['serviceEndpoints'], `http://${address ?? ''}:80`);
    const summary = run.commands.find((c) => c.command === 'task.uploadsummary')?.message ?? '';
    const summaryText = fs.readFileSync(summary, 'utf8');
    assert.match(summaryText, /\| Deployment shop\/web \| created \| \d+\.\d s \|/);
    assert.ok(summaryText.includes(run.variables['deployedImages'] ?? '?'), summaryText);
    assert.ok(summaryText.includes(`- http://${address ?? ''}:80`), summaryText);
    assert.ok(
      run.commands.some((c) => c.command === 'task.uploadfile'),
      'the rendered manifests are attached',
    );
    const applies = staging.requests.filter(
      (r) => r.method === 'PATCH' && r.path === '/apis/apps/v1/namespaces/shop/deployments/web',
    );
    assert.ok(applies.length > 0 && applies.every((r) => /fieldManager=azure-pipelines(&|$)/.test(r.query)));
  });

  it('keeps a secret variable that a token put in a ConfigMap out of the attachment and the summary', async function () {
    const greeting = `hello-${crypto.randomBytes(6).toString('hex')}`;
    const run = await deploy({
      namespace: 'masked',
      inputs: { variables: `REPLICAS=2\nGREETING=${greeting}` },
      secretVariables: { greetingSecret: greeting },
    });

    assertSucceeded(run);
    assert.equal(
      (staging.store.getByKind('ConfigMap', 'masked', 'web-settings')?.data as { greeting?: string })
        ?.greeting,
      greeting,
      'the cluster gets the value',
    );
    for (const command of ['task.uploadfile', 'task.uploadsummary']) {
      const file = run.commands.find((c) => c.command === command)?.message ?? '';
      const text = fs.readFileSync(file, 'utf8');
      assert.ok(!text.includes(greeting), `${command} holds no secret:\n${text}`);
    }
    assert.match(
      fs.readFileSync(run.commands.find((c) => c.command === 'task.uploadfile')?.message ?? '', 'utf8'),
      /greeting: '\*\*\*'/,
    );
  });

  it('rides out a dropped connection during the apply and a 503 on the first read, and applies everything', async function () {
    staging.kubernetes.faults.add({ match: { method: 'PATCH' }, resetBeforeResponse: true, times: 1 });
    staging.kubernetes.faults.add({
      match: { method: 'GET', pathPattern: /^\/apis\/apps\/v1\/namespaces\/flaky\/deployments\/web$/ },
      status5xx: 503,
      times: 1,
    });
    try {
      const run = await deploy({ namespace: 'flaky', image: '1.0.0' });

      assertSucceeded(run);
      assert.deepEqual(
        staging.kubernetes.faults.injected.map(({ kinds, method }) => `${kinds.join('+')} ${method}`).sort(),
        ['resetBeforeResponse PATCH', 'status5xx GET'],
        'both faults met the task',
      );
      assert.equal(
        containerImage(staging.store.getByKind('Deployment', 'flaky', 'web')),
        `${WEB_REPOSITORY}:1.0.0`,
      );
      assert.equal(
        (staging.store.getByKind('ConfigMap', 'flaky', 'web-settings')?.data as { greeting?: string })
          ?.greeting,
        'hello',
      );
      assert.match(run.variables['deployedImages'] ?? '', /@sha256:[0-9a-f]{64}$/);
    } finally {
      staging.kubernetes.faults.clear();
    }
  });

  it('fails within seconds on ImagePullBackOff, well before rolloutTimeout, with the events and why there are no logs', async function () {
    staging.setImageBehaviour(`${WEB_REPOSITORY}:missing`, { kind: 'imagePullBackOff' });

    const run = await deploy({ namespace: 'pull', image: 'missing', inputs: { rolloutTimeout: '600' } });

    assertFailed(
      run,
      /^Deployment pull\/web cannot roll out: pod web-[a-z0-9]+-[a-z0-9]+, container web: (ImagePullBackOff|ErrImagePull)/,
    );
    assert.ok(run.durationMs < 15_000, `failed after ${run.durationMs} ms of a 600 s timeout`);
    assert.match(run.stdout, /##\[group\]Diagnostics: Deployment pull\/web/);
    assert.match(run.stdout, /Failed to pull image "contosononprod\.azurecr\.io\/team\/web:missing"/);
    assert.match(
      run.stdout,
      /Container web in pod web-\S+ never started \((ImagePullBackOff|ErrImagePull)\), so it has no logs\./,
    );
    const summary = run.commands.find((c) => c.command === 'task.uploadsummary')?.message ?? '';
    assert.match(
      fs.readFileSync(summary, 'utf8'),
      /\| Deployment pull\/web \| created \|/,
      'a failed deploy has a summary too',
    );
  });

  it("fails within seconds on CrashLoopBackOff and shows the crashed instance's last log lines", async function () {
    staging.setImageBehaviour(`${WEB_REPOSITORY}:crash`, {
      kind: 'crashLoopBackOff',
      delayMs: 20,
      logs: 'listening on :8080\npanic: GREETING_SECRET is not set\n',
    });

    const { value: run, requests } = await requestsDuring(staging, () =>
      deploy({ namespace: 'crash', image: 'crash', inputs: { rolloutTimeout: '600' } }),
    );

    assertFailed(run, /^Deployment crash\/web cannot roll out: pod web-\S+, container web: CrashLoopBackOff/);
    assert.ok(run.durationMs < 15_000, `failed after ${run.durationMs} ms of a 600 s timeout`);
    assert.match(
      run.stdout,
      /Last 50 log lines of the previous instance of container web in pod web-\S+ \(the one that crashed\):/,
    );
    assert.match(run.stdout, /panic: GREETING_SECRET is not set/);
    assert.match(run.stdout, /Back-off restarting failed container/);
    assert.ok(
      requests.some(
        (r) => /\/namespaces\/crash\/pods\/web-[^/]+\/log$/.test(r.path) && /previous=true/.test(r.query),
      ),
      'the logs are those of the previous instance',
    );
  });

  it('fails as soon as a Job gives up, with the failed pod and its last log lines, not at rolloutTimeout', async function () {
    staging.setImageBehaviour(`${WEB_REPOSITORY}:migrate-fails`, {
      kind: 'crashLoopBackOff',
      delayMs: 20,
      logs: 'migrating\nmigration failed: table exists\n',
    });
    const template = `apiVersion: v1
kind: Namespace
metadata: { name: jobs }
---
apiVersion: batch/v1
kind: Job
metadata: { name: migrate, namespace: jobs }
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: ${WEB_REPOSITORY}:template
`;

    const run = await deploy({
      namespace: 'jobs',
      image: 'migrate-fails',
      template,
      inputs: { rolloutTimeout: '600' },
    });

    assertFailed(run, /^Job jobs\/migrate failed: BackoffLimitExceeded/);
    assert.match(run.stdout, /Last 50 log lines of container migrate in pod migrate-\S+/);
    assert.match(run.stdout, /migration failed: table exists/);
  });

  it('rolls back to the previous image under its own field manager, and the next normal deploy succeeds', async function () {
    staging.setImageBehaviour(`${WEB_REPOSITORY}:broken`, { kind: 'imagePullBackOff' });
    assertSucceeded(await deploy({ namespace: 'undo', image: '1.0.0' }));
    const deploymentPath = '/apis/apps/v1/namespaces/undo/deployments/web';

    const { value: failed, requests } = await requestsDuring(staging, () =>
      deploy({ namespace: 'undo', image: 'broken', inputs: { rollbackOnFailure: 'true' } }),
    );

    assertFailed(failed, /ImagePullBackOff|ErrImagePull/);
    assert.match(
      failed.stdout,
      /Rolled back Deployment undo\/web: its pods run the pod template from before this run again\./,
    );
    assert.equal(
      containerImage(staging.store.getByKind('Deployment', 'undo', 'web')),
      `${WEB_REPOSITORY}:1.0.0`,
    );
    const writes = requests.filter((r) => MUTATING.has(r.method) && r.path === deploymentPath);
    assert.equal(writes.length, 2, 'the deploy and the rollback');
    assert.ok(
      writes.every(
        (r) =>
          r.contentType === 'application/apply-patch+yaml' &&
          /fieldManager=azure-pipelines(&|$)/.test(r.query),
      ),
      "no kubectl rollout undo (its JSON patch would make kubectl the image field's manager)",
    );
    const pods = staging.store.listByKind('Pod', 'undo');
    assert.ok(
      pods.length > 0 && pods.every((p) => /:1\.0\.0$/.test(containerImageOfPod(p))),
      'old pods serve',
    );

    const next = await deploy({ namespace: 'undo', image: '1.1.0' });

    assertSucceeded(next);
    assert.equal(
      containerImage(staging.store.getByKind('Deployment', 'undo', 'web')),
      `${WEB_REPOSITORY}:1.1.0`,
    );
    assert.match(next.variables['deployedImages'] ?? '', /:1\.1\.0@sha256:/);
  });

  it('dry run validates server-side and prints the diff, but writes nothing', async function () {
    assertSucceeded(await deploy({ namespace: 'preview', image: '1.0.0' }));
    const before = staging.store.getByKind('Deployment', 'preview', 'web');

    const { value: run, requests } = await requestsDuring(staging, () =>
      deploy({ namespace: 'preview', image: '2.0.0', inputs: { dryRun: 'true' } }),
    );

    assertSucceeded(run);
    assert.match(run.stdout, /Differences with the cluster \(kubectl diff\)/);
    assert.match(
      run.stdout,
      /^\+\s+- image: contosononprod\.azurecr\.io\/team\/web:2\.0\.0$|^\+\s+image: contosononprod\.azurecr\.io\/team\/web:2\.0\.0$/m,
    );
    assert.match(run.stdout, /Dry run: the API server accepted all 4 object\(s\); nothing was changed\./);
    assert.deepEqual(staging.store.getByKind('Deployment', 'preview', 'web'), before);
    const writes = requests.filter((r) => MUTATING.has(r.method));
    assert.ok(writes.length > 0, 'the dry run reached the API server');
    assert.deepEqual(
      writes.filter((r) => !new URLSearchParams(r.query).getAll('dryRun').includes('All')),
      [],
      'every write is a server-side dry run',
    );
  });

  it('dry runs a first deploy into a namespace the template defines, creating nothing', async function () {
    const { value: run, requests } = await requestsDuring(staging, () =>
      deploy({ namespace: 'firstpreview', image: '1.0.0', inputs: { dryRun: 'true' } }),
    );

    assertSucceeded(run);
    assert.match(
      run.stdout,
      /Namespace\(s\) firstpreview do not exist yet, and a dry run creates none: their 3 object\(s\)/,
    );
    assert.match(run.stdout, /deployment\.apps\/web created \(dry run\)/);
    assert.equal(staging.store.getByKind('Namespace', undefined, 'firstpreview'), undefined);
    const writes = requests.filter((r) => MUTATING.has(r.method));
    assert.deepEqual(
      writes.filter((r) => !new URLSearchParams(r.query).getAll('dryRun').includes('All')),
      [],
      'every write is a server-side dry run',
    );
  });

  it('fails on an unresolved token before anything reaches the cluster', async function () {
    const template = webTemplate('tokens').replace('${GREETING}"', '${GREETING}-${REGION}"');

    const { value: run, requests } = await requestsDuring(staging, () =>
      deploy({ namespace: 'tokens', template }),
    );

    assertFailed(run, /uses the token \$\{REGION\}, which input 'variables' does not set/);
    assert.deepEqual(requests, [], 'not even a read');
    assert.equal(staging.store.getByKind('Namespace', undefined, 'tokens'), undefined);
  });

  it('gets the kubeconfig from ARM through the proxy and deploys with the cluster user', async function () {
    const armFrom = sandbox.arm.requests.length;

    const { value: run, requests } = await requestsDuring(staging, () =>
      deploy({
        namespace: 'arm',
        inputs: {
          connectionType: 'azureResourceManager',
          azureSubscription: CONNECTION,
          resourceGroup: 'rg-staging',
          cluster: 'aks-staging',
        },
      }),
    );

    assertSucceeded(run);
    assert.deepEqual(
      sandbox.arm.requests
        .slice(armFrom)
        .map((r) => `${r.method} ${r.path.replace(/^.*\/managedclusters\//i, '')} ${r.status}`),
      ['POST aks-staging/listClusterUserCredential 200'],
    );
    assert.ok(requests.filter((r) => MUTATING.has(r.method)).every((r) => r.user === 'clusterUser'));
    assert.ok(sandbox.base.proxy.connects.includes('management.azure.com:443'));
    assert.ok(sandbox.base.proxy.connects.includes(`${staging.fqdn}:443`));
    assert.equal(
      containerImage(staging.store.getByKind('Deployment', 'arm', 'web')),
      `${WEB_REPOSITORY}:1.0.0`,
    );
  });

  it('deploys to an Entra ID cluster with a token for the AKS server app instead of kubelogin', async function () {
    const tokensFrom = sandbox.entra.requests.length;

    const { value: run, requests } = await requestsDuring(production, () =>
      deploy({
        namespace: 'entra',
        inputs: {
          connectionType: 'azureResourceManager',
          azureSubscription: CONNECTION,
          resourceGroup: 'rg-production',
          cluster: 'aks-production',
        },
      }),
    );

    assertSucceeded(run);
    assert.deepEqual(
      sandbox.entra.requests
        .slice(tokensFrom)
        .filter((r) => r.status === 200)
        .map((r) => r.scope)
        .sort(),
      ['https://management.azure.com/.default', `${AKS_AAD_SERVER_ID}/.default`].sort(),
    );
    const users = new Set(requests.filter((r) => r.path !== '/version').map((r) => r.user));
    assert.equal(users.size, 1);
    assert.ok(![...users][0]?.match(/^cluster(User|Admin)$/), `an Entra identity, not ${[...users].join()}`);
    assert.doesNotMatch(run.stdout + run.stderr, /kubelogin is not installed/);
    assert.equal(
      containerImage(production.store.getByKind('Deployment', 'entra', 'web')),
      `${WEB_REPOSITORY}:1.0.0`,
    );
  });

  it('downloads kubectlVersion 1.32.3 from dl.k8s.io through the proxy and verifies its sha256', async function () {
    const downloadsFrom = sandbox.kubectlDownloads.requests.length;

    const run = await deploy({ namespace: 'pinned', inputs: { kubectlVersion: '1.32.3' } });

    assertSucceeded(run);
    assert.deepEqual(
      sandbox.kubectlDownloads.requests.slice(downloadsFrom).map((r) => `${r.host} ${r.path} ${r.status}`),
      [
        'dl.k8s.io /release/v1.32.3/bin/linux/amd64/kubectl.sha256 302',
        'cdn.dl.k8s.io /release/v1.32.3/bin/linux/amd64/kubectl.sha256 200',
        'dl.k8s.io /release/v1.32.3/bin/linux/amd64/kubectl 302',
        'cdn.dl.k8s.io /release/v1.32.3/bin/linux/amd64/kubectl 200',
      ],
    );
    assert.ok(run.stdout.includes(sandbox.kubectlDownloads.binarySha256), 'the verified checksum is printed');
    assert.match(run.stdout, /Cluster \S+ \(Kubernetes 1\.32\.4\), context '\S+', kubectl 1\.32\.3\./);
  });

  it('fails a kubectl download whose bytes do not match the published sha256, before any write', async function () {
    // A download site that serves other bytes than the checksum it publishes, as a tampered mirror would.
    const tampered: RunningServer = await startHttpsServer(sandbox.base.serverTls, (request, response) => {
      const body = (request.url ?? '').endsWith('.sha256')
        ? sandbox.kubectlDownloads.binarySha256
        : '#!/bin/sh\necho not kubectl\n';
      response.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body);
    });
    for (const host of ['dl.k8s.io', 'cdn.dl.k8s.io']) sandbox.base.proxy.route(host, tampered.port);
    try {
      const { value: run, requests } = await requestsDuring(staging, () =>
        deploy({ namespace: 'tampered', inputs: { kubectlVersion: '1.32.2' } }),
      );

      assertFailed(run, /^kubectl 1\.32\.2 downloaded from \S+ does not match its published SHA-256/);
      assert.ok(run.resultMessage?.includes(sandbox.kubectlDownloads.binarySha256), run.resultMessage);
      assert.deepEqual(
        requests.filter((r) => MUTATING.has(r.method)),
        [],
      );
    } finally {
      for (const host of ['dl.k8s.io', 'cdn.dl.k8s.io'])
        sandbox.base.proxy.route(host, sandbox.kubectlDownloads.port);
      await tampered.close();
    }
  });
});
