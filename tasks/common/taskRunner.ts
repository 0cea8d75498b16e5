import * as tl from 'azure-pipelines-task-lib/task';
import { loc } from './messages';
import { UserError, firstLine } from './errors';

/** What a task body may return when its result is not plain success (failed checks, say). */
export interface TaskOutcome {
  readonly result: tl.TaskResult;
  readonly message: string;
}

/**
 * The one place a task's result is decided, exactly once. A UserError is shown as its message
 * alone; anything else also leaves its stack in the debug log, where it helps us and does not scare
 * users.
 *
 * The agent counts a Node task that exits without a result as Succeeded. A promise that never
 * settles while nothing keeps the event loop alive ends the process exactly that way, silently, so
 * the process's own last moments are guarded too: exiting with the body unsettled, an unhandled
 * rejection or an uncaught exception each fail the task with one line.
 */
export async function runTask(
  taskJsonPath: string,
  body: () => Promise<TaskOutcome | void> | TaskOutcome | void,
): Promise<void> {
  tl.setResourcePath(taskJsonPath);
  let settled = false;
  const complete = (result: tl.TaskResult, message: string): void => {
    if (settled) return;
    settled = true;
    tl.setResult(result, message);
  };
  const failWith = (error: unknown): void => complete(tl.TaskResult.Failed, failureMessage(error));

  const onBeforeExit = (): void => complete(tl.TaskResult.Failed, loc('TaskEndedUnfinished'));
  const onUnhandled = (error: unknown): void => {
    if (settled) {
      tl.debug(
        `after the result: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      return;
    }
    failWith(error);
    process.exitCode = 1;
  };
  // task-lib installs its own handlers for these when it loads: each sets a second result and prints
  // the whole stack as an error. Ours replace them, so the result stays one line, set once.
  process.removeAllListeners('unhandledRejection');
  process.removeAllListeners('uncaughtException');
  process.once('beforeExit', onBeforeExit);
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  try {
    const outcome = await body();
    complete(outcome?.result ?? tl.TaskResult.Succeeded, outcome?.message ?? '');
  } catch (error: unknown) {
    failWith(error);
  } finally {
    process.removeListener('beforeExit', onBeforeExit);
  }
}

function failureMessage(error: unknown): string {
  if (error instanceof UserError) return error.message;
  if (error instanceof Error && error.stack !== undefined) tl.debug(error.stack);
  const message = error instanceof Error ? error.message : String(error);
  return loc('UnexpectedError', firstLine(message));
}
