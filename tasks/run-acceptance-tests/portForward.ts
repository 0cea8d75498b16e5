import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as readline from 'node:readline';
import { userError } from './messages';
import { firstLine } from '../common/errors';

/** `namespace/service:port`, the `kubernetesService` input. */
export interface ServiceTarget {
  readonly namespace: string;
  readonly name: string;
  /** A port number or the name of one of the Service's ports. */
  readonly port: string;
}

export type SpawnProcess = (file: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export interface PortForwardOptions {
  readonly kubectlPath: string;
  readonly kubeconfigPath: string;
  readonly env: NodeJS.ProcessEnv;
  readonly service: ServiceTarget;
  /** How long kubectl may take to report its local port. */
  readonly readyTimeoutMs?: number;
  /** After SIGTERM, how long kubectl gets before SIGKILL. */
  readonly killGraceMs?: number;
  /** Lines kubectl prints once forwarding (`Handling connection for …`, forwarding errors). */
  readonly onOutput?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** kubectl ended on its own after forwarding began (the pod went away, the connection dropped). */
  readonly onEndedEarly?: (reason: string) => void;
  readonly spawn?: SpawnProcess;
}

export interface PortForward {
  /** `http://127.0.0.1:<port>`. */
  readonly baseUrl: string;
  readonly localPort: number;
  /** Ends kubectl: SIGTERM at once (synchronously, so a signal handler can rely on it), SIGKILL after the grace period. */
  stop(): Promise<void>;
}

export const DEFAULT_READY_TIMEOUT_MS = 30_000;

// kubectl 1.20 to 1.32: `Forwarding from 127.0.0.1:41234 -> 8080`.
const FORWARDING = /^Forwarding from 127\.0\.0\.1:(\d+) -> /;

export function describeService(service: ServiceTarget): string {
  return `${service.namespace}/${service.name}:${service.port}`;
}

/** The arguments of `kubectl port-forward` to `service` on a local port the system chooses, on loopback only. */
export function portForwardArgs(kubeconfigPath: string, service: ServiceTarget): string[] {
  return [
    '--kubeconfig',
    kubeconfigPath,
    'port-forward',
    `service/${service.name}`,
    `:${service.port}`,
    '-n',
    service.namespace,
    '--address',
    '127.0.0.1',
  ];
}

/**
 * Starts `kubectl port-forward` and resolves once kubectl names its local port. An `error:` line from
 * kubectl, an early exit or no port within the ready timeout fails with one line naming the service;
 * kubectl is stopped in each case.
 */
export function startPortForward(options: PortForwardOptions): Promise<PortForward> {
  const service = describeService(options.service);
  const child = (options.spawn ?? spawn)(
    options.kubectlPath,
    portForwardArgs(options.kubeconfigPath, options.service),
    // stdin ignored: kubectl then never waits for a terminal.
    { env: options.env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true },
  );
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('close', () => resolve());
  });
  let stopping = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    // No pid: it never started.
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), options.killGraceMs ?? 5000);
      await exited;
      clearTimeout(timer);
    }
  };

  return new Promise<PortForward>((resolve, reject) => {
    let settled = false;
    let forwarding = false;
    const stderrLines: string[] = [];
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Stopped before the caller hears of the failure, so nothing is left behind.
      void stop().then(() => reject(error));
    };
    const timer = setTimeout(
      () =>
        fail(
          userError(
            'PortForwardTimedOut',
            service,
            Math.round((options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS) / 1000),
          ),
        ),
      options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    );

    if (child.stdout !== null) {
      readline.createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
        const match = FORWARDING.exec(line);
        if (!settled && match?.[1] !== undefined) {
          settled = forwarding = true;
          clearTimeout(timer);
          const localPort = Number(match[1]);
          resolve({ baseUrl: `http://127.0.0.1:${localPort}`, localPort, stop });
        } else if (forwarding) {
          options.onOutput?.(line, 'stdout');
        }
      });
    }
    if (child.stderr !== null) {
      readline.createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
        stderrLines.push(line);
        if (forwarding) {
          // Only the last complaint matters once forwarding: kubectl may repeat errors for hours.
          stderrLines.splice(0, stderrLines.length - 1);
          options.onOutput?.(line, 'stderr');
          return;
        }
        // `error: …` and `Error from server (NotFound): services "web" not found`.
        if (/^error\b/i.test(line.trim())) fail(userError('PortForwardFailed', service, firstLine(line)));
      });
    }
    child.once('error', (error) => fail(userError('PortForwardNotStarted', service, error.message)));
    child.once('close', (code, signal) => {
      const said = stderrLines.filter((line) => line.trim() !== '');
      // Before forwarding, kubectl's first complaint says why; after, its last one.
      const reason = firstLine(forwarding ? said.at(-1) : said[0]) || `exit code ${code ?? signal}`;
      if (forwarding) {
        if (!stopping) options.onEndedEarly?.(reason);
        return;
      }
      fail(userError('PortForwardFailed', service, reason));
    });
  });
}
