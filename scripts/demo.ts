// npm run demo: plays samples/pipelines/cd.yml on the embedded sandbox with the bundled tasks, run as
// the agent runs them, and prints a timeline. `--break acceptance` / `--break image` make one step
// fail: the run then stops there, exits 1 and production is left untouched.
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { maskSecrets, runTaskAsAgent, type TaskRun } from './agent';
import type { EndpointDefinition } from './agentEnvironment';
import { EXTENSION_STAGING_DIR } from './layout';
import { startSandbox, type Sandbox } from '../sandbox';
import type { AksCluster } from '../sandbox/kubernetes/aks';
import { MEDIA_TYPES, pushReferrer, referrersTagOf, tarHeader } from '../sandbox/acr/images';
import {
  getManifest,
  putManifest,
  sha256Digest,
  uploadBlob,
  type RegistryEndpoint,
} from '../sandbox/acr/registry';
import { startHttpsServer, type RunningServer } from '../sandbox/httpsServer';
import type { KubeObject } from '../sandbox/kubernetes';
import { resourceTypeOf } from '../sandbox/kubernetes/resources';

// ---------------------------------------------------------------- arguments and prerequisites

export type BreakMode = 'acceptance' | 'image';

export interface DemoArguments {
  readonly break?: BreakMode;
  readonly help: boolean;
}

const BREAK_MODES: readonly BreakMode[] = ['acceptance', 'image'];

export const USAGE = `Usage: npm run demo [-- --break acceptance | --break image]

Plays samples/pipelines/cd.yml on a local sandbox (Entra ID, ARM, Key Vault, two registries, two AKS
clusters) with the bundled tasks, run as the Azure Pipelines agent runs them.
  --break acceptance   add an acceptance check that fails: the run stops before production
  --break image        deploy a digest the registry does not have: staging's rollout fails`;

export function parseDemoArguments(argv: readonly string[]): DemoArguments {
  let breakMode: BreakMode | undefined;
  let help = false;
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index] ?? '';
    if (argument === '--help' || argument === '-h') help = true;
    else if (argument === '--break' || argument.startsWith('--break=')) {
      const value = argument === '--break' ? argv[++index] : argument.slice('--break='.length);
      if (value === undefined || !(BREAK_MODES as readonly string[]).includes(value))
        throw new Error(`--break takes one of: ${BREAK_MODES.join(', ')} (got ${value ?? 'nothing'})`);
      breakMode = value as BreakMode;
    } else throw new Error(`unknown argument '${argument}'\n\n${USAGE}`);
  }
  return breakMode === undefined ? { help } : { break: breakMode, help };
}

export interface Prerequisite {
  readonly tool: string;
  /** The Debian package that installs it. */
  readonly debianPackage: string;
  readonly neededFor: string;
}

export const PREREQUISITES: readonly Prerequisite[] = [
  { tool: 'docker-registry', debianPackage: 'docker-registry', neededFor: 'the two container registries' },
  { tool: 'kubectl', debianPackage: 'kubernetes-client', neededFor: 'DeployAksTemplate@1 applies with it' },
  { tool: 'openssl', debianPackage: 'openssl', neededFor: "the sandbox's certificate authority" },
];

