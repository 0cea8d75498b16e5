import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertFailedWith, failureMessage, runL0, type L0Result } from '../support/l0';
import { hasEnded } from '../support/processes';
import { installFakeKubectl } from './fakeKubectl';

interface KubectlCall {
  readonly pid: number;
  readonly args: readonly string[];
}

describe('RunAcceptanceTests through kubectl port-forward (L0)', () => {
  let folder: string;
  let kubectlLog: string;
  let checksFile: string;
  let kubeconfig: string;

  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'l0-accept-pf-'));
    installFakeKubectl(folder);
    kubectlLog = path.join(folder, 'kubectl.log');
    checksFile = path.join(folder, 'checks.yaml');
    fs.writeFileSync(
      checksFile,
      'checks:\n  - name: ok\n    request: { path: /ok }\n    expect: { status: 200 }\n',
    );
    kubeconfig = path.join(folder, 'kubeconfig');
    // Port 1 refuses at once: the server's version is simply unknown.
    fs.writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{ name: staging, cluster: { server: "http://127.0.0.1:1" } }]',
        'users: [{ name: ci, user: { token: kube-token-123 } }]',
        'contexts: [{ name: staging, context: { cluster: staging, user: ci } }]',
        'current-context: staging',
      ].join('\n'),
    );
  });
  afterEach(() => fs.rmSync(folder, { recursive: true, force: true }));

  async function run(inputs: Record<string, string>): Promise<L0Result> {
    return runL0({
      task: 'run-acceptance-tests',
      inputs: { connectionType: 'kubeconfig', kubeconfig, checksFile, retries: '0', ...inputs },
      variables: { 'System.DefaultWorkingDirectory': folder, 'Agent.TempDirectory': folder },
      env: { PATH: `${folder}${path.delimiter}${process.env['PATH'] ?? ''}`, FAKE_KUBECTL_LOG: kubectlLog },
    });
  }

  function kubectlCalls(): KubectlCall[] {
    return fs
      .readFileSync(kubectlLog, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as KubectlCall);
  }

  it('tests the Service on the local port kubectl forwards, then ends kubectl and removes the kubeconfig', async () => {
    const result = await run({ kubernetesService: 'web-staging/web:http', command: 'echo "at $BASE_URL"' });
    assert.ok(result.succeeded, failureMessage(result));
    const [call, ...more] = kubectlCalls();
    assert.equal(more.length, 0);
    const kubeconfigUsed = call?.args[1] ?? '';
    assert.deepEqual(call?.args, [
      '--kubeconfig',
      kubeconfigUsed,
      'port-forward',
      'service/web',
      ':http',
      '-n',
      'web-staging',
      '--address',
      '127.0.0.1',
    ]);
    const port = /loc_mock_PortForwardStarted (\d+) web-staging\/web:http/.exec(result.stdout)?.[1];
    assert.ok(port !== undefined, 'the forwarded port is logged');
    assert.match(result.stdout, new RegExp(`at http://127\\.0\\.0\\.1:${port}`));
    assert.match(result.stdout, /loc_mock_CheckPassed ok/);
    assert.ok(hasEnded(call?.pid ?? 0), 'kubectl port-forward is gone');
    assert.ok(!fs.existsSync(kubeconfigUsed), 'the task’s kubeconfig is removed');
  });

  it('fails with kubectl’s error naming the Service when the Service does not exist', async () => {
    const result = await run({ kubernetesService: 'web-staging/missing:80' });
    assertFailedWith(
      result,
      'loc_mock_PortForwardFailed web-staging/missing:80 Error from server (NotFound): services "missing" not found',
    );
    assert.ok(!fs.existsSync(kubectlCalls()[0]?.args[1] ?? ''), 'the task’s kubeconfig is removed');
  });

  it('ends kubectl, the command and the run when the job is cancelled', async () => {
    // The command plays the agent: it sends the task SIGINT, as a cancelled job does, then waits.
    const result = await run({
      kubernetesService: 'web-staging/web:80',
      command: 'echo $$ > command.pid; kill -INT $PPID; sleep 30',
    });
    assertFailedWith(result, 'loc_mock_Cancelled SIGINT');
    const [call] = kubectlCalls();
    assert.ok(hasEnded(call?.pid ?? 0), 'kubectl port-forward is gone');
    assert.ok(!fs.existsSync(call?.args[1] ?? ''), 'the task’s kubeconfig is removed');
    const commandPid = Number(fs.readFileSync(path.join(folder, 'command.pid'), 'utf8'));
    assert.ok(hasEnded(commandPid), 'the command is gone');
  });
});
