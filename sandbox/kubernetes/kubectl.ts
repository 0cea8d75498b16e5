import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface KubectlResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

export interface KubectlSession {
  readonly kubeconfigPath: string;
  /** This session's KUBECACHEDIR: discovery and OpenAPI caches never leak between tests. */
  readonly cacheDirectory: string;
  /** Runs kubectl; a non-zero exit is a result, not an exception. */
  run(args: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** Runs kubectl and throws (with stderr) unless it exits 0; returns stdout. */
  ok(args: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<string>;
  dispose(): void;
}

export interface KubectlSessionOptions {
  /** Where the session's files go (a fresh folder is made inside). */
  readonly parentDirectory: string;
  readonly kubeconfig: string;
  /** HTTPS_PROXY and friends; typically the sandbox's clientEnvironment. */
  readonly environment: Readonly<Record<string, string>>;
  readonly kubectlPath?: string;
}

/**
 * Real kubectl as a child process in a clean environment: its own HOME, KUBECONFIG and
 * KUBECACHEDIR, the sandbox proxy, nothing inherited but PATH. Asynchronous on purpose: the API
 * server answering kubectl runs in this same process.
 */
export function kubectlSession(options: KubectlSessionOptions): KubectlSession {
  const directory = fs.mkdtempSync(path.join(options.parentDirectory, 'kubectl-'));
  const kubeconfigPath = path.join(directory, 'kubeconfig');
  const cacheDirectory = path.join(directory, 'cache');
  fs.writeFileSync(kubeconfigPath, options.kubeconfig, { mode: 0o600 });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: directory,
    KUBECONFIG: kubeconfigPath,
    KUBECACHEDIR: cacheDirectory,
    ...options.environment,
  };
  const run = (
    args: readonly string[],
    runOptions: { input?: string; timeoutMs?: number } = {},
  ): Promise<KubectlResult> =>
    new Promise((resolve) => {
      const started = Date.now();
      const child = execFile(
        options.kubectlPath ?? 'kubectl',
        [...args],
        { env, timeout: runOptions.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
          resolve({ exitCode: code, stdout, stderr, durationMs: Date.now() - started });
        },
      );
      child.stdin?.end(runOptions.input ?? '');
    });
  return {
    kubeconfigPath,
    cacheDirectory,
    run,
    ok: async (args, runOptions) => {
      const result = await run(args, runOptions);
      if (result.exitCode !== 0) {
        throw new Error(
          `kubectl ${args.join(' ')} exited ${result.exitCode}:\n${result.stderr}${result.stdout}`,
        );
      }
      return result.stdout;
    },
    dispose: () => fs.rmSync(directory, { recursive: true, force: true }),
  };
}
