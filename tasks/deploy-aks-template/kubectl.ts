import { execFile } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { UserError, firstLine } from '../common/errors';
import { userError } from './messages';
import { apiGroupOf, isJsonObject, type JsonObject } from './kubernetesObject';

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface KubectlRunOptions {
  /** The process is stopped after this long, whatever kubectl is waiting for. */
  readonly timeoutMs: number;
  /** Stops the process early (a rollout wait that another workload's failure made pointless). */
  readonly signal?: AbortSignal;
  /** Given what kubectl prints on stdout as it prints it (a rollout wait's progress). */
  readonly onStdout?: (text: string) => void;
}

/**
 * Runs kubectl with these arguments; resolves with any exit code. Rejects with a
 * KubectlTimeoutError when the time limit stopped it, or another error when it could not run it.
 */
export type KubectlRunner = (args: readonly string[], options: KubectlRunOptions) => Promise<KubectlResult>;

export interface KubectlSettings {
  readonly kubeconfig: string;
  /** kubectl's `--request-timeout`, for each HTTP request it makes. */
  readonly requestTimeoutSeconds: number;
  /** How long one try of a command (apply, get, …) may take, discovery and kubectl's own retries included. */
  readonly commandTimeoutSeconds: number;
  /**
   * The pauses before each new try of an idempotent command (reads, server-side apply, diff) that
   * failed on the network or an API server that could not answer; default 1 s, 2 s, then 4 s: one
   * kubectl command is many requests (discovery, OpenAPI, one per object), any of which can meet the fault.
   */
  readonly retryDelaysMs?: readonly number[];
}

const DEFAULT_RETRY_DELAYS_MS = [1000, 2000, 4000];

/**
 * kubectl's words for a failure that another try may not meet: the connection (reset, refused,
 * lost, timed out, cut short), or an API server or its etcd that could not answer (429, 5xx,
 * timeouts), also while kubectl discovers the API or downloads its OpenAPI schema for validation.
 * Not a refusal, a conflict, a validation error or a missing object.
 */
const TRANSIENT_FAILURE =
  /Unable to connect to the server|connection reset by peer|connection refused|broken pipe|http2: client connection lost|i\/o timeout|TLS handshake timeout|unexpected EOF|: EOF\b|Client\.Timeout exceeded|net\/http: request canceled|\((TooManyRequests|ServiceUnavailable|Timeout|ServerTimeout|InternalError)\)|the server is currently unable to handle the request|an error on the server .* has prevented the request from succeeding|failed to download openapi|etcdserver: (request timed out|leader changed)/i;

/** Failures that read like the network's but last: a certificate, a credential plugin. */
const LASTING_FAILURE = /x509:|certificate|getting credentials|exec plugin/i;

/**
 * Whether a kubectl run that failed did so in a way worth another try (see TRANSIENT_FAILURE): one
 * of its own lines says so (an apply goes on after a dropped request, and the objects after it then
 * fail for want of the namespace it was creating) and none says the failure lasts. kubectl's log
 * lines do not count: it logs an aggregated API that is down (`memcache.go] couldn't get resource
 * list …: the server is currently unable to handle the request`) on every command, whatever else
 * went wrong.
 */
export function isTransientFailure(result: KubectlResult): boolean {
  if (result.code === 0) return false;
  const lines = ownLines(result.stderr);
  return (
    lines.some((line) => TRANSIENT_FAILURE.test(line)) && !lines.some((line) => LASTING_FAILURE.test(line))
  );
}

export const FIELD_MANAGER = 'azure-pipelines';

export interface ApplyOptions {
  readonly serverSide: true;
  readonly fieldManager: string;
  readonly forceConflicts: boolean;
  readonly dryRun: 'server' | undefined;
}

export interface ObjectReference {
  readonly kind: string;
  readonly name: string;
}

export interface ApplyConflict {
  readonly manager: string;
  readonly field: string;
}

/** kubectl was stopped because it ran past its time limit. */
export class KubectlTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`kubectl was stopped after ${timeoutMs} ms`);
    this.name = 'KubectlTimeoutError';
  }
}

/** kubectl was stopped through its abort signal: whoever aborted it no longer needs its answer. */
export class KubectlAbortedError extends Error {
  constructor() {
    super('kubectl was stopped because its result is no longer needed');
    this.name = 'KubectlAbortedError';
  }
}

