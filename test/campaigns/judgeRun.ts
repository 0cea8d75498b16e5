import type { TaskRun } from '../../scripts/agent';
import { findLeaks } from '../support/leaks';

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
