import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseLoggingCommands, type LoggingCommand } from '../../scripts/agent';
import { shippedTaskManifest } from '../../scripts/layout';
import type { BodyName } from './fixtures/taskRunnerEntry';

const ENTRY = path.join(__dirname, 'fixtures', 'taskRunnerEntry.js');
// The manifest as the build ships it (the task's messages and the shared ones), written here rather
// than read from build/, where every tsc run puts back the task's own task.json without them.
const MANIFEST = shippedTaskManifest('fetch-keyvault-secrets');
const MESSAGES = MANIFEST.messages ?? {};
let taskJson = '';

interface Run {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly commands: readonly LoggingCommand[];
}

/** Runs the entry with one body as the agent runs a task: a plain node process, no mock runner. */
function runBody(body: BodyName): Promise<Run> {
  return new Promise((resolve, reject) => {
    // A fresh environment: no pipeline variables or inputs of this test process leak in.
    const child = spawn(process.execPath, [ENTRY, body, taskJson], {
      env: { PATH: process.env['PATH'] ?? '' },
      timeout: 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      if (signal !== null) reject(new Error(`the task was killed (${signal}); stdout:\n${stdout}`));
      else resolve({ exitCode, stdout, stderr, commands: parseLoggingCommands(stdout) });
    });
  });
}

/** The run's results as [result, message] pairs: a task must have exactly one. */
function completions(run: Run): [string | undefined, string][] {
  return run.commands
    .filter((c) => c.command === 'task.complete')
    .map((c) => [c.properties['result'], c.message]);
}

function assertCompletedOnce(run: Run, result: string, message: string): void {
  assert.deepEqual(completions(run), [[result, message]], `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
}

/** The issues the run raised as [type, message] pairs: a failed task shows its one line once, no stack. */
function issues(run: Run): [string | undefined, string][] {
  return run.commands.filter((c) => c.command === 'task.issue').map((c) => [c.properties['type'], c.message]);
}

/** Lines that are not logging commands: what the log shows as plain text. */
function plainLines(run: Run): string[] {
  return run.stdout.split(/\r?\n/).filter((line) => !line.startsWith('##vso['));
}

function debugMessages(run: Run): string[] {
  return run.commands.filter((c) => c.command === 'task.debug').map((c) => c.message);
}

describe('runTask', function () {
  // Each case starts a node process.
  this.timeout(60_000);

  let directory = '';
  before(() => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'run-task-'));
    taskJson = path.join(directory, 'task.json');
    fs.writeFileSync(taskJson, JSON.stringify(MANIFEST));
  });

  after(() => fs.rmSync(directory, { recursive: true, force: true }));

  it('reports Succeeded once when the body returns', async () => {
    const run = await runBody('returns');
    assertCompletedOnce(run, 'Succeeded', '');
    assert.ok(plainLines(run).includes('work done'));
    assert.equal(run.exitCode, 0);
  });

  it('fails with a UserError’s message alone', async () => {
    const run = await runBody('throwsUserError');
    assertCompletedOnce(run, 'Failed', "Input 'vaultUrl' must be an https:// URL; got 'ftp://contoso'.");
    assert.deepEqual(issues(run), [
      ['error', "Input 'vaultUrl' must be an https:// URL; got 'ftp://contoso'."],
    ]);
    assert.equal(
      debugMessages(run).some((line) => line.includes('UserError')),
      false,
      'a user error needs no stack, not even in the debug log',
    );
  });

  it('fails with the first line of an unexpected error and keeps its stack to the debug log', async () => {
    const run = await runBody('throwsTypeError');
    assertCompletedOnce(run, 'Failed', "Cannot read properties of undefined (reading 'split')");
    assert.deepEqual(issues(run), [['error', "Cannot read properties of undefined (reading 'split')"]]);
    const stack = debugMessages(run).find((line) => line.startsWith('TypeError: Cannot read properties'));
    assert.ok(stack !== undefined, 'the stack is in the debug log');
    assert.match(stack, /\n\s+at .*taskRunnerEntry\.js:\d+:\d+/);
    assert.deepEqual(
      plainLines(run).filter((line) => /^\s+at |while reading the answer/.test(line)),
      [],
      'no stack and no second line outside the debug log',
    );
  });

  it('fails, instead of ending silently, when the body awaits a promise that never settles', async () => {
    const run = await runBody('awaitsForever');
    assertCompletedOnce(run, 'Failed', MESSAGES['TaskEndedUnfinished'] ?? '');
  });

  it('fails once with an unhandled rejection while the body is still waiting', async () => {
    const run = await runBody('rejectsUnhandled');
    assertCompletedOnce(run, 'Failed', 'a rejection nobody handled');
    assert.deepEqual(issues(run), [['error', 'a rejection nobody handled']], 'one line, no stack');
    assert.equal(run.exitCode, 1);
  });

  it('fails once with the first line of an exception thrown outside the body', async () => {
    const run = await runBody('throwsFromTimer');
    assertCompletedOnce(run, 'Failed', 'thrown from a timer');
    assert.deepEqual(issues(run), [['error', 'thrown from a timer']], 'one line, no stack');
    assert.equal(run.exitCode, 1);
  });

  it('keeps the result it gave when a rejection comes after it, and logs that rejection for debugging', async () => {
    const run = await runBody('rejectsAfterResult');
    assertCompletedOnce(run, 'Succeeded', '');
    assert.deepEqual(issues(run), []);
    assert.ok(
      debugMessages(run).some((line) =>
        line.startsWith('after the result: Error: a rejection after the result'),
      ),
      `stdout:\n${run.stdout}`,
    );
  });

  it('reports the result and message a body returns', async () => {
    const failed = await runBody('returnsFailed');
    assertCompletedOnce(failed, 'Failed', '2 of 5 acceptance checks failed');
    const withIssues = await runBody('returnsSucceededWithIssues');
    assertCompletedOnce(withIssues, 'SucceededWithIssues', '1 check was skipped');
  });
});