/** A kubectl command that exited with an error; the message is its first stderr line. */
export class KubectlError extends UserError {
  constructor(
    readonly command: string,
    readonly result: KubectlResult,
  ) {
    super(userError('KubectlFailed', command, result.code, errorLine(result.stderr)).message);
    this.name = 'KubectlError';
  }
}

/**
 * The kubectl commands the task uses, each with `--kubeconfig` and `--request-timeout`, so that no
 * call can read another cluster's configuration from the agent or hang on a silent server.
 */
export class Kubectl {
  constructor(
    private readonly run: KubectlRunner,
    private readonly settings: KubectlSettings,
  ) {}

  /** Server-side apply of the files; kubectl's `name verb` lines. A field conflict explains itself. */
  async apply(files: readonly string[], options: ApplyOptions): Promise<string[]> {
    const result = await this.runApply(files, options, []);
    return nonEmptyLines(result.stdout);
  }

  /**
   * Server-side apply (never a dry run) that also returns the objects as the API server stored them
   * (`--output=json`), so that nothing needs reading again after it; the lines are the
   * `kind.group/name serverside-applied` ones kubectl prints without `--output`.
   */
  async applyReturningObjects(
    files: readonly string[],
    options: Omit<ApplyOptions, 'dryRun'>,
  ): Promise<{ lines: string[]; objects: JsonObject[] }> {
    const result = await this.runApply(files, { ...options, dryRun: undefined }, ['--output=json']);
    const objects = objectsOf(result.stdout);
    return { lines: objects.map(appliedLine), objects };
  }

  private async runApply(
    files: readonly string[],
    options: ApplyOptions,
    output: readonly string[],
  ): Promise<KubectlResult> {
    const args = [
      'apply',
      '--server-side',
      `--field-manager=${options.fieldManager}`,
      ...(options.forceConflicts ? ['--force-conflicts'] : []),
      ...(options.dryRun === undefined ? [] : [`--dry-run=${options.dryRun}`]),
      ...output,
      ...files.flatMap((file) => ['--filename', file]),
    ];
    // Server-side apply is idempotent: a second try after a dropped connection applies the same
    // objects again, so a transient failure never leaves the manifests half-applied.
    const result = await this.executeRetrying(args);
    if (result.code !== 0) {
      const conflicts = parseApplyConflicts(result.stderr);
      if (conflicts.length > 0) {
        const list = conflicts.map(({ manager, field }) => `${field} (owned by ${manager})`).join(', ');
        throw userError('ApplyConflict', list);
      }
      // A Job's pod template cannot change; with `images` it changes on every deploy after the first.
      const immutableJob = IMMUTABLE_JOB.exec(result.stderr)?.[1];
      if (immutableJob !== undefined) throw userError('JobTemplateImmutable', immutableJob);
      throw new KubectlError('apply', result);
    }
    return result;
  }

  /**
   * A client-side dry run (kubectl's own schema checks, nothing applied): for objects a server-side
   * dry run cannot take, those of a namespace that does not exist yet. kubectl's `… created (dry run)` lines.
   */
  async validateClientSide(files: readonly string[]): Promise<string[]> {
    const result = await this.executeRetrying([
      'apply',
      '--dry-run=client',
      ...files.flatMap((file) => ['--filename', file]),
    ]);
    if (result.code !== 0) throw new KubectlError('apply --dry-run=client', result);
    return nonEmptyLines(result.stdout);
  }

  /**
   * What server-side apply would change, as `kubectl diff` prints it; its exit code 1 only means
   * "differences". kubectl runs an external `diff` program (KUBECTL_EXTERNAL_DIFF or `diff` on PATH).
   */
  async diff(
    files: readonly string[],
    options: Pick<ApplyOptions, 'fieldManager' | 'forceConflicts'>,
  ): Promise<{ changed: boolean; diff: string }> {
    const args = [
      'diff',
      '--server-side',
      `--field-manager=${options.fieldManager}`,
      ...(options.forceConflicts ? ['--force-conflicts'] : []),
      ...files.flatMap((file) => ['--filename', file]),
    ];
    // Exit code 1 only means "differences": not a failure to try again.
    const result = await this.executeRetrying(args, 0, undefined, (outcome) => outcome.code > 1);
    if (result.code > 1) throw new KubectlError('diff', result);
    return { changed: result.code === 1, diff: result.stdout };
  }

