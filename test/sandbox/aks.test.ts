import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { ContainerServiceClient, type ManagedCluster } from '@azure/arm-containerservice';
import * as YAML from 'yaml';
import { AKS_AAD_SERVER_ID, startAks, type AksCluster, type AksSandbox } from '../../sandbox/kubernetes/aks';
import { ARM_AUDIENCES, startArm, type ArmServer } from '../../sandbox/arm';
import type { SandboxBase } from '../../sandbox/base';
import { startKubectlDownloads, type KubectlDownloads } from '../../sandbox/kubernetes/kubectlDownloads';
import { kubectlSession, type KubectlSession } from '../../sandbox/kubernetes';
import { requestThroughProxy } from '../../sandbox/tls/trust';
import { sandboxSuite } from './harness';

const PIPELINE_APP = {
  appid: '5f1c2b3a-0000-4000-8000-00000000a11c',
  oid: '0c1d2e3f-0000-4000-8000-00000000a11c',
};

interface KubeconfigDocument {
  clusters: { name: string; cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { name: string; user: { token?: string; exec?: { command: string; args: string[] } } }[];
}

/** A TokenCredential that hands out sandbox-minted tokens, as Entra would for the pipeline's service principal. */
function sandboxCredential(base: SandboxBase): TokenCredential & { scopes: string[] } {
  const scopes: string[] = [];
  return {
    scopes,
    getToken: (scope): Promise<AccessToken> => {
      const wanted = Array.isArray(scope) ? (scope[0] ?? '') : scope;
      scopes.push(wanted);
      const audience = wanted.replace(/\/\.default$/, '');
      const token = base.tokens.mint({ aud: audience, tid: base.tenantId, ...PIPELINE_APP });
      return Promise.resolve({ token, expiresOnTimestamp: Date.now() + 3_600_000 });
    },
  };
}

async function all<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterator) items.push(item);
  return items;
}

