import * as path from 'node:path';
import type { TaskLibAnswers } from 'azure-pipelines-task-lib/mock-answer';
import { MockTestRunner } from 'azure-pipelines-task-lib/mock-test';
import { parseLoggingCommands, type LoggingCommand } from '../../scripts/agent';
import type { AgentInputs } from '../../scripts/agentEnvironment';

export type TaskFolder =
  'fetch-keyvault-secrets' | 'promote-image' | 'deploy-aks-template' | 'run-acceptance-tests';

/** Everything an L0 run needs, passed to the scenario entry as JSON. */
export interface L0Scenario extends Omit<AgentInputs, 'secretVariables'> {
  readonly task: TaskFolder;
  readonly env?: Readonly<Record<string, string>>;
  /** Module name → compiled fake module to load in its place (registerMock). */
  readonly mocks?: Readonly<Record<string, string>>;
  /** A script to run instead of the task's index.js (it shares the task's messages). */
  readonly entry?: string;
  /** What the mocked task-lib answers for which, findMatch, exec and the like. */
  readonly answers?: TaskLibAnswers;
}

export interface L0Result {
  readonly succeeded: boolean;
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
  readonly stdout: string;
  readonly stderr: string;
  readonly commands: readonly LoggingCommand[];
}

export const BUILD_ROOT = path.resolve(__dirname, '..', '..');
export const FAKES_DIR = path.join(BUILD_ROOT, 'test', 'support', 'fakes');

let lastRun: L0Result | undefined;

/** The output of the latest run, for the failure report (see mochaHooks). */
export function takeLastRun(): L0Result | undefined {
  const run = lastRun;
  lastRun = undefined;
  return run;
}

/** Runs the task's compiled index.js under task-lib's mock runner with `scenario`. */
export async function runL0(scenario: L0Scenario): Promise<L0Result> {
  const runner = new MockTestRunner(path.join(BUILD_ROOT, 'test', 'support', 'l0Entry.js'));
  // The runner downloads a Node build for the task's handler unless told which node to use.
  runner.nodePath = process.execPath;
  const previous = process.env['L0_SCENARIO'];
  process.env['L0_SCENARIO'] = JSON.stringify(scenario);
  try {
    await runner.runAsync();
  } finally {
    if (previous === undefined) delete process.env['L0_SCENARIO'];
    else process.env['L0_SCENARIO'] = previous;
  }
  const result: L0Result = {
    succeeded: runner.succeeded,
    errors: runner.errorIssues,
    warnings: runner.warningIssues,
    stdout: runner.stdout,
    stderr: runner.stderr,
    commands: parseLoggingCommands(runner.stdout),
  };
  lastRun = result;
  return result;
}

/** The one failure message of a run (`task.complete result=Failed`). */
export function failureMessage(result: L0Result): string | undefined {
  return result.commands.find((c) => c.command === 'task.complete' && c.properties['result'] === 'Failed')
    ?.message;
}

/** Asserts the run failed with exactly `expected` as its one failure line, and showed no stack trace. */
export function assertFailedWith(result: L0Result, expected: string): void {
  if (result.succeeded || failureMessage(result) !== expected) {
    throw new Error(
      `expected the task to fail with\n  ${expected}\nbut it ${result.succeeded ? 'succeeded' : `failed with\n  ${failureMessage(result)}`}`,
    );
  }
  if (/\n\s+at .+:\d+:\d+\)?\n/.test(result.stdout)) throw new Error('the output has a stack trace');
}
