import * as assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { FAKES_DIR, assertFailedWith, failureMessage, runL0, type L0Result } from '../../support/l0';
import { servicePrincipalEndpoint, SUBSCRIPTION_ID, CLIENT_ID } from '../../support/fixtures';
import type { EndpointDefinition } from '../../../scripts/agentEnvironment';
import { recordedAksCalls, type FakeAks } from '../../support/fakes/containerService';
import { requestedScopes } from '../../support/fakes/identityTokens';
import { recordedToolLibCalls } from '../../support/fakes/toolLib';

const ARM = 'aks-connection';
const K8S = 'k8s-connection';
const AKS_SERVER_APP = '6dae42f8-4368-4678-94ff-3960e28e3630';
const ENTRY = path.join(__dirname, 'clusterEntry.js');
const RELEASES = 'https://dl.k8s.io/release';
const ARCH = os.arch() === 'x64' ? 'amd64' : os.arch();
const KUBECTL_BYTES = '#!/bin/sh\necho downloaded kubectl\n';
const KUBECTL_SHA = crypto.createHash('sha256').update(KUBECTL_BYTES).digest('hex');

interface ClusterResult {
  kubeconfigPath: string;
  kubectlPath: string;
  env: Record<string, string>;
  serverUrl: string;
  serverVersion: string | undefined;
  kubeconfig: string;
  mode: number;
  removed: boolean;
  /** The kubectl of each first read made, in order, and the path the kept one was made with. */
  reads: string[];
  read: string;
}

function clusterOf(result: L0Result): ClusterResult {
  const line = result.stdout.split(/\r?\n/).find((l) => l.startsWith('##l0-cluster '));
  assert.ok(line !== undefined, failureMessage(result) ?? 'no ##l0-cluster line');
  return JSON.parse(line.slice('##l0-cluster '.length)) as ClusterResult;
}

/** The kubeconfig's current user, as written for kubectl. */
function currentUser(kubeconfig: string): Record<string, unknown> {
  const document = YAML.parse(kubeconfig) as {
    'current-context': string;
    contexts: { name: string; context: { user: string } }[];
    users: { name: string; user: Record<string, unknown> }[];
  };
  const context = document.contexts.find((c) => c.name === document['current-context']);
  return document.users.find((u) => u.name === context?.context.user)?.user ?? {};
}

function aksKubeconfig(server: string, user: Record<string, unknown>): string {
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'aks-staging', cluster: { server, 'certificate-authority-data': 'Q0EtREFUQQ==' } }],
    contexts: [
      { name: 'aks-staging', context: { cluster: 'aks-staging', user: 'clusterUser_rg_aks-staging' } },
    ],
    'current-context': 'aks-staging',
    users: [{ name: 'clusterUser_rg_aks-staging', user }],
  });
}

const KUBELOGIN_USER = {
  exec: {
    apiVersion: 'client.authentication.k8s.io/v1beta1',
    command: 'kubelogin',
    args: ['get-token', '--login', 'azurecli', '--server-id', AKS_SERVER_APP],
    env: null,
  },
};

/** Asserts `secret` is registered (##vso[task.setsecret]) before any other line shows it. */
function assertRegisteredBeforeShown(result: L0Result, secret: string): void {
  const lines = result.stdout.split(/\r?\n/);
  const registered = lines.findIndex((l) => l === `##vso[task.setsecret]${secret}`);
  assert.ok(registered >= 0, `'${secret}' is registered`);
  const shown = lines.findIndex((l) => !l.startsWith('##vso[task.setsecret]') && l.includes(secret));
  assert.ok(shown < 0 || registered < shown, `'${secret}' is registered before line ${shown} shows it`);
}