  /**
   * Waits for the rollouts of workloads of one namespace in one kubectl process, which waits for them
   * in turn (each within `timeoutSeconds` of its turn): `rollout status`, or `kubectl wait
   * --for=condition=Complete` for Jobs, which have no rollout in kubectl's sense. Jobs and the other
   * kinds cannot share a call. `onFinished(i)` is called as kubectl reports the i-th one finished.
   */
  async rolloutStatus(
    workloads: readonly ObjectReference[],
    namespace: string,
    timeoutSeconds: number,
    options: { signal?: AbortSignal; onFinished?: (index: number) => void } = {},
  ): Promise<void> {
    const jobs = workloads.filter(({ kind }) => kind === 'Job').length;
    if (jobs !== 0 && jobs !== workloads.length) throw new Error('Jobs and rollouts are waited for apart');
    const resources = workloads.map(({ kind, name }) => `${kind.toLowerCase()}/${name}`);
    const args =
      jobs > 0
        ? ['wait', ...resources, '--for=condition=Complete', `--timeout=${timeoutSeconds}s`]
        : ['rollout', 'status', ...resources, '--watch=true', `--timeout=${timeoutSeconds}s`];
    const finished =
      jobs > 0 ? /condition met/ : /successfully rolled out|rolling update complete|roll out complete/;
    // Another try waits for the same workloads in the same order and reports the finished ones again,
    // so each try counts its lines from the first.
    const { onFinished } = options;
    const result = await this.executeRetrying([...args, '--namespace', namespace], timeoutSeconds, () => ({
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(onFinished === undefined ? {} : { onStdout: linesCounter(finished, onFinished) }),
    }));
    if (result.code !== 0) throw new KubectlError(jobs > 0 ? 'wait' : 'rollout status', result);
  }

  /**
   * Every object of the files' kinds, names and namespaces that the cluster has, in one kubectl
   * process: the files only need to address the objects (apiVersion, kind, name, namespace).
   */
  async getObjects(files: readonly string[]): Promise<JsonObject[]> {
    const result = await this.executeRetrying([
      'get',
      ...files.flatMap((file) => ['--filename', file]),
      '--ignore-not-found',
      '--output=json',
    ]);
    if (result.code !== 0) throw new KubectlError('get', result);
    return objectsOf(result.stdout);
  }

  /** The named objects of one kind in one namespace, those that exist, in one process. */
  async getNamed(
    kind: string,
    names: readonly string[],
    namespace: string,
    signal?: AbortSignal,
  ): Promise<JsonObject[]> {
    const result = await this.executeRetrying(
      [
        'get',
        ...names.map((name) => `${kind.toLowerCase()}/${name}`),
        '--namespace',
        namespace,
        '--ignore-not-found',
        '--output=json',
      ],
      0,
      () => (signal === undefined ? {} : { signal }),
    );
    if (result.code !== 0) throw new KubectlError('get', result);
    return objectsOf(result.stdout);
  }

  /** The objects of these kinds (several in one process) that match the label selector. */
  async list(
    kinds: readonly string[],
    namespace: string,
    labelSelector: string,
    signal?: AbortSignal,
  ): Promise<JsonObject[]> {
    const result = await this.executeRetrying(
      ['get', kinds.join(','), '--namespace', namespace, `--selector=${labelSelector}`, '--output=json'],
      0,
      () => (signal === undefined ? {} : { signal }),
    );
    if (result.code !== 0) throw new KubectlError('get', result);
    return itemsOf(parseJsonObject(result.stdout));
  }

  /** The events about one object, oldest first. */
  async events(namespace: string, involvedObject: ObjectReference): Promise<JsonObject[]> {
    const result = await this.executeRetrying([
      'get',
      'events',
      '--namespace',
      namespace,
      `--field-selector=involvedObject.kind=${involvedObject.kind},involvedObject.name=${involvedObject.name}`,
      '--output=json',
    ]);
    if (result.code !== 0) throw new KubectlError('get events', result);
    return itemsOf(parseJsonObject(result.stdout)).sort((a, b) => compareText(eventTime(a), eventTime(b)));
  }

