import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUILD_ROOT, assertFailedWith, failureMessage, runL0, type L0Result } from '../support/l0';
import { SCRIPT_FILE, installFakeKubectl, recordedCalls, type KubectlScript } from './fakes/kubectlScript';

// kubectl runs as a child process of our own runner (execFile with a time limit and an abort signal),
// not through tl.exec, so task-lib's exec answers never see it. The L0 runs therefore put a fake
// kubectl executable first on PATH, which answers from a script and records every argument list; the
// connection is the real one (a kubeconfig file whose server does not answer, so the kubectl on PATH
// is taken). Mocking '../common/cluster' instead does not work: l0Entry loads a mock module before
// the mock runner starts, so the real task-lib it pulls in stays cached and tl.loc prints real text.
const PODS = path.join(BUILD_ROOT, '..', 'test', 'deploy-aks-template', 'fixtures', 'pods');
const NS = 'web-staging';

const TEMPLATE = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: contoso.azurecr.io/team/web:1.0}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker}
spec:
  selector: {matchLabels: {app: worker}}
  template:
    metadata: {labels: {app: worker}}
    spec:
      containers: [{name: worker, image: contoso.azurecr.io/team/worker:1.0}]
`;

function deployment(name: string, image: string): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS, uid: `uid-${name}` },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image }] } },
    },
  });
}

describe('DeployAksTemplate (L0)', () => {
  let directory: string;
  beforeEach(() => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'l0-deploy-flow-'));
    fs.writeFileSync(path.join(directory, 'app.yaml'), TEMPLATE);
    fs.writeFileSync(
      path.join(directory, 'user-kubeconfig'),
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{ name: staging, cluster: { server: "http://127.0.0.1:1" } }]',
        'users: [{ name: ci, user: { token: kube-token-123 } }]',
        'contexts: [{ name: staging, context: { cluster: staging, user: ci } }]',
        'current-context: staging',
      ].join('\n'),
    );
    installFakeKubectl(directory);
  });
  afterEach(() => fs.rmSync(directory, { recursive: true, force: true }));

  function run(inputs: Record<string, string>, script: KubectlScript): Promise<L0Result> {
    fs.writeFileSync(path.join(directory, SCRIPT_FILE), JSON.stringify(script));
    const template = path.join(directory, 'app.yaml');
    return runL0({
      task: 'deploy-aks-template',
      inputs: {
        connectionType: 'kubeconfig',
        kubeconfig: path.join(directory, 'user-kubeconfig'),
        namespace: NS,
        templates: template,
        images: 'contoso.azurecr.io/team/web:2.0',
        ...inputs,
      },
      variables: { 'Build.BuildId': '7', 'Build.DefinitionName': 'web-cd', 'Agent.TempDirectory': directory },
      env: { FAKE_KUBECTL_DIR: directory, PATH: `${directory}${path.delimiter}${process.env['PATH'] ?? ''}` },
      // The mocked task-lib's findMatch answers from here; the file itself is real.
      answers: { findMatch: { [template]: [template] } },
    });
  }

  /** Every kubectl call had our kubeconfig, and it is gone once the task ended. */
  function assertKubeconfigRemoved(): void {
    const calls = recordedCalls(directory);
    assert.ok(calls.length > 0 && calls.every((call) => call.kubeconfigExists === true));
    const kubeconfigs = new Set(calls.map((call) => call.kubeconfig));
    assert.equal(kubeconfigs.size, 1);
    assert.equal(fs.existsSync([...kubeconfigs][0] ?? ''), false);
  }

  /** Where the task lists the objects it reads before applying: beside the rendered manifests. */
  function lookupFile(manifests: string): string {
    return path.join(path.dirname(manifests), 'lookup.json');
  }

  function outputs(result: L0Result): Record<string, string> {
    return Object.fromEntries(
      result.commands
        .filter((c) => c.command === 'task.setvariable' && c.properties['isOutput'] === 'true')
        .map((c) => [c.properties['variable'] ?? '', c.message]),
    );
  }

  it('dry run: validates on the server, prints the diff, changes nothing and removes the kubeconfig', async () => {
    const result = await run(
      { dryRun: 'true' },
      {
        answers: {
          [`get Namespace /${NS}`]: [
            { stdout: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }) },
          ],
          apply: [{ stdout: 'deployment.apps/web serverside-applied (server dry run)\n' }],
          diff: [{ code: 1, stdout: '+    image: contoso.azurecr.io/team/web:2.0\n' }],
        },
      },
    );
    assert.ok(result.succeeded, failureMessage(result));
    const manifests = outputs(result)['renderedManifests'] ?? '';
    assert.deepEqual(
      recordedCalls(directory).map((call) => call.args),
      [
        ['get', '--filename', lookupFile(manifests), '--ignore-not-found', '--output=json'],
        [
          'apply',
          '--server-side',
          '--field-manager=azure-pipelines',
          '--dry-run=server',
          '--filename',
          manifests,
        ],
        ['diff', '--server-side', '--field-manager=azure-pipelines', '--filename', manifests],
      ],
    );
    assert.deepEqual(outputs(result), {
      renderedManifests: manifests,
      deployedImages: '',
      serviceEndpoints: '',
    });
    assert.match(result.stdout, /\n\+ {4}image: contoso\.azurecr\.io\/team\/web:2\.0\n/);
    assert.match(result.stdout, /loc_mock_DryRunDone 2/);
    assert.equal(result.commands.filter((c) => c.command === 'task.uploadfile').length, 1);
    assert.equal(result.commands.filter((c) => c.command === 'task.uploadsummary').length, 1);
    assertKubeconfigRemoved();
  });

  it('rolls back the changed workload when a pod crash-loops, and leaves the created one', async () => {
    const crashLoop = fs.readFileSync(path.join(PODS, 'crash-loop.json'), 'utf8');
    const result = await run(
      { rollbackOnFailure: 'true' },
      {
        answers: {
          [`get Namespace /${NS}`]: [
            { stdout: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }) },
          ],
          [`get Deployment ${NS}/web`]: [{ stdout: deployment('web', 'contoso.azurecr.io/team/web:1.0') }],
          [`get Deployment ${NS}/worker`]: [{ stdout: '' }],
          apply: [
            {
              stdout: JSON.stringify({
                apiVersion: 'v1',
                kind: 'List',
                items: [
                  JSON.parse(deployment('web', 'contoso.azurecr.io/team/web:2.0')),
                  JSON.parse(deployment('worker', 'contoso.azurecr.io/team/worker:1.0')),
                ],
              }),
            },
            { stdout: 'deployment.apps/web serverside-applied\n' },
          ],
          'rollout deployment/web': ['hang', {}],
          'list ReplicaSet,Pod app in (web,worker)': [
            { stdout: JSON.stringify({ items: [JSON.parse(crashLoop)] }) },
            { stdout: '{"items":[]}' },
          ],
          logs: [{ stdout: 'panic: no DATABASE_URL\n' }],
        },
      },
    );
    assertFailedWith(
      result,
      'loc_mock_ContainerCannotStart Deployment web-staging/web web-7d9c-efghi web CrashLoopBackOff: ' +
        'back-off 20s restarting failed container=web pod=web-7d9c-efghi_web-staging(0f0e); last exit: Error, code 1',
    );
    const calls = recordedCalls(directory);
    const applies = calls.filter((call) => call.args[0] === 'apply');
    assert.equal(applies.length, 2);
    const rollbackFile = applies[1]?.args.at(-1) ?? '';
    assert.equal(path.basename(rollbackFile), 'rollback.yaml');
    assert.deepEqual(applies[1]?.args, [
      'apply',
      '--server-side',
      '--field-manager=azure-pipelines',
      '--filename',
      rollbackFile,
    ]);
    assert.match(applies[1]?.file ?? '', /image: contoso\.azurecr\.io\/team\/web:1\.0/);
    assert.doesNotMatch(applies[1]?.file ?? '', /worker/);
    assert.ok(
      calls.some(
        (call) =>
          call.args.join(' ') ===
          `logs web-7d9c-efghi --container=web --namespace ${NS} --tail=50 --previous`,
      ),
    );
    assert.match(result.stdout, /loc_mock_RollbackLeavesCreated Deployment web-staging\/worker/);
    assert.match(result.stdout, /loc_mock_RolledBack Deployment web-staging\/web/);
    assert.match(
      result.stdout,
      /##\[group\]loc_mock_DiagnosticsGroup Deployment web-staging\/web\n(.*\n)*panic: no DATABASE_URL\n##\[endgroup\]/,
    );
    assertKubeconfigRemoved();
  });
});
