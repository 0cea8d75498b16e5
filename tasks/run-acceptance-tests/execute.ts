import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import * as tl from 'azure-pipelines-task-lib/task';
import { loadChecksFile, type Check } from './checksFile';
import { connectToCluster } from '../common/cluster';
import { runCommand } from './command';
import { isLoopback, LoopbackDirectDispatcher } from './dispatcher';
import { describeFailure } from './expectations';
import { formatSeconds } from './httpClient';
import {
  credentialHeaderValues,
  credentialUrlValues,
  type RunAcceptanceTestsInputs,
  type TestTarget,
} from './inputs';
import { publishCommandProperties, summaryMarkdown, summaryTable, writeChecksJunit } from './junit';
import { loc } from './messages';
import { describeService, startPortForward, type PortForward } from './portForward';
import { httpProbe, waitForReadiness } from './readiness';
import { requestHeaders, requestUrl, runChecks, type CheckResult } from './runChecks';
import { firstLine } from '../common/errors';
import { inertLine } from '../common/logText';
import { agentSecretVariableValues, registerSecret, secretForms } from '../common/secrets';
import type { TaskOutcome } from '../common/taskRunner';

export interface RunReport {
  readonly passed: number;
  readonly failed: number;
  /** The checks' JUnit file; undefined without a checks file. */
  readonly testResultsFile: string | undefined;
  /** Undefined when everything passed. */
  readonly outcome: TaskOutcome | undefined;
}

/** The target's base URL for as long as the tests run; `close` ends whatever was started to reach it. */
interface OpenTarget {
  readonly baseUrl: string;
  /** `https://staging.contoso.com`, or `Service web-staging/web:80`. */
  readonly label: string;
  /** Synchronous, so a signal handler can end kubectl at once; safe to call twice. */
  close(): void;
  /** Settles once what `close` ended is gone. */
  readonly closed: Promise<void>;
}

class Cancelled extends Error {}

/**
 * Readiness wait, checks, then the command, against the base URL or a port-forwarded Service. The
 * port-forward and the kubeconfig are removed at the end whatever happens, also when the job is cancelled
 * (the agent sends SIGINT, then SIGTERM).
 */
export async function execute(inputs: RunAcceptanceTestsInputs): Promise<RunReport> {
  // Before anything can print them: a server may echo a header in a body that a failure quotes, and
  // the base URL is printed as given.
  const secrets = [
    ...credentialHeaderValues(inputs.headers),
    ...(inputs.target.kind === 'baseUrl'
      ? credentialUrlValues([inputs.target.baseUrl, ...inputs.target.otherUrls])
      : []),
  ];
  for (const secret of secrets) registerSecret(secret);
  const checks = inputs.checksFile === undefined ? [] : loadChecksFile(inputs.checksFile);

  const cancellation = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => cancellation.abort(new Cancelled(signal));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const dispatcher = new LoopbackDirectDispatcher();
  // In-flight requests end at once instead of at their timeout.
  cancellation.signal.addEventListener('abort', () => void dispatcher.destroy(), { once: true });
  let target: OpenTarget | undefined;
  try {
    target = await openTarget(inputs.target, cancellation.signal);
    console.log(loc('TestingBaseUrl', target.label));
    if (inputs.target.kind === 'baseUrl' && inputs.target.otherUrls.length > 0)
      console.log(
        loc('BaseUrlFirstOfSeveral', inputs.target.otherUrls.length + 1, inputs.target.otherUrls.join(', ')),
      );
    const run = new Run(
      inputs,
      target,
      checks,
      // The JUnit file and the summary are uploaded unmasked: the pipeline's secret variables stay out too.
      [...secrets, ...agentSecretVariableValues()].flatMap(secretForms),
      dispatcher,
      cancellation.signal,
    );
    return await run.all();
  } catch (error: unknown) {
    const reason: unknown = cancellation.signal.reason;
    if (reason instanceof Cancelled) {
      return {
        passed: 0,
        failed: 0,
        testResultsFile: undefined,
        outcome: { result: tl.TaskResult.Failed, message: loc('Cancelled', reason.message) },
      };
    }
    throw error;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    target?.close();
    await target?.closed;
    await dispatcher.close().catch(() => undefined);
  }
}

