import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCommand, shellInvocation, type CommandOptions } from '../../tasks/run-acceptance-tests/command';
import { eventually, hasEnded } from '../support/processes';

describe('shellInvocation', () => {
  it('runs through cmd on Windows, keeping the command as written', () => {
    assert.deepEqual(shellInvocation('npx playwright test "a b"', 'win32'), {
      file: process.env['ComSpec'] ?? 'cmd.exe',
      args: ['/d', '/s', '/c', '"npx playwright test "a b""'],
      verbatim: true,
    });
  });
  it('runs through bash, or sh where there is no bash', () => {
    assert.deepEqual(
      shellInvocation('make test', 'linux', () => true),
      {
        file: '/bin/bash',
        args: ['-c', 'make test'],
        verbatim: false,
      },
    );
    assert.equal(shellInvocation('make test', 'linux', () => false).file, '/bin/sh');
  });
});

(process.platform === 'win32' ? describe.skip : describe)('runCommand', () => {
  let folder: string;
  let outputFd: number;
  const outputFile = (): string => path.join(folder, 'output.txt');
  const options = (overrides: Partial<CommandOptions> = {}): CommandOptions => ({
    baseUrl: 'http://127.0.0.1:8080/app',
    workingDirectory: folder,
    timeoutMs: 0,
    output: outputFd,
    killGraceMs: 1000,
    ...overrides,
  });

  beforeEach(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'command-'));
    outputFd = fs.openSync(outputFile(), 'w');
  });
  afterEach(() => {
    fs.closeSync(outputFd);
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('returns the exit code and writes the output where it is told, with BASE_URL set', async () => {
    const result = await runCommand('echo "testing $BASE_URL in $(pwd)"; echo oops >&2; exit 3', options());
    assert.deepEqual(result, { exitCode: 3, signal: null, timedOut: false, cancelled: false });
    assert.equal(
      fs.readFileSync(outputFile(), 'utf8'),
      `testing http://127.0.0.1:8080/app in ${fs.realpathSync(folder)}\noops\n`,
    );
  });

  it('returns 0 for a command that succeeds', async () => {
    assert.equal((await runCommand('true', options())).exitCode, 0);
  });

  it('kills the whole process tree when the command outlasts its timeout', async () => {
    const result = await runCommand(
      'sleep 30 & echo $! > background.pid; sleep 30 & echo $! > foreground.pid; wait',
      options({ timeoutMs: 300 }),
    );
    assert.deepEqual(result, { exitCode: null, signal: 'SIGTERM', timedOut: true, cancelled: false });
    for (const file of ['background.pid', 'foreground.pid']) {
      const pid = Number(fs.readFileSync(path.join(folder, file), 'utf8'));
      assert.ok(await eventually(() => hasEnded(pid)), `process ${pid} from ${file} is still running`);
    }
  });

  it('kills the whole process tree when the job is cancelled', async () => {
    const cancel = new AbortController();
    const running = runCommand('sleep 30 & echo $! > background.pid; echo started > started; wait', {
      ...options(),
      signal: cancel.signal,
    });
    assert.ok(await eventually(() => fs.existsSync(path.join(folder, 'started'))));
    cancel.abort();
    const result = await running;
    assert.deepEqual([result.cancelled, result.timedOut, result.exitCode], [true, false, null]);
    const pid = Number(fs.readFileSync(path.join(folder, 'background.pid'), 'utf8'));
    assert.ok(await eventually(() => hasEnded(pid)), `process ${pid} is still running`);
  });

  it('kills with SIGKILL what ignores SIGTERM, after the grace period', async () => {
    const result = await runCommand(
      "trap '' TERM; echo $$ > shell.pid; while true; do sleep 0.05; done",
      options({ timeoutMs: 200, killGraceMs: 200 }),
    );
    assert.deepEqual([result.timedOut, result.signal], [true, 'SIGKILL']);
  });

  it('resolves only once what it started is gone, a child that ignores SIGTERM included', async () => {
    const result = await runCommand(
      "( trap '' TERM; echo $BASHPID > stubborn.pid; exec sleep 30 ) & sleep 30",
      options({ timeoutMs: 300, killGraceMs: 200 }),
    );
    assert.equal(result.timedOut, true);
    const pid = Number(fs.readFileSync(path.join(folder, 'stubborn.pid'), 'utf8'));
    assert.ok(hasEnded(pid), `process ${pid} outlived the command`);
  });

  it('ends what a command that exited on its own left running in the background', async () => {
    const result = await runCommand(
      'sleep 30 & echo $! > leftover.pid; exit 0',
      options({ killGraceMs: 200 }),
    );
    assert.equal(result.exitCode, 0);
    const pid = Number(fs.readFileSync(path.join(folder, 'leftover.pid'), 'utf8'));
    assert.ok(hasEnded(pid), `process ${pid} outlived the command`);
  });
});
