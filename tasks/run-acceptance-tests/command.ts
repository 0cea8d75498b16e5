import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import * as fs from 'node:fs';

export interface CommandOptions {
  readonly baseUrl: string;
  readonly workingDirectory: string;
  /** 0: no limit. */
  readonly timeoutMs: number;
  /** Aborted when the job is cancelled. */
  readonly signal?: AbortSignal;
  /**
   * Where the command's output goes: the task's own stdout and stderr (live, and the agent masks secrets
   * in it), or a file descriptor. Not a pipe: a background process the command leaves behind would hold
   * a pipe open and keep us waiting after the command has ended.
   */
  readonly output?: 'inherit' | number;
  /** After SIGTERM, how long the tree gets before SIGKILL. */
  readonly killGraceMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly platform?: NodeJS.Platform;
}

export interface CommandResult {
  /** Null when the command was ended by a signal. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
}

/** The shell and arguments that run `command` on `platform`: cmd on Windows, else bash (or sh without bash). */
export function shellInvocation(
  command: string,
  platform: NodeJS.Platform,
  bashExists: () => boolean = () => fs.existsSync('/bin/bash'),
): { file: string; args: string[]; verbatim: boolean } {
  if (platform === 'win32') {
    // As Node's own `shell: true`: /d skips AutoRun, /s keeps the quotes of the command as written.
    return {
      file: process.env['ComSpec'] ?? 'cmd.exe',
      args: ['/d', '/s', '/c', `"${command}"`],
      verbatim: true,
    };
  }
  return { file: bashExists() ? '/bin/bash' : '/bin/sh', args: ['-c', command], verbatim: false };
}

/**
 * Runs `command` through the platform's shell with `BASE_URL` set; resolves when it exits. On timeout or
 * cancellation its whole process tree is ended, not just the shell: a test runner's browsers and servers
 * would otherwise outlive the task.
 */
export function runCommand(command: string, options: CommandOptions): Promise<CommandResult> {
  const platform = options.platform ?? process.platform;
  const shell = shellInvocation(command, platform);
  const stdio: StdioOptions = ['ignore', options.output ?? 'inherit', options.output ?? 'inherit'];
  return new Promise((resolve, reject) => {
    let timedOut = false;
    let cancelled = false;
    const child = spawn(shell.file, shell.args, {
      cwd: options.workingDirectory,
      env: { ...(options.env ?? process.env), BASE_URL: options.baseUrl },
      stdio,
      // Its own process group on POSIX, so the group (the shell and everything it started) can be signalled.
      detached: platform !== 'win32',
      windowsVerbatimArguments: shell.verbatim,
      windowsHide: true,
    });
    const stop = (): void => killTree(child, platform, options.killGraceMs ?? 5000);
    const timer =
      options.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            stop();
          }, options.timeoutMs)
        : undefined;
    const onAbort = (): void => {
      cancelled = true;
      stop();
    };
    if (options.signal?.aborted === true) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (error) => {
      settle();
      reject(error);
    });
    child.once('exit', (exitCode, signal) => {
      settle();
      resolve({ exitCode, signal, timedOut, cancelled });
    });
  });
}

/** SIGTERM to the process group, SIGKILL after the grace period for what is left of it. */
function killTree(child: ChildProcess, platform: NodeJS.Platform, graceMs: number): void {
  const pid = child.pid;
  if (pid === undefined) return;
  if (platform === 'win32') {
    // Windows has no process groups to signal; taskkill /t walks the tree.
    spawnSync('taskkill', ['/pid', String(pid), '/t', '/f'], { stdio: 'ignore', windowsHide: true });
    return;
  }
  signalGroup(pid, 'SIGTERM');
  // The group may outlive the shell (a background process), so SIGKILL goes to the group even after exit.
  setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs).unref();
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group has already gone.
  }
}