  /** The last lines a container wrote; `previous` for the instance before a restart (a crash loop). */
  async logs(
    pod: string,
    container: string,
    namespace: string,
    options: { previous: boolean; tail: number },
  ): Promise<string> {
    const result = await this.executeRetrying([
      'logs',
      pod,
      `--container=${container}`,
      '--namespace',
      namespace,
      `--tail=${options.tail}`,
      ...(options.previous ? ['--previous'] : []),
    ]);
    if (result.code !== 0) throw new KubectlError('logs', result);
    return result.stdout;
  }

  /**
   * execute for a command that may be run again: another try after each transient failure (see
   * isTransientFailure), at most as many as `retryDelaysMs` allows, each within its own time limit.
   * The last try's result is returned, whatever it is.
   */
  private async executeRetrying(
    command: readonly string[],
    waitSeconds = 0,
    optionsOfTry: () => Omit<KubectlRunOptions, 'timeoutMs'> = () => ({}),
    failed: (result: KubectlResult) => boolean = (result) => result.code !== 0,
  ): Promise<KubectlResult> {
    const delays = this.settings.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    for (let attempt = 0; ; attempt++) {
      const options = optionsOfTry();
      const result = await this.execute(command, waitSeconds, options);
      const pause = delays[attempt];
      if (pause === undefined || !failed(result) || !isTransientFailure(result)) return result;
      await delay(pause, undefined, options.signal === undefined ? {} : { signal: options.signal }).catch(
        () => undefined,
      );
      // Stopped while pausing: whoever stopped it needs no answer, so no kubectl is started for it.
      if (options.signal?.aborted === true) return result;
    }
  }

  /** `waitSeconds`: how long the command itself is asked to wait, on top of the usual time limit. */
  private async execute(
    command: readonly string[],
    waitSeconds = 0,
    options: Omit<KubectlRunOptions, 'timeoutMs'> = {},
  ): Promise<KubectlResult> {
    const { kubeconfig, requestTimeoutSeconds, commandTimeoutSeconds } = this.settings;
    const timeoutSeconds = waitSeconds + commandTimeoutSeconds;
    try {
      return await this.run(
        ['--kubeconfig', kubeconfig, `--request-timeout=${requestTimeoutSeconds}s`, ...command],
        {
          timeoutMs: timeoutSeconds * 1000,
          ...options,
        },
      );
    } catch (error: unknown) {
      if (error instanceof KubectlTimeoutError)
        throw userError('KubectlTimedOut', command[0], timeoutSeconds);
      throw error;
    }
  }
}

/** The API server's refusal of a changed pod template in an existing Job. */
const IMMUTABLE_JOB = /(?:The Job|Job\.batch) "([^"]+)" is invalid: spec\.template: .*field is immutable/;

/** A line of kubectl's own log (`E1201 05:00:00.123456   4242 memcache.go:287] …`), not its error. */
const KLOG_LINE = /^[IWEF]\d{4} \d{2}:\d{2}:\d{2}/;

/** kubectl's stderr without blank lines and without its log lines (see KLOG_LINE). */
function ownLines(stderr: string): string[] {
  return stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !KLOG_LINE.test(line));
}

/**
 * The line of kubectl's stderr that says what went wrong: its first error line (`error: …`,
 * `Error from server …`), else its first line that is not a warning, kubectl's own log lines left
 * out. kubectl prints the API
 * server's warnings (`Warning: … deprecated`) before the error, and they explain nothing.
 */
export function errorLine(stderr: string): string {
  const lines = ownLines(stderr);
  return (
    lines.find((line) => /^error\b/i.test(line)) ??
    lines.find((line) => !/^warning\b/i.test(line)) ??
    firstLine(stderr)
  );
}

/**
 * The fields and managers of a server-side apply conflict, from kubectl's stderr. The API server
 * writes one conflict as `conflict with "manager" [using apps/v1 [at time]]: .path` and several as
 * `conflicts with "manager"…:` followed by `- .path` lines.
 */