function curl(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'curl',
      args,
      { env: { PATH: process.env.PATH ?? '/usr/bin' }, encoding: 'utf8', timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({
          exitCode: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
          stdout,
          stderr,
        });
      },
    );
  });
}

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: default }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: "contoso.azurecr.io/web:1" }]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec:
  type: LoadBalancer
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
`;

describe('sandbox AKS: ARM managed clusters, credentials and their API servers', function () {
  let base: SandboxBase;
  let arm: ArmServer;
  let aks: AksSandbox;
  let staging: AksCluster;
  let production: AksCluster;
  let client: ContainerServiceClient;
  let credential: ReturnType<typeof sandboxCredential>;
  let sessions: KubectlSession[] = [];

  const session = (kubeconfig: string): KubectlSession => {
    const created = kubectlSession({
      parentDirectory: base.directory,
      kubeconfig,
      environment: base.clientEnvironment,
    });
    sessions.push(created);
    return created;
  };

  sandboxSuite(
    async (started, keep) => {
      base = started;
      arm = await keep(startArm(base));
      aks = await keep(startAks(base, { arm }));
      staging = await aks.createCluster({ resourceGroup: 'rg-staging', name: 'aks-staging' });
      production = await aks.createCluster({
        resourceGroup: 'rg-production',
        name: 'aks-production',
        aadEnabled: true,
        tags: { env: 'production' },
      });
      credential = sandboxCredential(base);
      // core-rest-pipeline parses proxyOptions.host as a URL: it needs the scheme.
      client = new ContainerServiceClient(credential, base.subscriptionId, {
        proxyOptions: { host: 'http://127.0.0.1', port: base.proxy.port },
      });
    },
    { inProcess: true },
  );

  afterEach(function () {
    for (const s of sessions) s.dispose();
    sessions = [];
  });

  it('lists managed clusters by subscription and by resource group with the real SDK', async function () {
    const everywhere = await all(client.managedClusters.list());
    const inStaging = await all(client.managedClusters.listByResourceGroup('rg-staging'));

    assert.deepEqual(everywhere.map((c) => c.name).sort(), ['aks-production', 'aks-staging']);
    assert.deepEqual(
      inStaging.map((c) => c.name),
      ['aks-staging'],
    );
    const listed = inStaging[0] as ManagedCluster;
    assert.equal(listed.fqdn, staging.fqdn);
    assert.match(listed.fqdn ?? '', /^aks-staging-dns-[0-9a-f]{8}\.hcp\.westeurope\.azmk8s\.io$/);
    assert.equal(listed.id, staging.id);
    assert.ok(
      ARM_AUDIENCES.includes(credential.scopes[0]?.replace(/\/\.default$/, '') ?? ''),
      `scope ${credential.scopes[0] ?? ''}`,
    );
  });

  it('gets one cluster, its Entra profile, and a 404 ResourceNotFound for an unknown one', async function () {
    const found = await client.managedClusters.get('rg-production', 'aks-production');

    assert.equal(found.aadProfile?.managed, true);
    assert.equal(found.kubernetesVersion, '1.32.4');
    assert.deepEqual(found.tags, { env: 'production' });
    await assert.rejects(
      client.managedClusters.get('rg-staging', 'aks-nowhere'),
      (error: { statusCode?: number; code?: string; message: string }) => {
        assert.equal(error.statusCode, 404);
        assert.equal(error.code, 'ResourceNotFound');
        assert.match(error.message, /Microsoft\.ContainerService\/managedClusters\/aks-nowhere/);
        return true;
      },
    );
  });

  it('hands out the user kubeconfig that kubectl deploys with, through the proxy, trusting the kubeconfig CA', async function () {
    const credentials = await client.managedClusters.listClusterUserCredentials('rg-staging', 'aks-staging');
    const entry = credentials.kubeconfigs?.[0];
    assert.equal(entry?.name, 'clusterUser');
    const kubeconfig = Buffer.from(entry?.value ?? new Uint8Array()).toString('utf8');
    const document = YAML.parse(kubeconfig) as KubeconfigDocument;
    assert.equal(document.clusters[0]?.cluster.server, `https://${staging.fqdn}:443`);
    assert.equal(
      Buffer.from(document.clusters[0]?.cluster['certificate-authority-data'] ?? '', 'base64').toString(
        'utf8',
      ),
      base.ca.root.certificate,
    );
    assert.equal(document.users[0]?.name, 'clusterUser_rg-staging_aks-staging');
    const kubectl = session(kubeconfig);
    const file = path.join(path.dirname(kubectl.kubeconfigPath), 'app.yaml');
    fs.writeFileSync(file, DEPLOYMENT);

    const applied = await kubectl.ok(['apply', '-f', file]);
    const rolledOut = await kubectl.ok(['rollout', 'status', 'deployment/web', '--timeout=20s']);

    assert.match(applied, /deployment\.apps\/web created/);
    assert.match(rolledOut, /successfully rolled out/);
    assert.ok(staging.requests.some((r) => r.user === 'clusterUser' && r.method === 'POST'));
    assert.ok(base.proxy.connects.includes(`${staging.fqdn}:443`));
    assert.equal(staging.store.getByKind('Deployment', 'default', 'web')?.metadata.name, 'web');
  });

  it('gives an Entra-enabled cluster a kubelogin user kubeconfig, a static admin one, and accepts Entra tokens', async function () {
    const user = await client.managedClusters.listClusterUserCredentials('rg-production', 'aks-production');
    const admin = await client.managedClusters.listClusterAdminCredentials('rg-production', 'aks-production');

    const userDocument = YAML.parse(
      Buffer.from(user.kubeconfigs?.[0]?.value ?? new Uint8Array()).toString('utf8'),
    ) as KubeconfigDocument;
    const exec = userDocument.users[0]?.user.exec;
    assert.equal(exec?.command, 'kubelogin');
    assert.deepEqual(exec?.args, ['get-token', '--login', 'azurecli', '--server-id', AKS_AAD_SERVER_ID]);
    assert.equal(admin.kubeconfigs?.[0]?.name, 'clusterAdmin');
    const adminKubeconfig = Buffer.from(admin.kubeconfigs?.[0]?.value ?? new Uint8Array()).toString('utf8');
    assert.match(adminKubeconfig, /token: [0-9a-f]{64}/);
    assert.match(await session(adminKubeconfig).ok(['get', 'namespaces']), /kube-system/);

    // What a task does with the exec kubeconfig: fetch a token for the AKS server app itself.
    const entraToken = (await credential.getToken(`${AKS_AAD_SERVER_ID}/.default`))?.token ?? '';
    const withEntraToken = production.kubernetes.kubeconfig({ credential: { token: entraToken } });
    assert.match(await session(withEntraToken).ok(['get', 'namespaces']), /default/);
    assert.ok(production.requests.some((r) => r.user === PIPELINE_APP.oid));
    const armToken = (await credential.getToken('https://management.azure.com/.default'))?.token ?? '';
    const refused = await session(production.kubernetes.kubeconfig({ credential: { token: armToken } })).run([
      'get',
      'namespaces',
    ]);
    assert.notEqual(refused.exitCode, 0, 'a token for another audience is refused');
  });

  it('shows the LoadBalancer address kubectl reports for a deployed Service', async function () {
    const kubectl = session(staging.kubeconfig(true));
    await kubectl.ok(['apply', '-f', '-'], { input: DEPLOYMENT });

    let ip: string | undefined;
    for (let attempt = 0; attempt < 50 && ip === undefined; attempt++) {
      const service = JSON.parse(await kubectl.ok(['get', 'svc', 'web', '-o', 'json'])) as {
        status: { loadBalancer: { ingress?: { ip: string }[] } };
      };
      ip = service.status.loadBalancer.ingress?.[0]?.ip;
      if (ip === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    }

    assert.match(ip ?? '', /^20\.\d+\.\d+\.\d+$/);
  });
});

