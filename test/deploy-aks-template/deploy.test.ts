import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { ClusterAccess } from '../../tasks/common/cluster';
import { parseImageReference } from '../../tasks/common/imageReference';
import {
  execute,
  type DeployHost,
  type DeployRequest,
  type OutputName,
} from '../../tasks/deploy-aks-template/deploy';
import {
  Kubectl,
  KubectlAbortedError,
  type KubectlResult,
  type KubectlRunOptions,
} from '../../tasks/deploy-aks-template/kubectl';
import type { JsonObject } from '../../tasks/deploy-aks-template/kubernetesObject';
import { callKey, defaultStdout, isLookup, lookupKeys, printedObjects } from './fakes/kubectlScript';
import { assertRejectsWithUserError, message } from './messages';

const PODS = path.resolve(__dirname, '../../../test/deploy-aks-template/fixtures/pods');
const NS = 'web-staging';
const WEB = `Deployment ${NS}/web`;
const DIGEST = `sha256:${'d'.repeat(64)}`;
const OLD_DIGEST = `sha256:${'0'.repeat(64)}`;

function fixturePod(name: string): JsonObject {
  return JSON.parse(fs.readFileSync(path.join(PODS, `${name}.json`), 'utf8')) as JsonObject;
}

type Answer = Partial<KubectlResult> | 'hang';

/**
 * A cluster as kubectl answers it: objects by kind/namespace/name (a `get --filename` answers each
 * object it lists) and lists by selector, each a sequence of answers (the last repeats), rollouts
 * that finish or hang until stopped. Records every argument list without the global flags, and what
 * each apply was given.
 */
class FakeCluster {
  readonly calls: string[][] = [];
  readonly stopped: string[][] = [];
  readonly appliedFiles: string[] = [];
  private readonly answers = new Map<string, Answer[]>();

  object(kind: string, namespace: string, name: string, ...states: (JsonObject | undefined)[]): this {
    return this.script(
      `get ${kind} ${namespace}/${name}`,
      states.map((s) => ({ stdout: s === undefined ? '' : JSON.stringify(s) })),
    );
  }

  list(kind: string, selector: string, ...items: JsonObject[][]): this {
    return this.script(
      `list ${kind} ${selector}`,
      items.map((i) => ({ stdout: JSON.stringify({ items: i }) })),
    );
  }

  script(key: string, answers: Answer[]): this {
    this.answers.set(key, answers);
    return this;
  }

  readonly run = (all: readonly string[], options: KubectlRunOptions): Promise<KubectlResult> => {
    const args = all.slice(3);
    this.calls.push(args);
    if (args[0] === 'apply') this.appliedFiles.push(fs.readFileSync(args[args.length - 1] ?? '', 'utf8'));
    if (isLookup(args)) {
      const stdouts = lookupKeys(fs.readFileSync(args[2] ?? '', 'utf8')).map((key) => {
        const answer = this.next(key);
        return answer === 'hang' ? '' : (answer.stdout ?? '');
      });
      return Promise.resolve({ code: 0, stdout: printedObjects(stdouts), stderr: '' });
    }
    const answer = this.next(callKey(args));
    if (answer === 'hang') {
      return new Promise((_resolve, reject) =>
        options.signal?.addEventListener('abort', () => {
          this.stopped.push(args);
          reject(new KubectlAbortedError());
        }),
      );
    }
    return Promise.resolve({ code: 0, stdout: defaultStdout(args), stderr: '', ...answer });
  };

  private next(key: string): Answer {
    const answers = this.answers.get(key);
    if (answers === undefined || answers.length === 0) return {};
    return answers.length > 1 ? (answers.shift() ?? {}) : (answers[0] ?? {});
  }

  /** The calls that are not pod or ReplicaSet polls, whose number depends on timing. */
  get steps(): string[][] {
    return this.calls.filter((args) => !(args[0] === 'get' && args.some((a) => a.startsWith('--selector='))));
  }
}

function template(image: string, app = 'web'): JsonObject {
  return {
    metadata: { labels: { app } },
    spec: { containers: [{ name: app, image, terminationMessagePolicy: 'File' }] },
  };
}

