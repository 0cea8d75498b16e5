import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertFailedWith, failureMessage, runL0, type L0Result, type L0Scenario } from '../support/l0';
import { eventually, hasEnded } from '../support/processes';
import { startFakeApp } from './fakeKubectl';

const TOKEN = 's3cr3t-token-value';

/** The value of output `name`. */
function output(result: L0Result, name: string): string | undefined {
  return result.commands.find(
    (c) =>
      c.command === 'task.setvariable' &&
      c.properties['variable'] === name &&
      c.properties['isOutput'] === 'true',
  )?.message;
}

function commandsNamed(result: L0Result, command: string): L0Result['commands'] {
  return result.commands.filter((c) => c.command === command);
}

function registeredSecrets(result: L0Result): string[] {
  return commandsNamed(result, 'task.setsecret').map((c) => c.message);
}

describe('RunAcceptanceTests run (L0)', () => {
  let app: { baseUrl: string; stop(): void };
  let folder: string;
  let checksFile: string;

  before(async () => {
    app = await startFakeApp();
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'l0-accept-run-'));
    checksFile = path.join(folder, 'checks.yaml');
    fs.writeFileSync(
      checksFile,
      [
        'checks:',
        '  - name: health answers',
        '    request: { path: /healthz }',
        '    expect: { status: 200, body: { json: { "$.status": ok } } }',
        '  - name: orders page answers',
        '    request: { path: /fail }',
        '    expect: { status: 200 }',
      ].join('\n'),
    );
  });
  after(() => {
    app.stop();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  function scenario(inputs: Record<string, string>, extra: Partial<L0Scenario> = {}): L0Scenario {
    return {
      task: 'run-acceptance-tests',
      inputs: { baseUrl: app.baseUrl, retries: '0', ...inputs },
      variables: { 'System.DefaultWorkingDirectory': folder, 'Agent.TempDirectory': folder },
      ...extra,
    };
  }

  it('fails naming how many checks failed, publishes the checks’ JUnit file and sets the outputs', async () => {
    const result = await runL0(
      scenario({
        checksFile,
        headers: `Authorization: Bearer ${TOKEN}\nX-Env: staging`,
        testRunTitle: 'Staging acceptance',
      }),
    );
    assertFailedWith(result, 'loc_mock_ChecksFailed 1 2');
    assert.equal(output(result, 'passed'), '1');
    assert.equal(output(result, 'failed'), '1');
    const junitFile = output(result, 'testResultsFile') ?? '';
    assert.ok(fs.existsSync(junitFile), `the JUnit file ${junitFile} exists`);
    const junit = fs.readFileSync(junitFile, 'utf8');
    assert.match(junit, /<testcase [^>]*name="orders page answers"/);
    assert.ok(!junit.includes(TOKEN), 'the echoed token is masked in the JUnit file');
    const [publish, ...morePublishes] = commandsNamed(result, 'results.publish');
    assert.equal(morePublishes.length, 0);
    assert.deepEqual(publish?.properties, {
      type: 'JUnit',
      mergeResults: 'true',
      runTitle: 'Staging acceptance',
      resultFiles: junitFile,
      publishRunAttachments: 'true',
      failTaskOnFailedTests: 'false',
      testRunSystem: 'VSTSTask',
    });
    const [summary] = commandsNamed(result, 'task.uploadsummary');
    assert.match(fs.readFileSync(summary?.message ?? '', 'utf8'), /Staging acceptance: 1 passed, 1 failed/);
  });

  it('registers credential-like header values before anything prints, and not ordinary ones', async () => {
    const result = await runL0(
      scenario({
        checksFile,
        headers: `Authorization: Bearer ${TOKEN}\nX-Api-Key: key-42-value\nX-Env: staging`,
      }),
    );
    const secrets = registeredSecrets(result);
    for (const value of [`Bearer ${TOKEN}`, TOKEN, 'key-42-value']) assert.ok(secrets.includes(value), value);
    assert.ok(!secrets.includes('staging'), 'an ordinary header value is not masked job-wide');
    const firstSecret = result.stdout.indexOf('##vso[task.setsecret]');
    const firstLog = result.stdout.indexOf('loc_mock_TestingBaseUrl');
    assert.ok(firstSecret >= 0 && firstSecret < firstLog, 'secrets are registered before the first log line');
  });

  it('succeeds when every check passes, and publishes nothing when publishResults is false', async () => {
    const passingChecks = path.join(folder, 'passing.yaml');
    fs.writeFileSync(
      passingChecks,
      'checks:\n  - name: ok\n    request: { path: /ok }\n    expect: { status: 200 }\n',
    );
    const result = await runL0(scenario({ checksFile: passingChecks, publishResults: 'false' }));
    assert.ok(result.succeeded, failureMessage(result));
    assert.equal(output(result, 'passed'), '1');
    assert.equal(output(result, 'failed'), '0');
    assert.equal(commandsNamed(result, 'results.publish').length, 0);
    assert.equal(commandsNamed(result, 'task.uploadsummary').length, 1);
  });

  it('fails on a readiness path that never answers 2xx, naming what it got, and runs no checks', async () => {
    const result = await runL0(scenario({ checksFile, readinessPath: '/not-here', readinessTimeout: '0' }));
    assertFailedWith(result, `loc_mock_ReadinessFailed ${app.baseUrl}/not-here 0 HTTP 404`);
    assert.equal(output(result, 'testResultsFile'), '');
    assert.doesNotMatch(result.stdout, /loc_mock_RunningChecks/);
  });

  it('runs the command with BASE_URL and publishes the JUnit files it writes with the checks’ file', async () => {
    const commandJunit = path.join(folder, 'results', 'e2e.xml');
    const command =
      `mkdir -p results && echo "$BASE_URL" > results/base-url.txt && ` +
      `echo '<testsuites><testsuite name="e2e" tests="0"/></testsuites>' > ${commandJunit}`;
    const result = await runL0(
      scenario(
        { checksFile, command, junitFiles: 'results/*.xml' },
        { answers: { findMatch: { 'results/*.xml': [commandJunit] } } },
      ),
    );
    assertFailedWith(result, 'loc_mock_ChecksFailed 1 2');
    assert.equal(fs.readFileSync(path.join(folder, 'results', 'base-url.txt'), 'utf8').trim(), app.baseUrl);
    assert.match(result.stdout, /loc_mock_CommandPassed/);
    const [publish] = commandsNamed(result, 'results.publish');
    assert.equal(publish?.properties['resultFiles'], `${output(result, 'testResultsFile')},${commandJunit}`);
  });

  it('fails naming the exit code of a failing command, with no checks file', async () => {
    const result = await runL0(scenario({ command: 'echo testing "$BASE_URL"; exit 3' }));
    assertFailedWith(result, 'loc_mock_CommandExitCode 3');
    assert.match(result.stdout, new RegExp(`testing ${app.baseUrl}`));
    assert.equal(output(result, 'testResultsFile'), '');
    assert.equal(commandsNamed(result, 'results.publish').length, 0);
  });

  it('ends a command that outlives commandTimeout, with what it started, and fails saying so', async () => {
    const pidFile = path.join(folder, 'sleeper.pid');
    const result = await runL0(
      scenario({ command: `sleep 60 & echo $! > ${pidFile}; wait`, commandTimeout: '1' }),
    );
    assertFailedWith(result, 'loc_mock_CommandTimedOut 1');
    const sleeper = Number(fs.readFileSync(pidFile, 'utf8'));
    assert.ok(await eventually(() => hasEnded(sleeper)), `sleep ${sleeper} outlived the task`);
  });

  it('warns when the junitFiles glob matches nothing', async () => {
    const result = await runL0(
      scenario(
        { command: 'true', junitFiles: 'nothing/*.xml' },
        { answers: { findMatch: { 'nothing/*.xml': [] } } },
      ),
    );
    assert.ok(result.succeeded, failureMessage(result));
    assert.deepEqual(result.warnings, ['loc_mock_JunitFilesNotFound nothing/*.xml']);
  });
});
