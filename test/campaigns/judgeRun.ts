import { interpretOutput, type TaskRun } from '../../scripts/agent';
import type { FaultKind, InjectedFault } from '../../sandbox/faults';
import type { RunReport } from './keyVaultCampaign';
import { findLeaks } from '../support/leaks';

/** What every seeded campaign is given: which seeds, how often a request meets a fault, a report per run. */
export interface SeededCampaignOptions {
  readonly seeds: readonly number[];
  /** Chance that a request meets a fault, spread over the kinds of fault. */
  readonly faultRate: number;
  readonly onRun?: (report: RunReport) => void;
}

/** What a campaign expects of one run: success, or a failure whose message matches. */
export type RunExpectation =
  { readonly kind: 'succeed' } | { readonly kind: 'fail'; readonly message: RegExp };

export interface Judgement {
  readonly findings: string[];
  /** A clean failure the scenario did not ask for, while faults were injected: counted apart, bounded. */
  readonly failedUnderFaults: boolean;
}

/** What every run of every task must hold, whatever its result. */
export function findingsOfAnyRun(run: TaskRun, secrets: readonly string[]): string[] {
  const findings: string[] = [];
  for (const leak of findLeaks(run.stdout + run.stderr, secrets)) findings.push(`leak: ${leak}`);
  if (run.exitCode === null) findings.push('the task did not exit (killed after the timeout)');
  const completions = run.commands.filter((command) => command.command === 'task.complete').length;
  if (completions !== 1) findings.push(`${completions} task.complete commands, expected exactly one`);
  const visible = (run.stdout + run.stderr)
    .split(/\r?\n/)
    .filter((line) => !line.startsWith('##vso[task.debug]'));
  if (visible.some((line) => /^\s+at .+[(:]\d+/.test(line))) findings.push('a stack trace reached the log');
  if (/TypeError|Cannot read properties/.test(run.stdout + run.stderr))
    findings.push('a JavaScript error reached the output');
  return findings;
}

/**
 * A failed run: one clean line, and either the failure the scenario required or, only when faults
 * were injected, another clean failure, counted apart so that the campaign can bound them.
 */
export function judgeFailure(run: TaskRun, expectation: RunExpectation, faults: number): Judgement {
  const findings: string[] = [];
  if (run.errors.length !== 1) findings.push(`failed with ${run.errors.length} error lines`);
  const message = run.resultMessage ?? '';
  if (/[\r\n]/.test(message)) findings.push('the failure message has several lines');
  if (/unexpected/i.test(message)) findings.push(`unexpected error: ${message}`);
  if (expectation.kind === 'fail' && expectation.message.test(message))
    return { findings, failedUnderFaults: false };
  if (faults > 0) return { findings, failedUnderFaults: true };
  findings.push(
    expectation.kind === 'fail'
      ? `failed with "${message}", expected ${expectation.message}`
      : `failed without any fault: ${message}`,
  );
  return { findings, failedUnderFaults: false };
}

/** The faults a run met that fail a request (latency only delays it), and every injected one by kind. */
export function countFaults(injected: readonly InjectedFault[]): {
  faults: number;
  faultKinds: Partial<Record<FaultKind, number>>;
} {
  const faultKinds: Partial<Record<FaultKind, number>> = {};
  for (const kind of injected.flatMap((fault) => fault.kinds)) faultKinds[kind] = (faultKinds[kind] ?? 0) + 1;
  return {
    faults: injected.filter((fault) => fault.kinds.some((kind) => kind !== 'latency')).length,
    faultKinds,
  };
}

/** A run as the agent would have seen it print these lines, for tests of a judge. */
export function taskRunOf(lines: readonly string[]): TaskRun {
  const stdout = lines.join('\n');
  const interpreted = interpretOutput(stdout);
  return {
    ...interpreted,
    result: interpreted.result ?? 'Succeeded',
    exitCode: 0,
    stdout,
    stderr: '',
    durationMs: 1,
  };
}

/** The report of one run: what it met and how it was judged. */
export function reportOf(
  seed: number,
  scenario: string,
  run: TaskRun,
  injected: readonly InjectedFault[],
  judged: Judgement,
): RunReport {
  const { faults, faultKinds } = countFaults(injected);
  return {
    seed,
    scenario,
    result: run.result ?? 'none',
    durationMs: run.durationMs,
    faults,
    faultKinds,
    ...(run.result === 'Failed' ? { failure: run.resultMessage ?? '' } : {}),
    failedUnderFaults: judged.failedUnderFaults,
    findings: judged.findings,
  };
}