async function openTarget(target: TestTarget, signal: AbortSignal): Promise<OpenTarget> {
  if (target.kind === 'baseUrl') {
    return {
      baseUrl: target.baseUrl,
      label: target.baseUrl,
      close: () => undefined,
      closed: Promise.resolve(),
    };
  }
  const service = describeService(target.service);
  const access = await connectToCluster(target.connection, { kubectlVersion: { kind: 'auto' } });
  let forward: PortForward;
  try {
    if (signal.aborted) throw signal.reason;
    forward = await startPortForward({
      kubectlPath: access.kubectlPath,
      kubeconfigPath: access.kubeconfigPath,
      env: { ...process.env, ...access.env },
      service: target.service,
      onOutput: (line, stream) => (stream === 'stdout' ? tl.debug(line) : console.log(line)),
      onEndedEarly: (reason) => tl.warning(loc('PortForwardEnded', service, reason)),
    });
  } catch (error: unknown) {
    await access.dispose();
    throw error;
  }
  console.log(loc('PortForwardStarted', forward.localPort, service));
  let closed: Promise<void> | undefined;
  // kubectl gets its SIGTERM synchronously, inside the signal handler; the kubeconfig goes once it has ended.
  const close = (): void => {
    closed ??= forward.stop().finally(() => access.dispose());
  };
  signal.addEventListener('abort', close, { once: true });
  if (signal.aborted) close();
  return {
    baseUrl: forward.baseUrl,
    label: `Service ${service}`,
    close,
    get closed() {
      return closed ?? Promise.resolve();
    },
  };
}

class Run {
  private readonly failures: string[] = [];
  private readonly workingDirectory = tl.getVariable('System.DefaultWorkingDirectory') ?? process.cwd();
  private readonly outputFolder = fs.mkdtempSync(
    path.join(tl.getVariable('Agent.TempDirectory') ?? os.tmpdir(), 'acceptance-'),
  );

  constructor(
    private readonly inputs: RunAcceptanceTestsInputs,
    private readonly target: OpenTarget,
    private readonly checks: readonly Check[],
    private readonly secrets: readonly string[],
    private readonly dispatcher: LoopbackDirectDispatcher,
    private readonly signal: AbortSignal,
  ) {}

  async all(): Promise<RunReport> {
    if (!(await this.ready())) return this.report([], undefined);
    const results = await this.runChecks();
    const testResultsFile = results.length === 0 ? undefined : this.writeJunit(results);
    const command =
      this.inputs.command === undefined ? undefined : await this.runCommand(this.inputs.command);
    this.publish(testResultsFile);
    this.uploadSummary(results, command);
    return this.report(results, testResultsFile);
  }

  private sleep = (milliseconds: number): Promise<void> =>
    delay(milliseconds, undefined, { signal: this.signal });

  private async ready(): Promise<boolean> {
    const readinessPath = this.inputs.readinessPath;
    if (readinessPath === undefined) return true;
    // As a check's path: after the base URL's path, before its query (an Azure Function's `?code=`).
    const url = requestUrl(this.target.baseUrl, { path: readinessPath });
    const where =
      this.target.label === this.target.baseUrl ? url : `${readinessPath} of ${this.target.label}`;
    const headers = requestHeaders(url, this.target.baseUrl, this.inputs.headers, {});
    const result = await waitForReadiness(httpProbe(url, headers, this.dispatcher), {
      timeoutMs: this.inputs.readinessTimeoutSeconds * 1000,
      probeTimeoutMs: this.inputs.requestTimeoutSeconds * 1000,
      sleep: this.sleep,
      onProgress: (progress) =>
        console.log(
          loc(
            'WaitingForReadiness',
            where,
            Math.round(progress.elapsedMs / 1000),
            progress.probes,
            inertLine(progress.got),
          ),
        ),
    });
    this.throwIfCancelled();
    if (result.ready) {
      console.log(loc('Ready', where, inertLine(result.last), (result.elapsedMs / 1000).toFixed(1)));
      return true;
    }
    this.failures.push(
      loc('ReadinessFailed', where, this.inputs.readinessTimeoutSeconds, inertLine(result.last)),
    );
    return false;
  }