export function parseApplyConflicts(stderr: string): ApplyConflict[] {
  const conflicts: ApplyConflict[] = [];
  const single = /Apply failed with 1 conflict: conflict with "((?:[^"\\]|\\.)*)"[^\n]*?: (\.[^\n]*)/.exec(
    stderr,
  );
  if (single?.[1] !== undefined && single[2] !== undefined) {
    return [{ manager: single[1], field: single[2].trim() }];
  }
  let manager: string | undefined;
  for (const line of stderr.split(/\r?\n/)) {
    const heading = /conflicts with "((?:[^"\\]|\\.)*)"/.exec(line);
    if (heading?.[1] !== undefined) {
      manager = heading[1];
      continue;
    }
    const field = /^- (\..*)$/.exec(line.trim());
    if (manager !== undefined && field?.[1] !== undefined) conflicts.push({ manager, field: field[1] });
  }
  return conflicts;
}

/**
 * Runs kubectl as a child process: no shell (arguments stay arguments), a hard time limit, and the
 * output collected in full. `env` is the child's whole environment (the agent's proxy settings, say).
 */
export function processRunner(kubectlPath: string, env: NodeJS.ProcessEnv = process.env): KubectlRunner {
  return (args, options) =>
    new Promise((resolve, reject) => {
      const child = execFile(
        kubectlPath,
        [...args],
        {
          env,
          timeout: options.timeoutMs,
          signal: options.signal,
          maxBuffer: 256 * 1024 * 1024,
          windowsHide: true,
          encoding: 'utf8',
        },
        (error, stdout, stderr) => {
          if (error === null) {
            resolve({ code: 0, stdout, stderr });
          } else if (options.signal?.aborted === true) {
            // Looked at first: an abort kills the child and reports the string code ABORT_ERR.
            reject(new KubectlAbortedError());
          } else if (typeof error.code === 'number') {
            resolve({ code: error.code, stdout, stderr });
          } else if (typeof error.code === 'string') {
            // ENOENT or EACCES (a wrong path, not executable), or more output than maxBuffer, which
            // also kills the child: looked at before `killed`, so it is not taken for a timeout.
            reject(userError('KubectlNotStarted', kubectlPath, error.message));
          } else if (error.killed === true) {
            reject(new KubectlTimeoutError(options.timeoutMs));
          } else {
            reject(new Error(`kubectl ended on signal ${String(error.signal)}: ${firstLine(stderr)}`));
          }
        },
      );
      const { onStdout } = options;
      if (onStdout !== undefined) child.stdout?.on('data', (chunk: string) => onStdout(chunk));
    });
}

/**
 * A stdout listener that calls `onMatch(0)`, `onMatch(1)`, … for each whole line matching `pattern`
 * (a line may arrive in pieces).
 */
export function linesCounter(pattern: RegExp, onMatch: (index: number) => void): (text: string) => void {
  let partial = '';
  let matched = 0;
  return (text) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (pattern.test(line)) onMatch(matched++);
  };
}

function parseJsonObject(text: string): JsonObject {
  const value: unknown = JSON.parse(text);
  if (!isJsonObject(value)) throw new SyntaxError('kubectl printed JSON that is not an object');
  return value;
}

function itemsOf(list: JsonObject): JsonObject[] {
  return Array.isArray(list.items) ? list.items.filter(isJsonObject) : [];
}

/**
 * The objects kubectl printed for `--filename` with `--output=json`: nothing when none was found, the
 * object itself when there was one, a `List` of them otherwise.
 */
export function objectsOf(stdout: string): JsonObject[] {
  if (stdout.trim() === '') return [];
  const printed = parseJsonObject(stdout);
  return printed.kind === 'List' ? itemsOf(printed) : [printed];
}

/** `deployment.apps/web serverside-applied`: the line kubectl prints for an object it applied. */
export function appliedLine(object: JsonObject): string {
  const kind = typeof object.kind === 'string' ? object.kind : '';
  const group = typeof object.apiVersion === 'string' ? apiGroupOf(object.apiVersion) : '';
  const metadata = isJsonObject(object.metadata) ? object.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  return `${(group === '' ? kind : `${kind}.${group}`).toLowerCase()}/${name} serverside-applied`;
}

/** Events carry their time in one of three fields, depending on which API wrote them. */
function eventTime(event: JsonObject): string {
  for (const value of [event.lastTimestamp, event.eventTime, event.firstTimestamp]) {
    if (typeof value === 'string') return value;
  }
  const metadata = event.metadata;
  return isJsonObject(metadata) && typeof metadata.creationTimestamp === 'string'
    ? metadata.creationTimestamp
    : '';
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function nonEmptyLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}