describe('sandbox dl.k8s.io: kubectl downloads', function () {
  let base: SandboxBase;
  let downloads: KubectlDownloads;

  sandboxSuite(
    async (started, keep) => {
      base = started;
      downloads = await keep(startKubectlDownloads(base));
    },
    { inProcess: true },
  );

  it('redirects dl.k8s.io to the CDN and answers stable.txt there', async function () {
    const redirect = await requestThroughProxy(base, 'https://dl.k8s.io/release/stable.txt');
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.location, 'https://cdn.dl.k8s.io/release/stable.txt');

    const stable = await requestThroughProxy(base, 'https://cdn.dl.k8s.io/release/stable.txt');

    assert.equal(stable.status, 200);
    assert.equal(stable.body, 'v1.32.4');
    downloads.setStableVersion('v1.33.1');
    assert.equal(
      (await requestThroughProxy(base, 'https://cdn.dl.k8s.io/release/stable.txt')).body,
      'v1.33.1',
    );
    downloads.setStableVersion('v1.32.4');
  });

  it('serves the kubectl binary and its sha256 through the proxy, and 404 for other platforms', async function () {
    const target = path.join(base.directory, 'kubectl-download');
    const proxyArgs = [
      '--silent',
      '--show-error',
      '--fail',
      '--location',
      '--proxy',
      base.proxy.url,
      '--cacert',
      base.ca.root.certificatePath,
    ];

    const binary = await curl([
      ...proxyArgs,
      '--output',
      target,
      'https://dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubectl',
    ]);
    const checksum = await curl([
      ...proxyArgs,
      'https://dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubectl.sha256',
    ]);
    const windows = await curl([
      ...proxyArgs,
      'https://dl.k8s.io/release/v1.32.4/bin/windows/amd64/kubectl.exe',
    ]);

    assert.equal(binary.exitCode, 0, binary.stderr);
    const downloaded = crypto.createHash('sha256').update(fs.readFileSync(target)).digest('hex');
    assert.equal(downloaded, checksum.stdout);
    assert.equal(downloaded, downloads.binarySha256);
    assert.notEqual(windows.exitCode, 0);
    assert.deepEqual(
      downloads.requests.filter((r) => r.path.endsWith('/kubectl')).map((r) => `${r.host} ${r.status}`),
      ['dl.k8s.io 302', 'cdn.dl.k8s.io 200'],
    );
    assert.deepEqual(base.proxy.refused, []);
  });
});