  private async runChecks(): Promise<CheckResult[]> {
    if (this.checks.length === 0) return [];
    console.log(loc('RunningChecks', this.checks.length, this.inputs.checksFile, this.inputs.concurrency));
    const results = await runChecks(this.checks, {
      baseUrl: this.target.baseUrl,
      headers: this.inputs.headers,
      concurrency: this.inputs.concurrency,
      retries: this.inputs.retries,
      requestTimeoutMs: this.inputs.requestTimeoutSeconds * 1000,
      dispatcher: this.dispatcher,
      secrets: this.secrets,
      sleep: this.sleep,
      onResult: (result) =>
        console.log(
          result.passed
            ? loc('CheckPassed', inertLine(result.name), formatSeconds(result.durationMs))
            : loc(
                'CheckFailed',
                inertLine(result.name),
                result.attempts,
                inertLine(result.failures.map(describeFailure).join('; ')),
              ),
        ),
    });
    this.throwIfCancelled();
    console.log('');
    for (const line of summaryTable(results)) console.log(line);
    const failed = results.filter((result) => !result.passed).length;
    if (failed > 0) this.failures.push(loc('ChecksFailed', failed, results.length));
    return results;
  }

  private writeJunit(results: readonly CheckResult[]): string {
    const file = path.join(this.outputFolder, 'checks.xml');
    writeChecksJunit(file, results, { suiteName: this.inputs.testRunTitle, timestamp: new Date() });
    return file;
  }

  /** What the command's run came to, for the summary: `exited with code 0`. */
  private async runCommand(command: string): Promise<string> {
    console.log(loc('RunningCommand', this.target.baseUrl));
    let result;
    try {
      result = await runCommand(command, {
        baseUrl: this.target.baseUrl,
        workingDirectory: this.workingDirectory,
        timeoutMs: this.inputs.commandTimeoutSeconds * 1000,
        signal: this.signal,
        env: commandEnvironment(this.target.baseUrl),
      });
    } catch (error: unknown) {
      const message = loc(
        'CommandNotStarted',
        firstLine(error instanceof Error ? error.message : String(error)),
      );
      this.failures.push(message);
      return message;
    }
    this.throwIfCancelled();
    const message = result.timedOut
      ? loc('CommandTimedOut', this.inputs.commandTimeoutSeconds)
      : result.exitCode === null
        ? loc('CommandEndedBySignal', result.signal)
        : result.exitCode === 0
          ? loc('CommandPassed')
          : loc('CommandExitCode', result.exitCode);
    console.log(message);
    if (result.exitCode !== 0) this.failures.push(message);
    return message;
  }

  private publish(testResultsFile: string | undefined): void {
    const files = testResultsFile === undefined ? [] : [testResultsFile];
    const junitFiles = this.inputs.junitFiles;
    if (junitFiles !== undefined) {
      const found = tl
        .findMatch(this.workingDirectory, junitFiles)
        .filter((file) => fs.statSync(file).isFile());
      if (found.length === 0) tl.warning(loc('JunitFilesNotFound', junitFiles));
      files.push(...found);
    }
    if (!this.inputs.publishResults || files.length === 0) return;
    tl.command('results.publish', publishCommandProperties(files, this.inputs.testRunTitle), '');
  }

  private uploadSummary(results: readonly CheckResult[], command: string | undefined): void {
    const title = this.inputs.testRunTitle;
    let markdown = results.length > 0 ? summaryMarkdown(results, title) : `### ${title}\n`;
    if (command !== undefined) markdown += `\n${loc('SummaryCommand', command)}\n`;
    const file = path.join(this.outputFolder, 'summary.md');
    fs.writeFileSync(file, markdown, 'utf8');
    tl.uploadSummary(file);
  }

  private report(results: readonly CheckResult[], testResultsFile: string | undefined): RunReport {
    const passed = results.filter((result) => result.passed).length;
    return {
      passed,
      failed: results.length - passed,
      testResultsFile,
      outcome:
        this.failures.length === 0
          ? undefined
          : { result: tl.TaskResult.Failed, message: this.failures.join(' ') },
    };
  }

  private throwIfCancelled(): void {
    if (this.signal.aborted) throw this.signal.reason;
  }
}

/**
 * The command's environment: the task's, with a loopback base URL added to NO_PROXY, so the command's own
 * HTTP clients do not send a port-forward's address to the agent's proxy.
 */
export function commandEnvironment(baseUrl: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (!isLoopback(baseUrl)) return env;
  const existing = (env['NO_PROXY'] ?? env['no_proxy'] ?? '').split(',').map((host) => host.trim());
  const noProxy = [...new Set([...existing, '127.0.0.1', 'localhost'].filter((host) => host !== ''))].join(
    ',',
  );
  return { ...env, NO_PROXY: noProxy, no_proxy: noProxy };
}