function deployment(image: string, app = 'web'): JsonObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: app, namespace: NS, uid: `uid-${app}` },
    spec: { replicas: 2, selector: { matchLabels: { app } }, template: template(image, app) },
  };
}

const TEMPLATE = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: contoso.azurecr.io/team/web:1.0
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{name: http, port: 80}]
`;

const WORKER = `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  selector:
    matchLabels: {app: worker}
  template:
    metadata:
      labels: {app: worker}
    spec:
      containers:
        - name: worker
          image: contoso.azurecr.io/team/worker:1.0
`;

interface Recorded {
  readonly host: DeployHost;
  readonly logs: string[];
  readonly warnings: string[];
  readonly outputs: Map<OutputName, string>;
  readonly uploads: string[];
  readonly summaries: string[];
  readonly connects: number[];
  readonly disposed: number[];
  /** What the deploy registered as secrets, in order. */
  readonly secrets: string[];
}

function fakeHost(
  cluster: FakeCluster,
  workingDirectory: string,
  secretVariables: readonly string[] = [],
): Recorded {
  const recorded = {
    secrets: [] as string[],
    logs: [] as string[],
    warnings: [] as string[],
    outputs: new Map<OutputName, string>(),
    uploads: [] as string[],
    summaries: [] as string[],
    connects: [] as number[],
    disposed: [] as number[],
  };
  const access: ClusterAccess = {
    kubeconfigPath: '/agent/_temp/kubeconfig',
    kubectlPath: '/usr/bin/kubectl',
    env: {},
    serverUrl: 'https://aks-staging.example:443',
    serverVersion: '1.32.4',
    dispose: () => {
      recorded.disposed.push(1);
      return Promise.resolve();
    },
  };
  const host: DeployHost = {
    workingDirectory,
    tempDirectory: workingDirectory,
    runInfo: {
      pipelineName: 'web-cd',
      runId: '7',
      runUrl: 'https://dev.azure.com/contoso/web/_build/results?buildId=7',
    },
    // The first read with the access; that a failed one removes the kubeconfig is connectAndRead's
    // part, tested with it (test/common/cluster).
    connect: async (_connection, _options, read) => {
      recorded.connects.push(1);
      return { access, read: await read(access) };
    },
    kubectl: () =>
      new Kubectl(cluster.run, {
        kubeconfig: access.kubeconfigPath,
        requestTimeoutSeconds: 30,
        commandTimeoutSeconds: 120,
      }),
    log: (line) => recorded.logs.push(line),
    warning: (text) => recorded.warnings.push(text),
    setOutput: (name, value) => recorded.outputs.set(name, value),
    uploadFile: (file) => recorded.uploads.push(fs.readFileSync(file, 'utf8')),
    uploadSummary: (file) => recorded.summaries.push(fs.readFileSync(file, 'utf8')),
    registerSecret: (value) => recorded.secrets.push(value),
    secretVariables,
    timing: { podPollMs: 5, endpointWaitSeconds: 1, endpointPollMs: 5, now: Date.now },
  };
  return { host, ...recorded };
}

function request(overrides: Partial<DeployRequest> = {}): DeployRequest {
  return {
    cluster: { kind: 'kubeconfig', path: '/agent/kubeconfig' },
    namespace: NS,
    templates: ['app.yaml'],
    images: [parseImageReference('contoso.azurecr.io/team/web:2.0')],
    variables: new Map(),
    rolloutTimeoutSeconds: 600,
    rollbackOnFailure: false,
    forceConflicts: false,
    kubectlVersion: { kind: 'auto' },
    annotate: true,
    dryRun: false,
    ...overrides,
  };
}

const NAMESPACE = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } };

function service(status?: JsonObject): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: NS },
    spec: { type: 'LoadBalancer', ports: [{ port: 80 }] },
    ...(status === undefined ? {} : { status }),
  };
}

/** What `kubectl apply --output=json` prints for several objects. */
function appliedList(...items: JsonObject[]): Partial<KubectlResult> {
  return { stdout: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) };
}

/** `kubectl get` of the objects a file beside the rendered manifests lists. */
function lookup(manifests: string, file = 'lookup.json'): string[] {
  return [
    'get',
    '--filename',
    path.join(path.dirname(manifests), file),
    '--ignore-not-found',
    '--output=json',
  ];
}

function applyReturningObjects(manifests: string): string[] {
  return [
    'apply',
    '--server-side',
    '--field-manager=azure-pipelines',
    '--output=json',
    '--filename',
    manifests,
  ];
}
const ROLLOUT_WEB = [
  'rollout',
  'status',
  'deployment/web',
  '--watch=true',
  '--timeout=600s',
  '--namespace',
  NS,
];

function firstDocument(text: string | undefined): JsonObject {
  const documents = parseAllDocuments(text ?? '');
  return (Array.isArray(documents) ? documents[0]?.toJS() : undefined) as JsonObject;
}

function groupOf(logs: readonly string[], title: string): string[] {
  const start = logs.indexOf(`##[group]${title}`);
  assert.ok(start >= 0, `a log group '${title}'`);
  return logs.slice(start + 1, logs.indexOf('##[endgroup]', start));
}