describe('connectToCluster (L0)', function () {
  this.timeout(60_000);
  let work: string;
  let emptyPath: string;
  let versionServer: ChildProcessWithoutNullStreams;
  let serverLog: string[];
  let server: string;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'l0-cluster-'));
    emptyPath = path.join(work, 'empty-path');
    fs.mkdirSync(emptyPath);
    serverLog = [];
    versionServer = spawn(process.execPath, [path.join(__dirname, 'versionServer.js'), 'v1.32.4']);
    const port = await new Promise<string>((resolve, reject) => {
      let buffered = '';
      versionServer.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          if (/^\d+$/.test(line)) resolve(line);
          else serverLog.push(line);
        }
      });
      versionServer.once('error', reject);
    });
    server = `http://127.0.0.1:${port}`;
  });

  after(() => {
    versionServer.kill();
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** The requests the API server stand-in logged, once `done` says they are all in (its output arrives late). */
  async function serverRequests(
    done: (log: { path: string; authorization: string | null }[]) => boolean,
  ): Promise<{ path: string; authorization: string | null }[]> {
    const parsed = (): { path: string; authorization: string | null }[] =>
      serverLog.map((line) => JSON.parse(line) as { path: string; authorization: string | null });
    for (let attempt = 0; attempt < 50 && !done(parsed()); attempt++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    return parsed();
  }

  /** A folder holding a `kubectl` that reports `version`, for PATH. */
  function kubectlOnPath(version: string): string {
    const folder = fs.mkdtempSync(path.join(work, 'path-'));
    fs.writeFileSync(
      path.join(folder, 'kubectl'),
      `#!/bin/sh\necho '${JSON.stringify({ clientVersion: { gitVersion: `v${version}` } })}'\n`,
      { mode: 0o755 },
    );
    return folder;
  }

  interface Run {
    inputs: Record<string, string>;
    endpoints?: Record<string, EndpointDefinition>;
    aks?: FakeAks;
    downloads?: Record<string, string | number>;
    pathFolder?: string;
    toolsDirectory?: string;
    /** `fail`: the first read fails. */
    read?: 'fail';
  }

  async function run(options: Run): Promise<L0Result & { temp: string; tools: string }> {
    const temp = fs.mkdtempSync(path.join(work, 'temp-'));
    const tools = options.toolsDirectory ?? fs.mkdtempSync(path.join(work, 'tools-'));
    const result = await runL0({
      task: 'deploy-aks-template',
      entry: ENTRY,
      inputs: options.inputs,
      endpoints: options.endpoints ?? { [ARM]: servicePrincipalEndpoint() },
      env: {
        AGENT_TEMPDIRECTORY: temp,
        AGENT_TOOLSDIRECTORY: tools,
        PATH: options.pathFolder ?? emptyPath,
        FAKE_AKS: JSON.stringify(options.aks ?? {}),
        FAKE_DOWNLOADS: JSON.stringify(options.downloads ?? {}),
        ...(options.read === undefined ? {} : { L0_READ: options.read }),
      },
      mocks: {
        '@azure/identity': path.join(FAKES_DIR, 'identityTokens.js'),
        '@azure/arm-containerservice': path.join(FAKES_DIR, 'containerService.js'),
        'azure-pipelines-tool-lib/tool': path.join(FAKES_DIR, 'toolLib.js'),
      },
    });
    return { ...result, temp, tools };
  }

  const armInputs = { azureSubscription: ARM, resourceGroup: 'rg-staging', cluster: 'aks-staging' };

  describe('Azure Resource Manager', () => {
    it("gets the cluster user's kubeconfig from ARM and writes it, 0600, to the agent temp folder", async () => {
      const kubectlFolder = kubectlOnPath('1.31.2');
      const result = await run({
        inputs: armInputs,
        aks: { kubeconfig: aksKubeconfig(server, { token: 'user-token-0123456789' }) },
        pathFolder: kubectlFolder,
      });
      assert.ok(result.succeeded, failureMessage(result));
      assert.deepEqual(recordedAksCalls(result.stdout), [
        {
          call: 'constructor',
          detail: {
            subscriptionId: SUBSCRIPTION_ID,
            endpoint: 'https://management.azure.com',
            credentials: { scopes: ['https://management.azure.com/.default'] },
          },
        },
        {
          call: 'listClusterUserCredentials',
          detail: { resourceGroup: 'rg-staging', name: 'aks-staging', options: { format: 'exec' } },
        },
      ]);
      const cluster = clusterOf(result);
      assert.equal(path.dirname(cluster.kubeconfigPath), result.temp);
      assert.equal(cluster.mode, 0o600);
      assert.ok(cluster.removed, 'dispose removed the kubeconfig');
      assert.deepEqual(currentUser(cluster.kubeconfig), { token: 'user-token-0123456789' });
      assert.equal(cluster.serverUrl, server);
      assert.equal(cluster.serverVersion, '1.32.4');
      assert.equal(cluster.kubectlPath, path.join(kubectlFolder, 'kubectl'));
      assert.deepEqual(Object.keys(cluster.env), ['KUBECACHEDIR']);
      assert.equal(path.dirname(cluster.env['KUBECACHEDIR'] ?? ''), result.temp);
      assert.deepEqual(requestedScopes(result.stdout), []);
      assertRegisteredBeforeShown(result, 'user-token-0123456789');
      assert.match(result.stdout, /loc_mock_KubectlOnPath 1\.31\.2 .*kubectl 1\.32\.4/);
    });

    it('asks for the admin credentials with useClusterAdmin', async () => {
      const result = await run({
        inputs: { ...armInputs, useClusterAdmin: 'true' },
        aks: { kubeconfig: aksKubeconfig(server, { token: 'admin-token-0123456789' }) },
        pathFolder: kubectlOnPath('1.32.0'),
      });
      assert.ok(result.succeeded, failureMessage(result));
      assert.deepEqual(
        recordedAksCalls(result.stdout).filter((c) => c.call !== 'constructor'),
        [
          {
            call: 'listClusterAdminCredentials',
            detail: { resourceGroup: 'rg-staging', name: 'aks-staging' },
          },
        ],
      );
      assert.deepEqual(currentUser(clusterOf(result).kubeconfig), { token: 'admin-token-0123456789' });
    });

    it("replaces an Entra ID cluster's kubelogin user by a token from the connection's credential", async () => {
      const result = await run({
        inputs: armInputs,
        aks: { kubeconfig: aksKubeconfig(server, KUBELOGIN_USER) },
        pathFolder: kubectlOnPath('1.32.0'),
      });
      assert.ok(result.succeeded, failureMessage(result));
      const token = `token-for ${AKS_SERVER_APP}/.default`;
      assert.deepEqual(requestedScopes(result.stdout), [`${AKS_SERVER_APP}/.default`]);
      assert.deepEqual(currentUser(clusterOf(result).kubeconfig), { token });
      assert.doesNotMatch(clusterOf(result).kubeconfig, /kubelogin/);
      assertRegisteredBeforeShown(result, token);
      const authorizations = await serverRequests((log) =>
        log.some((request) => request.authorization === `Bearer ${token}`),
      );
      assert.ok(
        authorizations.some((request) => request.authorization === `Bearer ${token}`),
        'the API server was asked for its version with the token',
      );
    });

    it('names the cluster, group, subscription and the role to assign when ARM refuses', async () => {
      const result = await run({
        inputs: armInputs,
        aks: { error: { statusCode: 403, code: 'AuthorizationFailed', message: 'no' } },
      });
      assertFailedWith(
        result,
        `loc_mock_AksClusterAccessDenied ${ARM} ${CLIENT_ID} aks-staging rg-staging ${SUBSCRIPTION_ID} Azure Kubernetes Service Cluster User Role`,
      );
    });

    it('names the admin role when the admin credentials are refused', async () => {
      const result = await run({
        inputs: { ...armInputs, useClusterAdmin: 'true' },
        aks: { error: { statusCode: 403, code: 'AuthorizationFailed', message: 'no' } },
      });
      assertFailedWith(
        result,
        `loc_mock_AksClusterAccessDenied ${ARM} ${CLIENT_ID} aks-staging rg-staging ${SUBSCRIPTION_ID} Azure Kubernetes Service Cluster Admin Role`,
      );
    });

    it('says the cluster was not found, naming cluster, group and subscription', async () => {
      const result = await run({
        inputs: armInputs,
        aks: {
          error: { statusCode: 404, code: 'ResourceNotFound', message: 'The Resource … was not found.' },
        },
      });
      assertFailedWith(result, `loc_mock_AksClusterNotFound aks-staging rg-staging ${SUBSCRIPTION_ID}`);
    });
  });

  describe('Kubernetes service connection', () => {
    it('takes its kubeconfig and the context the connection names', async () => {
      const kubeconfig = YAML.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'other', cluster: { server: 'https://other.example' } },
          { name: 'staging', cluster: { server } },
        ],
        users: [
          { name: 'other', user: { token: 'other-token-0123456789' } },
          { name: 'deployer', user: { token: 'deployer-token-0123456789' } },
        ],
        contexts: [
          { name: 'other', context: { cluster: 'other', user: 'other' } },
          { name: 'staging', context: { cluster: 'staging', user: 'deployer' } },
        ],
        'current-context': 'other',
      });
      const result = await run({
        inputs: { connectionType: 'kubernetesServiceConnection', kubernetesServiceConnection: K8S },
        endpoints: {
          [K8S]: {
            url: server,
            scheme: 'Kubernetes',
            auth: { kubeconfig, clusterContext: 'staging' },
            data: { authorizationType: 'Kubeconfig' },
          },
        },
        pathFolder: kubectlOnPath('1.33.1'),
      });
      assert.ok(result.succeeded, failureMessage(result));
      const cluster = clusterOf(result);
      assert.equal(cluster.serverUrl, server);
      assert.deepEqual(currentUser(cluster.kubeconfig), { token: 'deployer-token-0123456789' });
      assertRegisteredBeforeShown(result, 'deployer-token-0123456789');
      assertRegisteredBeforeShown(result, 'other-token-0123456789');
    });

    it('builds a kubeconfig from a service account: endpoint URL, base64 token and CA, namespace', async () => {
      const token = 'eyJhbGciOiJSUzI1NiJ9.service-account.signature';
      const result = await run({
        inputs: { connectionType: 'kubernetesServiceConnection', kubernetesServiceConnection: K8S },
        endpoints: {
          [K8S]: {
            url: `${server}/`,
            scheme: 'Token',
            auth: {
              apiToken: Buffer.from(token).toString('base64'),
              serviceAccountCertificate: 'Q0EtREFUQQ==',
            },
            data: { authorizationType: 'ServiceAccount', namespace: 'staging' },
          },
        },
        pathFolder: kubectlOnPath('1.32.4'),
      });
      assert.ok(result.succeeded, failureMessage(result));
      const document = YAML.parse(clusterOf(result).kubeconfig) as unknown;
      assert.deepEqual(document, {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'kubernetes-service-connection',
            cluster: { server, 'certificate-authority-data': 'Q0EtREFUQQ==' },
          },
        ],
        users: [{ name: 'kubernetes-service-connection', user: { token } }],
        contexts: [
          {
            name: 'kubernetes-service-connection',
            context: {
              cluster: 'kubernetes-service-connection',
              user: 'kubernetes-service-connection',
              namespace: 'staging',
            },
          },
        ],
        'current-context': 'kubernetes-service-connection',
      });
      assertRegisteredBeforeShown(result, token);
    });
  });

  describe('kubeconfig file', () => {
    it('honours its current-context, copies it and leaves the original untouched', async () => {
      const folder = fs.mkdtempSync(path.join(work, 'user-'));
      const file = path.join(folder, 'config');
      const text = YAML.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'dev', cluster: { server, 'certificate-authority': 'certs/ca.crt' } }],
        users: [{ name: 'dev', user: { token: 'file-token-0123456789' } }],
        contexts: [{ name: 'dev', context: { cluster: 'dev', user: 'dev' } }],
        'current-context': 'dev',
      });
      fs.writeFileSync(file, text);
      const result = await run({
        inputs: { connectionType: 'kubeconfig', kubeconfig: file },
        pathFolder: kubectlOnPath('1.32.4'),
      });
      // The CA file does not exist, so the version request fails; the kubeconfig is still written.
      assert.ok(result.succeeded, failureMessage(result));
      const cluster = clusterOf(result);
      const written = YAML.parse(cluster.kubeconfig) as { clusters: { cluster: Record<string, unknown> }[] };
      assert.equal(
        written.clusters[0]?.cluster['certificate-authority'],
        path.join(folder, 'certs', 'ca.crt'),
      );
      assert.notEqual(cluster.kubeconfigPath, file);
      assert.equal(fs.readFileSync(file, 'utf8'), text);
      assert.equal(cluster.serverVersion, undefined);
      assertRegisteredBeforeShown(result, 'file-token-0123456789');
    });

    it('refuses a kubeconfig without a current-context, naming the input', async () => {
      const file = path.join(fs.mkdtempSync(path.join(work, 'user-')), 'config');
      fs.writeFileSync(file, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
      const result = await run({ inputs: { connectionType: 'kubeconfig', kubeconfig: file } });
      assertFailedWith(result, `loc_mock_KubeconfigNoCurrentContext kubeconfig ${file}`);
    });
  });

  describe('kubectl', () => {
    const fileInputs = (): Record<string, string> => {
      const file = path.join(fs.mkdtempSync(path.join(work, 'user-')), 'config');
      fs.writeFileSync(
        file,
        YAML.stringify({
          clusters: [{ name: 'c', cluster: { server } }],
          users: [{ name: 'u', user: {} }],
          contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
          'current-context': 'c',
        }),
      );
      return { connectionType: 'kubeconfig', kubeconfig: file };
    };
    const url = (version: string): string => `${RELEASES}/v${version}/bin/linux/${ARCH}/kubectl`;

    it("downloads the server's version when the kubectl on PATH is more than one minor version away", async () => {
      const pathFolder = kubectlOnPath('1.30.0');
      const result = await run({
        inputs: fileInputs(),
        pathFolder,
        downloads: { [url('1.32.4')]: KUBECTL_BYTES, [`${url('1.32.4')}.sha256`]: `${KUBECTL_SHA}\n` },
      });
      assert.ok(result.succeeded, failureMessage(result));
      const cluster = clusterOf(result);
      assert.equal(cluster.kubectlPath, path.join(result.tools, 'kubectl', '1.32.4', os.arch(), 'kubectl'));
      assert.equal(fs.readFileSync(cluster.kubectlPath, 'utf8'), KUBECTL_BYTES);
      assert.equal(fs.statSync(cluster.kubectlPath).mode & 0o777, 0o755);
      assert.deepEqual(
        recordedToolLibCalls(result.stdout).map((c) => [c.call, c.detail]),
        [
          ['findLocalTool', { tool: 'kubectl', version: '1.32.4', arch: os.arch(), found: false }],
          ['downloadTool', `${url('1.32.4')}.sha256`],
          ['downloadTool', url('1.32.4')],
          ['cacheFile', { target: 'kubectl', tool: 'kubectl', version: '1.32.4', arch: os.arch() }],
        ],
      );
      assert.match(result.stdout, /loc_mock_KubectlOnPathSkewed 1\.30\.0 .* 1\.32\.4/);
      assert.deepEqual(
        cluster.reads,
        [path.join(pathFolder, 'kubectl'), cluster.kubectlPath],
        'the early read with the kubectl on PATH is made again with the chosen one',
      );
      assert.equal(cluster.read, cluster.kubectlPath, "the task gets the chosen kubectl's read");
    });

    it('keeps the early read when the kubectl on PATH fits the server', async () => {
      const pathFolder = kubectlOnPath('1.33.1');
      const result = await run({ inputs: fileInputs(), pathFolder });
      assert.ok(result.succeeded, failureMessage(result));
      const cluster = clusterOf(result);
      assert.equal(cluster.kubectlPath, path.join(pathFolder, 'kubectl'));
      assert.deepEqual(cluster.reads, [cluster.kubectlPath], 'one read, made while the version was checked');
      assert.equal(cluster.read, cluster.kubectlPath);
      assert.deepEqual(recordedToolLibCalls(result.stdout), [], 'nothing looked up or downloaded');
    });

    it('fails with the first read and leaves neither kubeconfig nor kubectl cache behind', async () => {
      const result = await run({ inputs: fileInputs(), pathFolder: kubectlOnPath('1.33.1'), read: 'fail' });
      assertFailedWith(result, 'the first read failed');
      assert.deepEqual(
        fs.readdirSync(result.temp).filter((name) => /^(kubeconfig|kubecache)-/.test(name)),
        [],
      );
    });

    it('downloads the latest stable kubectl when there is none on PATH and no server answers', async () => {
      const file = path.join(fs.mkdtempSync(path.join(work, 'user-')), 'config');
      fs.writeFileSync(
        file,
        YAML.stringify({
          clusters: [{ name: 'c', cluster: { server: 'http://127.0.0.1:1' } }],
          contexts: [{ name: 'c', context: { cluster: 'c' } }],
          'current-context': 'c',
        }),
      );
      const result = await run({
        inputs: { connectionType: 'kubeconfig', kubeconfig: file },
        downloads: {
          [`${RELEASES}/stable.txt`]: 'v1.33.2',
          [url('1.33.2')]: KUBECTL_BYTES,
          [`${url('1.33.2')}.sha256`]: KUBECTL_SHA,
        },
      });
      assert.ok(result.succeeded, failureMessage(result));
      const cluster = clusterOf(result);
      assert.equal(cluster.serverVersion, undefined);
      assert.equal(cluster.kubectlPath, path.join(result.tools, 'kubectl', '1.33.2', os.arch(), 'kubectl'));
      assert.deepEqual(
        recordedToolLibCalls(result.stdout)
          .filter((c) => c.call === 'downloadTool')
          .map((c) => c.detail),
        [`${RELEASES}/stable.txt`, `${url('1.33.2')}.sha256`, url('1.33.2')],
      );
      assert.match(result.stdout, /loc_mock_ClusterVersionUnknown http:\/\/127\.0\.0\.1:1/);
    });

    it('uses the cached kubectl of the asked version without downloading', async () => {
      const tools = fs.mkdtempSync(path.join(work, 'tools-'));
      const cached = path.join(tools, 'kubectl', '1.31.5', os.arch());
      fs.mkdirSync(cached, { recursive: true });
      fs.writeFileSync(path.join(cached, 'kubectl'), 'cached', { mode: 0o755 });
      fs.writeFileSync(`${cached}.complete`, '');
      const result = await run({
        inputs: { ...fileInputs(), kubectlVersion: 'v1.31.5' },
        pathFolder: kubectlOnPath('1.32.4'),
        toolsDirectory: tools,
      });
      assert.ok(result.succeeded, failureMessage(result));
      assert.equal(clusterOf(result).kubectlPath, path.join(cached, 'kubectl'));
      assert.deepEqual(
        recordedToolLibCalls(result.stdout).map((c) => c.call),
        ['findLocalTool'],
      );
    });

    it('fails naming the version when the download does not match its published SHA-256', async () => {
      const wrong = 'f'.repeat(64);
      const result = await run({
        inputs: { ...fileInputs(), kubectlVersion: '1.32.4' },
        downloads: { [url('1.32.4')]: KUBECTL_BYTES, [`${url('1.32.4')}.sha256`]: wrong },
      });
      assertFailedWith(
        result,
        `loc_mock_KubectlChecksumMismatch 1.32.4 ${url('1.32.4')} ${wrong} ${KUBECTL_SHA}`,
      );
      assert.ok(
        !recordedToolLibCalls(result.stdout).some((c) => c.call === 'cacheFile'),
        'nothing was cached',
      );
      assert.deepEqual(
        fs.readdirSync(result.temp).filter((f) => !f.startsWith('.')),
        [],
        'the download was removed',
      );
    });

    it('fails naming the version and URL when the download is refused', async () => {
      const result = await run({
        inputs: { ...fileInputs(), kubectlVersion: '1.99.0' },
        downloads: { [`${url('1.99.0')}.sha256`]: 404 },
      });
      assertFailedWith(result, `loc_mock_KubectlDownloadFailed 1.99.0 ${url('1.99.0')} HTTP 404`);
    });
  });
});
