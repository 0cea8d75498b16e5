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
 * Runs `command` through the platform's shell with `BASE_URL` set; resolves once it and everything it
 * started are gone. On timeout or cancellation the whole process tree is ended, not just the shell; when
 * the shell exits on its own, what it left running in its process group (a test runner's browsers, a
 * server started in the background) is ended too: it would hold the step's output open and outlive the
 * task. A process that left the group (`setsid`) is beyond reach.
 */
export function runCommand(command: string, options: CommandOptions): Promise<CommandResult> {
  const platform = options.platform ?? process.platform;
  const graceMs = options.killGraceMs ?? 5000;
  const shell = shellInvocation(command, platform);
  const stdio: StdioOptions = ['ignore', options.output ?? 'inherit', options.output ?? 'inherit'];
  return new Promise((resolve, reject) => {
    let timedOut = false;
    let cancelled = false;
    let stopping = false;
    let escalation: NodeJS.Timeout | undefined;
    const child = spawn(shell.file, shell.args, {
      cwd: options.workingDirectory,
      env: { ...(options.env ?? process.env), BASE_URL: options.baseUrl },
      stdio,
      // Its own process group on POSIX, so the group (the shell and everything it started) can be signalled.
      detached: platform !== 'win32',
      windowsVerbatimArguments: shell.verbatim,
      windowsHide: true,
    });
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      killTree(child, platform);
      // A shell that ignores SIGTERM still ends: SIGKILL after the grace period.
      if (platform !== 'win32' && child.pid !== undefined) {
        const pid = child.pid;
        escalation = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
      }
    };
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
      clearTimeout(escalation);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (error) => {
      settle();
      reject(error);
    });
    child.once('exit', (exitCode, signal) => {
      settle();
      const ended = { exitCode, signal, timedOut, cancelled };
      if (platform === 'win32' || child.pid === undefined) {
        resolve(ended);
        return;
      }
      void endGroup(child.pid, stopping, graceMs).then(() => resolve(ended));
    });
  });
}

/** Windows: taskkill walks the tree. POSIX: SIGTERM to the process group. */
function killTree(child: ChildProcess, platform: NodeJS.Platform): void {
  const pid = child.pid;
  if (pid === undefined) return;
  if (platform === 'win32') {
    // Windows has no process groups to signal; taskkill /t walks the tree.
    spawnSync('taskkill', ['/pid', String(pid), '/t', '/f'], { stdio: 'ignore', windowsHide: true });
    return;
  }
  signalGroup(pid, 'SIGTERM');
}

/**
 * Ends what is left of process group `pid` once its shell has exited: SIGTERM (unless it was already
 * sent), then SIGKILL for what is still there after the grace period. Resolves when the group is gone.
 */
async function endGroup(pid: number, termSent: boolean, graceMs: number): Promise<void> {
  if (!groupExists(pid)) return;
  if (!termSent) signalGroup(pid, 'SIGTERM');
  if (await groupGoneWithin(pid, graceMs)) return;
  signalGroup(pid, 'SIGKILL');
  // Killed processes are reaped by init within moments; the wait is bounded all the same.
  await groupGoneWithin(pid, 1000);
}

async function groupGoneWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (groupExists(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/**
 * Whether a live process is left in group `pid`. A zombie does not count: on an agent whose PID 1 does
 * not reap orphans, the group's dead would otherwise look alive until the wait ran out.
 */
function groupExists(pid: number): boolean {
  try {
    process.kill(-pid, 0);
  } catch (error: unknown) {
    // EPERM: a member exists that we may not signal.
    return (error as { code?: unknown }).code === 'EPERM';
  }
  return process.platform !== 'linux' || liveMembersOnLinux(pid);
}

function liveMembersOnLinux(group: number): boolean {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return true;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // `pid (comm) state ppid pgrp …`: comm may hold spaces and parentheses, so count from the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === group && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group has already gone.
  }
}