describe('DeployAksTemplate deploy flow (fake kubectl)', () => {
  let directory: string;
  beforeEach(() => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-flow-'));
    fs.writeFileSync(path.join(directory, 'app.yaml'), TEMPLATE);
  });
  afterEach(() => fs.rmSync(directory, { recursive: true, force: true }));

  function cluster(): FakeCluster {
    return new FakeCluster()
      .object('Namespace', '', NS, NAMESPACE)
      .object('Deployment', NS, 'web', deployment('contoso.azurecr.io/team/web:1.0'))
      .script('apply', [appliedList(deployment('contoso.azurecr.io/team/web:2.0'), service())]);
  }

  it('applies, waits for the rollout, and sets the images with digests and the endpoints', async () => {
    const fake = cluster()
      .list('ReplicaSet,Pod', 'app=web', [
        {
          kind: 'ReplicaSet',
          metadata: {
            name: 'web-old',
            labels: { 'pod-template-hash': 'old' },
            annotations: { 'deployment.kubernetes.io/revision': '1' },
            ownerReferences: [{ uid: 'uid-web' }],
          },
        },
        {
          kind: 'ReplicaSet',
          metadata: {
            name: 'web-new',
            labels: { 'pod-template-hash': 'new' },
            annotations: { 'deployment.kubernetes.io/revision': '2' },
            ownerReferences: [{ uid: 'uid-web' }],
          },
        },
        {
          kind: 'Pod',
          metadata: { name: 'web-old-1', labels: { app: 'web', 'pod-template-hash': 'old' } },
          status: {
            containerStatuses: [{ name: 'web', imageID: `contoso.azurecr.io/team/web@${OLD_DIGEST}` }],
          },
        },
        {
          kind: 'Pod',
          metadata: { name: 'web-new-1', labels: { app: 'web', 'pod-template-hash': 'new' } },
          status: { containerStatuses: [{ name: 'web', imageID: `contoso.azurecr.io/team/web@${DIGEST}` }] },
        },
      ])
      .object('Service', NS, 'web', service({ loadBalancer: { ingress: [{ ip: '20.1.2.3' }] } }));
    const recorded = fakeHost(fake, directory);

    await execute(request(), recorded.host);

    const manifests = recorded.outputs.get('renderedManifests') ?? '';
    assert.deepEqual(fake.steps, [
      lookup(manifests),
      applyReturningObjects(manifests),
      ROLLOUT_WEB,
      // The Service as the apply returned it has no address yet: it is read again after the rollout.
      lookup(manifests, 'endpoints.json'),
    ]);
    assert.deepEqual(
      JSON.parse(fs.readFileSync(path.join(path.dirname(manifests), 'lookup.json'), 'utf8')),
      {
        apiVersion: 'v1',
        kind: 'List',
        items: [
          NAMESPACE,
          { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: NS } },
        ],
      },
      'the namespace and the workload, read in one kubectl process',
    );
    const applied = firstDocument(fake.appliedFiles[0]);
    assert.deepEqual(applied.metadata, {
      name: 'web',
      namespace: NS,
      annotations: {
        'azure-pipelines/pipeline': 'web-cd',
        'azure-pipelines/execution': '7',
        'azure-pipelines/executionuri': 'https://dev.azure.com/contoso/web/_build/results?buildId=7',
      },
    });
    assert.deepEqual(
      (
        applied.spec as { template: { spec: { containers: { image: string }[] } } }
      ).template.spec.containers.map((c) => c.image),
      ['contoso.azurecr.io/team/web:2.0'],
      "the override replaced the template's web:1.0 in what was applied",
    );
    assert.equal(
      recorded.outputs.get('deployedImages'),
      `contoso.azurecr.io/team/web:2.0@${DIGEST}`,
      "the digest the new ReplicaSet's pod reports, not the draining old one's",
    );
    assert.equal(recorded.outputs.get('serviceEndpoints'), 'http://20.1.2.3:80');
    assert.deepEqual(recorded.warnings, []);
    assert.ok(recorded.logs.includes('deployment.apps/web serverside-applied'));
    assert.ok(recorded.logs.includes('service/web serverside-applied'));
    assert.ok(recorded.logs.includes(message('WorkloadChanged', WEB)));
    assert.match(recorded.summaries[0] ?? '', /\| Deployment web-staging\/web \| changed \| \d+\.\d s \|/);
    assert.equal(recorded.disposed.length, 1);
  });

  it('fails at the first poll that finds ImagePullBackOff, stops the rollout wait and prints the events', async () => {
    const fake = cluster()
      .script('rollout deployment/web', ['hang'])
      .list('ReplicaSet,Pod', 'app=web', [fixturePod('image-pull-backoff')])
      .script('events --field-selector=involvedObject.kind=Pod,involvedObject.name=web-7d9c-abcde', [
        {
          stdout: JSON.stringify({
            items: [
              {
                type: 'Warning',
                reason: 'Failed',
                message: 'Failed to pull image',
                lastTimestamp: '2026-11-30T10:00:00Z',
                count: 3,
              },
            ],
          }),
        },
      ]);
    const recorded = fakeHost(fake, directory);

    await assertRejectsWithUserError(
      () => execute(request(), recorded.host),
      'ContainerCannotStart',
      WEB,
      'web-7d9c-abcde',
      'web',
      'ImagePullBackOff: Back-off pulling image "contoso.azurecr.io/team/web:1.4.2"',
    );
    assert.equal(
      fake.calls.filter(
        (args) =>
          args[1] === 'ReplicaSet,Pod' && args[0] === 'get' && args.some((a) => a.startsWith('--selector=')),
      ).length,
      1,
    );
    assert.deepEqual(fake.stopped, [ROLLOUT_WEB]);
    assert.deepEqual(groupOf(recorded.logs, message('DiagnosticsGroup', WEB)), [
      message('DiagnosticsEvents', 'Deployment', 'web'),
      `  ${message('DiagnosticsNoEvents')}`,
      message('DiagnosticsEvents', 'Pod', 'web-7d9c-abcde'),
      '  2026-11-30T10:00:00Z Warning Failed (x3): Failed to pull image',
      message('DiagnosticsNoLogs', 'web', 'web-7d9c-abcde', 'ImagePullBackOff'),
    ]);
    assert.ok(!fake.calls.some((args) => args[0] === 'logs'));
    assert.equal(recorded.outputs.has('deployedImages'), false);
    assert.equal(recorded.disposed.length, 1);
  });

  it('prints the previous instance logs of a crash-looping container', async () => {
    const fake = cluster()
      .script('rollout deployment/web', ['hang'])
      .list('ReplicaSet,Pod', 'app=web', [fixturePod('crash-loop')])
      .script('logs', [
        { stdout: 'starting\n##vso[task.setvariable variable=approved]yes\npanic: no DATABASE_URL\n' },
      ]);
    const recorded = fakeHost(fake, directory);

    await assert.rejects(() => execute(request(), recorded.host));
    assert.deepEqual(
      fake.calls.filter((args) => args[0] === 'logs'),
      [['logs', 'web-7d9c-efghi', '--container=web', '--namespace', NS, '--tail=50', '--previous']],
    );
    assert.deepEqual(groupOf(recorded.logs, message('DiagnosticsGroup', WEB)).slice(-4), [
      message('DiagnosticsPreviousLogs', 50, 'web', 'web-7d9c-efghi'),
      'starting',
      // What the container printed cannot act on the pipeline.
      '#\u200b#vso[task.setvariable variable=approved]yes',
      'panic: no DATABASE_URL',
    ]);
  });

  it('rolls back the changed workload by re-applying its previous template, and leaves the created one', async () => {
    fs.appendFileSync(path.join(directory, 'app.yaml'), WORKER);
    const fake = cluster()
      .object('Deployment', NS, 'worker', undefined)
      .script('apply', [
        appliedList(
          deployment('contoso.azurecr.io/team/web:2.0'),
          service(),
          deployment('contoso.azurecr.io/team/worker:1.0', 'worker'),
        ),
        { stdout: 'deployment.apps/web serverside-applied\n' },
      ])
      .script('rollout deployment/web', ['hang', {}])
      .list('ReplicaSet,Pod', 'app in (web,worker)', [fixturePod('crash-loop')], [])
      .script('logs', [{ stdout: 'boom\n' }]);
    const recorded = fakeHost(fake, directory);

    await assert.rejects(() => execute(request({ rollbackOnFailure: true }), recorded.host));

    const applies = fake.calls.filter((args) => args[0] === 'apply');
    assert.equal(applies.length, 2);
    const rollbackFile = applies[1]?.[applies[1].length - 1] ?? '';
    assert.equal(path.basename(rollbackFile), 'rollback.yaml');
    assert.deepEqual(applies[1], [
      'apply',
      '--server-side',
      '--field-manager=azure-pipelines',
      '--filename',
      rollbackFile,
    ]);
    const restored = firstDocument(fake.appliedFiles[1]);
    assert.deepEqual((restored.spec as JsonObject).template, template('contoso.azurecr.io/team/web:1.0'));
    assert.equal((restored.spec as JsonObject).replicas, 2);
    assert.equal((restored.metadata as JsonObject).name, 'web');
    assert.deepEqual(
      fake.calls.filter((args) => args[0] === 'rollout').map((args) => args.join(' ')),
      [
        // Both workloads of the namespace in one kubectl process, then the rolled-back one alone.
        `rollout status deployment/web deployment/worker --watch=true --timeout=600s --namespace ${NS}`,
        ROLLOUT_WEB.join(' '),
      ],
      'waits for the rollback',
    );
    assert.ok(recorded.logs.includes(message('RollbackLeavesCreated', `Deployment ${NS}/worker`)));
    assert.ok(recorded.logs.includes(message('RollbackLeavesOthers', `Service ${NS}/web`)));
    assert.ok(recorded.logs.includes(message('RolledBack', WEB)));
    assert.deepEqual(recorded.warnings, []);
    assert.match(recorded.summaries[0] ?? '', /\*\*Rolled back:\*\* Deployment web-staging\/web/);
  });

  it('reads the workloads again after an apply that failed part-way, and rolls back what it changed', async () => {
    const fake = cluster()
      .object(
        'Deployment',
        NS,
        'web',
        deployment('contoso.azurecr.io/team/web:1.0'),
        deployment('contoso.azurecr.io/team/web:2.0'),
      )
      .script('apply', [
        { code: 1, stderr: 'Error from server (Invalid): Service "web" is invalid\n' },
        { stdout: 'deployment.apps/web serverside-applied\n' },
      ]);
    const recorded = fakeHost(fake, directory);

    await assert.rejects(() => execute(request({ rollbackOnFailure: true }), recorded.host));

    const manifests = recorded.outputs.get('renderedManifests') ?? '';
    assert.deepEqual(fake.steps.slice(0, 3), [
      lookup(manifests),
      applyReturningObjects(manifests),
      lookup(manifests),
    ]);
    assert.ok(recorded.logs.includes(message('WorkloadChanged', WEB)));
    assert.ok(recorded.logs.includes(message('RolledBack', WEB)));
  });

  it('dry run: validates server-side and prints the diff, changing nothing', async () => {
    const fake = cluster().script('diff', [
      {
        code: 1,
        stdout: '-    image: contoso.azurecr.io/team/web:1.0\n+    image: contoso.azurecr.io/team/web:2.0\n',
      },
    ]);
    const recorded = fakeHost(fake, directory);

    await execute(request({ dryRun: true }), recorded.host);

    const manifests = recorded.outputs.get('renderedManifests') ?? '';
    assert.deepEqual(fake.calls, [
      lookup(manifests),
      [
        'apply',
        '--server-side',
        '--field-manager=azure-pipelines',
        '--dry-run=server',
        '--filename',
        manifests,
      ],
      ['diff', '--server-side', '--field-manager=azure-pipelines', '--filename', manifests],
    ]);
    assert.deepEqual(groupOf(recorded.logs, message('DryRunDiff')), [
      '-    image: contoso.azurecr.io/team/web:1.0\n+    image: contoso.azurecr.io/team/web:2.0',
    ]);
    assert.equal(recorded.outputs.get('deployedImages'), '');
    assert.equal(recorded.outputs.get('serviceEndpoints'), '');
  });

  it('dry run: a field conflict fails the task with its manager named', async () => {
    const fake = cluster().script('apply', [
      {
        code: 1,
        stderr: 'error: Apply failed with 1 conflict: conflict with "helm" using apps/v1: .spec.replicas\n',
      },
    ]);
    await assertRejectsWithUserError(
      () => execute(request({ dryRun: true }), fakeHost(fake, directory).host),
      'ApplyConflict',
      '.spec.replicas (owned by helm)',
    );
    assert.ok(!fake.calls.some((args) => args[0] === 'diff'));
  });

  it('touches no cluster when rendering fails', async () => {
    fs.writeFileSync(path.join(directory, 'app.yaml'), 'kind: Deployment\nmetadata: {name: ${NAME}}\n');
    const fake = cluster();
    const recorded = fakeHost(fake, directory);
    await assert.rejects(() => execute(request(), recorded.host));
    assert.deepEqual(recorded.connects, []);
    assert.deepEqual(fake.calls, []);
  });

  it('fails naming a namespace that does not exist, in the first read, before applying', async () => {
    const fake = cluster().object('Namespace', '', NS, undefined);
    const recorded = fakeHost(fake, directory);
    await assertRejectsWithUserError(() => execute(request(), recorded.host), 'NamespaceNotFound', NS);
    assert.equal(fake.calls.length, 1);
    assert.deepEqual(fake.calls[0]?.slice(0, 2), ['get', '--filename']);
  });

  it('attaches the rendered manifests with Secret values hidden', async () => {
    fs.writeFileSync(
      path.join(directory, 'app.yaml'),
      'apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: hunter2-hunter2, username: app}\n',
    );
    const recorded = fakeHost(cluster(), directory);
    await execute(request({ images: [] }), recorded.host);
    assert.match(recorded.uploads[0] ?? '', /password: '\*\*\*'/);
    assert.match(
      fs.readFileSync(recorded.outputs.get('renderedManifests') ?? '', 'utf8'),
      /password: hunter2-hunter2/,
    );
    assert.deepEqual(
      recorded.secrets,
      ['hunter2-hunter2'],
      'the password registered before a container log could show it; not the user name, an ordinary word',
    );
  });

  it("keeps the pipeline's secret variables out of the attachment and the summary, wherever tokens put them", async () => {
    fs.writeFileSync(
      path.join(directory, 'app.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n' +
        'data: {DATABASE_URL: "postgres://app:${DB_PASSWORD}@db", TOKEN_B64: "${API_TOKEN}"}\n',
    );
    const recorded = fakeHost(cluster(), directory, ['s3cr3t-pa55', 'dG9rZW4tdmFsdWU=']);
    await execute(
      request({
        images: [],
        variables: new Map([
          ['DB_PASSWORD', 's3cr3t-pa55'],
          ['API_TOKEN', 'dG9rZW4tdmFsdWU='],
        ]),
      }),
      recorded.host,
    );
    const attachment = recorded.uploads[0] ?? '';
    assert.match(attachment, /postgres:\/\/app:\*\*\*@db/);
    assert.match(attachment, /TOKEN_B64: '\*\*\*'/, 'quoted: the attachment stays valid YAML');
    assert.doesNotMatch(attachment + (recorded.summaries[0] ?? ''), /s3cr3t-pa55|dG9rZW4tdmFsdWU=/);
    assert.match(
      fs.readFileSync(recorded.outputs.get('renderedManifests') ?? '', 'utf8'),
      /postgres:\/\/app:s3cr3t-pa55@db/,
      'kubectl applies the values',
    );
  });
});