/** The prerequisites with no executable on `searchPath`. */
export function missingPrerequisites(searchPath: string = process.env.PATH ?? ''): Prerequisite[] {
  const directories = searchPath.split(path.delimiter).filter((d) => d !== '');
  const found = (tool: string): boolean =>
    directories.some((directory) => {
      try {
        fs.accessSync(path.join(directory, tool), fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  return PREREQUISITES.filter((p) => !found(p.tool));
}

export function prerequisiteAdvice(missing: readonly Prerequisite[]): string {
  const lines = missing.map(
    (p) => `  ${p.tool.padEnd(16)} ${p.neededFor} (Debian package ${p.debianPackage})`,
  );
  const packages = [...new Set(missing.map((p) => p.debianPackage))].join(' ');
  return `The demo needs these programs, which are not on PATH:
${lines.join('\n')}
Install them with:
  sudo apt-get update && sudo apt-get install -y ${packages}`;
}

// ---------------------------------------------------------------- the timeline

export type StepResult = 'ok' | 'failed' | 'skipped' | 'approved';

export interface TimelineStep {
  readonly title: string;
  readonly result: StepResult;
  readonly durationMs?: number;
  /** Key outputs, one per line. */
  readonly details?: readonly string[];
}

const RESULT_LABEL: Readonly<Record<StepResult, string>> = {
  ok: '  ok  ',
  failed: 'FAILED',
  skipped: ' skip ',
  approved: 'auto  ',
};

const TITLE_WIDTH = 56;
const DETAIL_INDENT = ' '.repeat(13);
/** Detail lines wrap at this width (the timeline's own width is 84). */
const LINE_WIDTH = 140;

/** Splits `text` at spaces into lines of at most `width` characters (a longer word stays whole). */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines;
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** One step as the timeline prints it: `[result] n  title …… duration`, then its details indented. */
export function formatStep(index: number, step: TimelineStep): string {
  const title = step.title.length > TITLE_WIDTH ? `${step.title.slice(0, TITLE_WIDTH - 1)}…` : step.title;
  const head = `[${RESULT_LABEL[step.result]}] ${String(index).padStart(2)}  ${title.padEnd(TITLE_WIDTH)} ${formatDuration(step.durationMs).padStart(8)}`;
  const details = (step.details ?? []).flatMap((detail) =>
    wrapText(detail, LINE_WIDTH - DETAIL_INDENT.length).map((line, index) =>
      index === 0 ? line : `  ${line}`,
    ),
  );
  return [head.trimEnd(), ...details.map((line) => `${DETAIL_INDENT}${line}`)].join('\n');
}

export function formatTimeline(steps: readonly TimelineStep[]): string {
  return steps.map((step, index) => formatStep(index + 1, step)).join('\n');
}

// ---------------------------------------------------------------- the scenario

const RUN_NAME = '20250614.3';
const NONPROD = 'contosononprod';
const PROD = 'contosoprod';
const REPOSITORY = 'shop/web';
const VAULT = 'kv-contoso-shop';
const STAGING = {
  resourceGroup: 'rg-contoso-shop-staging',
  name: 'aks-contoso-shop-staging',
  namespace: 'shop-staging',
  host: 'shop-staging.contoso.com',
};
const PRODUCTION = {
  resourceGroup: 'rg-contoso-shop-prod',
  name: 'aks-contoso-shop-prod',
  namespace: 'shop',
  host: 'shop.contoso.com',
};
const SAMPLES = path.resolve(__dirname, '..', '..', 'samples');
const APP = path.join(SAMPLES, 'app');

/** One service principal per service connection of cd.yml (and CI's Key Vault one), each with its role only. */
const CONNECTIONS = {
  keyVault: {
    id: 'sc-keyvault-ci',
    clientId: '0c1d2e3f-0000-4000-8000-00000000000a',
    secret: 'kv~Reader.Secret.1',
  },
  aksStaging: {
    id: 'sc-aks-staging',
    clientId: '0c1d2e3f-0000-4000-8000-00000000000b',
    secret: 'aks~Staging.Secret.2',
  },
  acrNonprodPull: {
    id: 'sc-acr-nonprod-pull',
    clientId: '0c1d2e3f-0000-4000-8000-00000000000c',
    secret: 'acr~Pull.Secret.3',
  },
  acrProdPush: {
    id: 'sc-acr-prod-push',
    clientId: '0c1d2e3f-0000-4000-8000-00000000000d',
    secret: 'acr~Push.Secret.4',
  },
  aksProduction: {
    id: 'sc-aks-production',
    clientId: '0c1d2e3f-0000-4000-8000-00000000000e',
    secret: 'aks~Prod.Secret.5',
  },
} as const;

interface Environment {
  readonly cluster: AksCluster;
  readonly namespace: string;
  readonly host: string;
}

/** What runs behind an environment's Ingress host: see startAppStandIn. */
interface AppStandIn {
  port?: number;
  process?: ChildProcess;
}

class Demo {
  readonly steps: TimelineStep[] = [];
  private readonly cleanups: (() => Promise<void>)[] = [];
  private readonly apps = new Map<string, AppStandIn>();
  sandbox!: Sandbox;
  /** The ingress front's loopback port. */
  ingressPort = 0;
  staging!: Environment;
  production!: Environment;
  releaseDirectory!: string;

  constructor(readonly breakMode: BreakMode | undefined) {}

  record(step: TimelineStep): void {
    this.steps.push(step);
    console.log(formatStep(this.steps.length, step));
  }

  /** Times `act`; a thrown error or a failed task becomes a failed step and stops the run. */
  async step<T>(
    title: string,
    act: () => Promise<{ value: T; details: string[]; failed?: boolean }>,
  ): Promise<T> {
    const started = performance.now();
    let outcome: { value: T; details: string[]; failed?: boolean };
    try {
      outcome = await act();
    } catch (error: unknown) {
      this.record({
        title,
        result: 'failed',
        durationMs: performance.now() - started,
        details: [error instanceof Error ? error.message : String(error)],
      });
      throw new StepFailed(title);
    }
    this.record({
      title,
      result: outcome.failed === true ? 'failed' : 'ok',
      durationMs: performance.now() - started,
      details: outcome.details,
    });
    if (outcome.failed === true) throw new StepFailed(title);
    return outcome.value;
  }

  async close(): Promise<void> {
    for (const cleanup of this.cleanups.reverse()) await cleanup().catch(() => undefined);
    this.cleanups.length = 0;
  }

  async setUp(): Promise<void> {
    const sandbox = await startSandbox();
    this.sandbox = sandbox;
    this.cleanups.push(() => sandbox.close());
    const { entra, keyVault, acr, aks } = sandbox;
    for (const connection of Object.values(CONNECTIONS)) entra.registerServicePrincipal(connection);
    acr.grant(NONPROD, CONNECTIONS.acrNonprodPull.clientId, ['pull']);
    acr.grant(PROD, CONNECTIONS.acrProdPush.clientId, ['pull', 'push']);
    keyVault.createVault(VAULT, { model: 'rbac', allowedPrincipals: [CONNECTIONS.keyVault.clientId] });
    keyVault.setSecret(VAULT, 'db-password', `demo-${crypto.randomBytes(6).toString('hex')}`);
    keyVault.setSecret(VAULT, 'acceptance-api-key', `demo-${crypto.randomBytes(6).toString('hex')}`);
    keyVault.setSecret(
      VAULT,
      'signing-key',
      `-----BEGIN PRIVATE KEY-----\n${crypto.randomBytes(24).toString('base64')}\n-----END PRIVATE KEY-----`,
    );
    const [staging, production] = await Promise.all([
      aks.createCluster({ resourceGroup: STAGING.resourceGroup, name: STAGING.name }),
      aks.createCluster({ resourceGroup: PRODUCTION.resourceGroup, name: PRODUCTION.name, nodeCount: 3 }),
    ]);
    this.staging = { cluster: staging, namespace: STAGING.namespace, host: STAGING.host };
    this.production = { cluster: production, namespace: PRODUCTION.namespace, host: PRODUCTION.host };
    // The namespaces a cluster admin creates once; the templates name none (cd.yml's `namespace` input).
    for (const environment of [this.staging, this.production])
      environment.cluster.store.create(resourceTypeOf('Namespace'), {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: environment.namespace },
        status: { phase: 'Active' },
      });
    await this.startIngressFront();

    // CI's `release` artifact: the templates and the checks (a broken copy of the checks with --break acceptance).
    this.releaseDirectory = fs.mkdtempSync(path.join(sandbox.base.directory, 'release-'));
    fs.cpSync(path.join(APP, 'deploy'), path.join(this.releaseDirectory, 'deploy'), { recursive: true });
    fs.cpSync(path.join(APP, 'acceptance'), path.join(this.releaseDirectory, 'acceptance'), {
      recursive: true,
    });
    if (this.breakMode === 'acceptance')
      fs.appendFileSync(
        path.join(this.releaseDirectory, 'acceptance', 'checks.yaml'),
        `\n  # Added by npm run demo -- --break acceptance: a page the app does not have.\n  - name: checkout page answers\n    request: { path: /checkout }\n    expect:\n      status: 200\n`,
      );
  }

  /**
   * The clusters' ingress controller, stood in for by one HTTPS server with a certificate for both
   * Ingress hosts, routed on the sandbox proxy under those names: RunAcceptanceTests@1 reaches
   * `https://shop-staging.contoso.com` as it would in Azure. Each host is forwarded to the sample app
   * started for that environment (the stand-in cluster runs no containers).
   */
  private async startIngressFront(): Promise<void> {
    const { base } = this.sandbox;
    const tls = base.ca.issueServerCertificate([STAGING.host, PRODUCTION.host]);
    const front: RunningServer = await startHttpsServer(tls, (request, response) => {
      const host = (request.headers.host ?? '').replace(/:\d+$/, '');
      const app = this.apps.get(host);
      if (app?.port === undefined) {
        response.writeHead(503, { 'content-type': 'text/plain' });
        response.end('no pod is serving this host yet\n');
        return;
      }
      const upstream = http.request(
        {
          host: '127.0.0.1',
          port: app.port,
          method: request.method,
          path: request.url,
          headers: request.headers,
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      upstream.on('error', () => {
        if (!response.headersSent) response.writeHead(502);
        response.end();
      });
      request.pipe(upstream);
    });
    this.cleanups.push(() => front.close());
    this.ingressPort = front.port;
    for (const host of [STAGING.host, PRODUCTION.host]) base.proxy.route(host, front.port);
  }

  /**
   * The stand-in cluster simulates pods without running them; here the sample app itself
   * (samples/app/src/server.js) runs on loopback with the env of the Deployment the task applied, and
   * the ingress front sends the environment's host to it.
   */
  async startAppStandIn(environment: Environment): Promise<void> {
    const deployment = environment.cluster.store.getByKind('Deployment', environment.namespace, 'web');
    const container = containersOf(deployment)[0];
    const env: Record<string, string> = {};
    for (const variable of container?.env ?? [])
      if (variable.value !== undefined) env[variable.name] = variable.value;
    const child = spawn(process.execPath, [path.join(APP, 'src', 'server.js')], {
      env: { PATH: process.env.PATH ?? '', ...env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const app: AppStandIn = { process: child };
    this.apps.set(environment.host, app);
    this.cleanups.push(() => stopProcess(child));
    app.port = await new Promise<number>((resolve, reject) => {
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
        const port = /"port":(\d+)/.exec(output)?.[1];
        if (port !== undefined) resolve(Number(port));
      });
      child.once('exit', (code) => reject(new Error(`the sample app exited (${code}) before listening`)));
    });
    child.stdout.resume();
  }

  connection(id: keyof typeof CONNECTIONS): EndpointDefinition {
    const { base } = this.sandbox;
    return {
      url: 'https://management.azure.com/',
      scheme: 'ServicePrincipal',
      auth: {
        tenantid: base.tenantId,
        serviceprincipalid: CONNECTIONS[id].clientId,
        serviceprincipalkey: CONNECTIONS[id].secret,
        authenticationType: 'spnKey',
      },
      data: { environment: 'AzureCloud', subscriptionId: base.subscriptionId },
    };
  }

  async runTask(
    task: string,
    inputs: Record<string, string>,
    connections: readonly (keyof typeof CONNECTIONS)[],
    variables: Readonly<Record<string, string>> = {},
  ): Promise<TaskRun> {
    return runTaskAsAgent({
      task,
      inputs,
      endpoints: Object.fromEntries(connections.map((c) => [CONNECTIONS[c].id, this.connection(c)])),
      variables: { 'Build.BuildNumber': RUN_NAME, 'System.TeamProject': 'Contoso Shop', ...variables },
      env: { ...this.sandbox.environment },
      timeoutMs: 180_000,
    });
  }

  /**
   * The kubelet's pull, which the stand-in cannot do itself: an image reference whose manifest the
   * registry does not have is marked ImagePullBackOff in the cluster, as a real node would report it.
   */
  async markUnpullableImages(environment: Environment, references: readonly string[]): Promise<void> {
    for (const reference of references) {
      const match = /^([a-z0-9]+)\.azurecr\.io\/([^@:]+)(?:@|:)(.+)$/.exec(reference);
      const pullable =
        match !== null &&
        this.sandbox.acr.registries.has(match[1] ?? '') &&
        (await getManifest(
          this.sandbox.acr.ownerEndpoint(match[1] ?? ''),
          match[2] ?? '',
          match[3] ?? '',
        )) !== undefined;
      if (!pullable) environment.cluster.setImageBehaviour(reference, { kind: 'imagePullBackOff' });
    }
  }

  registry(name: string): RegistryEndpoint {
    return this.sandbox.acr.ownerEndpoint(name);
  }
}

class StepFailed extends Error {}

/** Whether every line of the vault's multi-line PEM secret was registered with task.setsecret (its public markers aside). */
function multiLineMasked(run: TaskRun): boolean {
  const value = run.secretVariables['signing-key'] ?? '';
  return value
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('-----'))
    .every((line) => run.registeredSecrets.includes(line));
}

interface Container {
  name: string;
  image: string;
  env?: { name: string; value?: string }[];
}

function containersOf(workload: KubeObject | undefined): Container[] {
  const template = workload?.spec?.template as { spec?: { containers?: Container[] } } | undefined;
  return template?.spec?.containers ?? [];
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

function shortDigest(digest: string): string {
  return `${digest.slice(0, 19)}…`;
}

/** What a failed task reported: its result message, its errors and its `FAILED:` lines, masked as the agent would. */
function failureOf(run: TaskRun): string[] {
  const failedChecks = run.stdout.split(/\r?\n/).filter((line) => line.startsWith('FAILED: '));
  const lines = [run.resultMessage ?? '', ...run.errors, ...failedChecks].flatMap((text) => text.split('\n'));
  const unique = [...new Set(lines.map((line) => line.trim()).filter((line) => line !== ''))].slice(0, 6);
  return unique.map((line) => maskSecrets(line, run.registeredSecrets));
}

// ---------------------------------------------------------------- the sample image

/** A reproducible ustar entry: header, content, padding to the 512-byte record. */
function tarEntry(name: string, content: Buffer, mode = 0o644): Buffer {
  return Buffer.concat([
    tarHeader(name, content.length, mode),
    content,
    Buffer.alloc((512 - (content.length % 512)) % 512),
  ]);
}

export interface AppImage {
  readonly layer: Buffer;
  readonly diffId: string;
  readonly config: Buffer;
  readonly manifest: Buffer;
  readonly digest: string;
  readonly files: readonly string[];
}

/**
 * The sample app's image without Docker: one layer holding what the Dockerfile's COPY lines copy
 * (package.json and src/ under /app) and a config with its ENV, WORKDIR, USER, EXPOSE and CMD.
 * The node:20-alpine base layers are left out (nothing is fetched from outside): the image is
 * real OCI content that registries, the promotion and the deploy handle like any other.
 */
export function buildAppImage(appDirectory: string = APP, version: string = RUN_NAME): AppImage {
  const files = [
    'package.json',
    ...fs
      .readdirSync(path.join(appDirectory, 'src'))
      .sort()
      .map((f) => `src/${f}`),
  ];
  const tar = Buffer.concat([
    ...files.map((file) => tarEntry(`app/${file}`, fs.readFileSync(path.join(appDirectory, file)))),
    Buffer.alloc(1024),
  ]);
  const layer = zlib.gzipSync(tar, { level: 9 });
  const diffId = sha256Digest(tar);
  const config = Buffer.from(
    JSON.stringify({
      created: '2025-06-14T00:00:00Z',
      architecture: 'amd64',
      os: 'linux',
      config: {
        User: '1000:1000',
        Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_ENV=production', 'PORT=8080'],
        WorkingDir: '/app',
        ExposedPorts: { '8080/tcp': {} },
        Cmd: ['node', 'src/server.js'],
        Labels: {
          'org.opencontainers.image.version': version,
          'org.opencontainers.image.title': 'contoso-shop-web',
        },
      },
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created: '2025-06-14T00:00:00Z', created_by: 'COPY package.json src /app (npm run demo)' }],
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      config: { mediaType: MEDIA_TYPES.config, digest: sha256Digest(config), size: config.length },
      layers: [{ mediaType: MEDIA_TYPES.layer, digest: sha256Digest(layer), size: layer.length }],
    }),
  );
  return { layer, diffId, config, manifest, digest: sha256Digest(manifest), files };
}

async function pushAppImage(endpoint: RegistryEndpoint, image: AppImage, tag: string): Promise<string> {
  for (const blob of [image.layer, image.config])
    await uploadBlob(endpoint, REPOSITORY, { digest: sha256Digest(blob), size: blob.length, content: blob });
  for (const reference of [image.digest, tag])
    await putManifest(endpoint, REPOSITORY, reference, MEDIA_TYPES.manifest, image.manifest);
  // An SBOM that refers to the image, as CI's build would attach: PromoteImage@1 copies it too.
  const sbom = Buffer.from(
    JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'contoso-shop-web', packages: [] }),
  );
  const referrer = await pushReferrer(
    endpoint,
    REPOSITORY,
    { mediaType: MEDIA_TYPES.manifest, digest: image.digest, size: image.manifest.length },
    'application/spdx+json',
    { content: sbom, contentMediaType: 'application/spdx+json' },
  );
  return referrer.digest;
}

// ---------------------------------------------------------------- the flow

async function play(demo: Demo): Promise<void> {
  await demo.step('Start the sandbox', async () => {
    await demo.setUp();
    return {
      value: undefined,
      details: [
        `Entra ID, ARM, Key Vault, registries ${NONPROD}.azurecr.io, ${PROD}.azurecr.io (real docker-registry)`,
        `clusters ${STAGING.name}, ${PRODUCTION.name}; vault ${VAULT}; one service principal per connection`,
      ],
    };
  });

  const image = buildAppImage();
  const sourceReference = `${NONPROD}.azurecr.io/${REPOSITORY}:${RUN_NAME}`;
  await demo.step(`CI: push the sample image to ${NONPROD}.azurecr.io`, async () => {
    const referrer = await pushAppImage(demo.registry(NONPROD), image, RUN_NAME);
    return {
      value: undefined,
      details: [
        `${sourceReference}  (samples/app: ${image.files.length} files in one layer, ${image.layer.length} bytes)`,
        `digest ${image.digest}`,
        `SBOM referrer ${shortDigest(referrer)} attached`,
      ],
    };
  });

  const secrets = await demo.step(`FetchKeyVaultSecrets@1  ${VAULT}`, async () => {
    const run = await demo.runTask(
      'fetch-keyvault-secrets',
      { azureSubscription: CONNECTIONS.keyVault.id, keyVaultName: VAULT, secrets: '*' },
      ['keyVault'],
      // signing-key has several lines: the agent takes those only when the pipeline opts in.
      { 'System.UnsafeAllowMultilineSecret': 'true' },
    );
    const names = Object.keys(run.secretVariables).filter((name) => name !== name.toUpperCase());
    return {
      value: run.secretVariables,
      failed: run.result !== 'Succeeded',
      details:
        run.result === 'Succeeded'
          ? [
              `${Object.keys(run.secretVariables).length} secret variables set (values masked): ${names.join(', ')} and their UPPER_SNAKE aliases`,
              multiLineMasked(run)
                ? 'each line of the multi-line signing-key is masked too (System.UnsafeAllowMultilineSecret=true lets the agent take it)'
                : 'WARNING: the lines of the multi-line signing-key were not registered as secrets',
            ]
          : failureOf(run),
    };
  });

  // --break image: CI's image.txt names a digest that was never pushed.
  const stagingImage =
    demo.breakMode === 'image'
      ? `${NONPROD}.azurecr.io/${REPOSITORY}@${sha256Digest(Buffer.from('never pushed'))}`
      : `${NONPROD}.azurecr.io/${REPOSITORY}@${image.digest}`;
  const deployTo = async (
    environment: Environment,
    connection: 'aksStaging' | 'aksProduction',
    images: string,
    registry: string,
    replicas: number,
  ): Promise<{ value: TaskRun; details: string[]; failed: boolean }> => {
    await demo.markUnpullableImages(environment, [images]);
    const run = await demo.runTask(
      'deploy-aks-template',
      {
        connectionType: 'azureResourceManager',
        azureSubscription: CONNECTIONS[connection].id,
        resourceGroup: environment.cluster.resourceGroup,
        cluster: environment.cluster.name,
        namespace: environment.namespace,
        templates: `${demo.releaseDirectory}/deploy/app.yaml\n${demo.releaseDirectory}/deploy/ingress.yaml`,
        images,
        variables: `IMAGE_REGISTRY=${registry}.azurecr.io\nREPLICAS=${replicas}\nAPP_VERSION=${RUN_NAME}\nINGRESS_HOST=${environment.host}`,
        rolloutTimeout: '300',
        rollbackOnFailure: 'true',
      },
      [connection],
    );
    const ok = run.result === 'Succeeded';
    return {
      value: run,
      failed: !ok,
      details: ok
        ? [
            `deployment/web ${replicas} replicas in ${environment.cluster.name}/${environment.namespace}`,
            `deployedImages ${run.variables['deployedImages'] ?? ''}`,
            `serviceEndpoints ${(run.variables['serviceEndpoints'] ?? '').split('\n').join(', ')}`,
          ]
        : [`images: ${images}`, ...failureOf(run)],
    };
  };

  const stagingDeploy = await demo.step(`DeployAksTemplate@1  staging (${STAGING.name})`, () =>
    deployTo(demo.staging, 'aksStaging', stagingImage, NONPROD, 2),
  );
  await demo.startAppStandIn(demo.staging);

  const baseUrl = (stagingDeploy.variables['serviceEndpoints'] ?? '').split('\n')[0] ?? '';
  await demo.step(`RunAcceptanceTests@1  ${baseUrl}`, async () => {
    const run = await demo.runTask(
      'run-acceptance-tests',
      {
        baseUrl,
        readinessPath: '/healthz',
        readinessTimeout: '60',
        checksFile: `${demo.releaseDirectory}/acceptance/checks.yaml`,
        headers: `X-Api-Key: ${secrets['acceptance-api-key'] ?? ''}`,
        testRunTitle: 'Acceptance tests (staging)',
      },
      [],
    );
    const counts = `${run.variables['passed'] ?? '?'} passed, ${run.variables['failed'] ?? '?'} failed`;
    return {
      value: run,
      failed: run.result !== 'Succeeded',
      details:
        run.result === 'Succeeded'
          ? [`${counts} (samples/app/acceptance/checks.yaml; JUnit published)`]
          : [counts, ...failureOf(run)],
    };
  });

  demo.record({
    title: 'ManualValidation@1  auto-approved by the demo',
    result: 'approved',
    durationMs: 0,
    details: ['in a pipeline this agentless job waits for [Contoso Shop]\\Release Approvers'],
  });

  const promote = await demo.step(`PromoteImage@1  ${NONPROD} → ${PROD}`, async () => {
    const run = await demo.runTask(
      'promote-image',
      {
        sourceAzureSubscription: CONNECTIONS.acrNonprodPull.id,
        sourceRegistry: `${NONPROD}.azurecr.io`,
        image: `${REPOSITORY}@${image.digest}`,
        targetAzureSubscription: CONNECTIONS.acrProdPush.id,
        targetRegistry: `${PROD}.azurecr.io`,
        targetTags: RUN_NAME,
        method: 'copy',
        lockTags: 'true',
      },
      ['acrNonprodPull', 'acrProdPush'],
    );
    return {
      value: run,
      failed: run.result !== 'Succeeded',
      details:
        run.result === 'Succeeded'
          ? [
              `promotedImage ${run.variables['promotedImage'] ?? ''}`,
              `tag ${RUN_NAME} set and locked; the SBOM copied with it`,
            ]
          : failureOf(run),
    };
  });

  const promotedImage = promote.variables['promotedImage'] ?? '';
  await demo.step(`DeployAksTemplate@1  production (${PRODUCTION.name})`, () =>
    deployTo(demo.production, 'aksProduction', promotedImage, PROD, 3),
  );
  await demo.startAppStandIn(demo.production);
}

/** What the registries and the production cluster hold at the end; also what shows production untouched. */
async function finalState(demo: Demo, digest: string): Promise<{ lines: string[]; sameEverywhere: boolean }> {
  const lines: string[] = [];
  const digests: (string | undefined)[] = [];
  for (const registry of [NONPROD, PROD]) {
    const tagged = await getManifest(demo.registry(registry), REPOSITORY, RUN_NAME).catch(() => undefined);
    const sbom = await getManifest(demo.registry(registry), REPOSITORY, referrersTagOf(digest)).catch(
      () => undefined,
    );
    digests.push(tagged?.digest);
    lines.push(
      `  ${`${registry}.azurecr.io/${REPOSITORY}:${RUN_NAME}`.padEnd(46)} ${tagged?.digest ?? '(absent)'}${sbom === undefined ? '' : '  + SBOM'}`,
    );
  }
  const { cluster, namespace } = demo.production;
  const deployment = cluster.store.getByKind('Deployment', namespace, 'web');
  const image = containersOf(deployment)[0]?.image;
  const status = deployment?.status as { readyReplicas?: number; replicas?: number } | undefined;
  lines.push(
    deployment === undefined
      ? `  production ${cluster.name}/${namespace}: no deployment/web (untouched)`
      : `  production ${cluster.name}/${namespace} deployment/web ${status?.readyReplicas ?? 0}/${status?.replicas ?? 0} ready: ${image ?? ''}`,
  );
  const home = deployment === undefined ? undefined : await getThroughIngress(demo, PRODUCTION.host);
  if (home !== undefined) lines.push(`  https://${PRODUCTION.host}/ answers: ${home}`);
  const sameEverywhere =
    digests.every((d) => d === digest) &&
    image !== undefined &&
    image.endsWith(`@${digest}`) &&
    image.startsWith(`${PROD}.azurecr.io/`);
  return { lines, sameEverywhere };
}

/** A GET through the ingress front as a browser would see it (the front's certificate and SNI). */
async function getThroughIngress(demo: Demo, host: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const request = https.get(
      {
        host: '127.0.0.1',
        port: demo.ingressPort,
        path: '/',
        headers: { host },
        agent: false,
        ca: fs.readFileSync(demo.sandbox.environment['NODE_EXTRA_CA_CERTS'] ?? ''),
        servername: host,
        timeout: 5000,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          const title = /<h1>([^<]*)<\/h1>/.exec(body)?.[1];
          const version = /id="version">([^<]*)</.exec(body)?.[1];
          resolve(`${response.statusCode ?? '?'} "${title ?? ''}", version ${version ?? '?'}`);
        });
      },
    );
    request.on('error', () => resolve(undefined));
    request.on('timeout', () => request.destroy());
  });
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  let args: DemoArguments;
  try {
    args = parseDemoArguments(argv);
  } catch (error: unknown) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const missing = missingPrerequisites();
  if (missing.length > 0) {
    console.error(prerequisiteAdvice(missing));
    return 2;
  }
  if (!fs.existsSync(path.join(EXTENSION_STAGING_DIR, 'tasks'))) {
    console.error(
      `The bundled tasks are not in ${EXTENSION_STAGING_DIR}: run npm run bundle first (npm run demo does).`,
    );
    return 2;
  }

  console.log(
    `aks-delivery demo: samples/pipelines/cd.yml on the local sandbox, with the bundled tasks run as the agent runs them${
      args.break === undefined ? '' : ` (--break ${args.break})`
    }\n`,
  );
  const demo = new Demo(args.break);
  const stop = (): void => {
    void demo.close().then(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const started = performance.now();
  let failedStep: string | undefined;
  try {
    try {
      await play(demo);
    } catch (error: unknown) {
      if (!(error instanceof StepFailed)) throw error;
      failedStep = error.message;
    }
    const { lines, sameEverywhere } = await finalState(demo, buildAppImage().digest);
    const total = formatDuration(performance.now() - started);
    if (failedStep === undefined && sameEverywhere) {
      console.log(
        `\nThe digest staging tested is the digest production runs (${total}):\n${lines.join('\n')}`,
      );
      return 0;
    }
    console.log(
      `\nThe run failed at "${failedStep ?? 'the final check'}" (${total}); the later steps did not run and production is untouched:\n${lines.join('\n')}`,
    );
    return 1;
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    await demo.close();
  }
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
