import * as tl from 'azure-pipelines-task-lib/task';
import { UserError } from './errors';

/**
 * The one place a task's failure becomes its result: a UserError is shown as its message alone;
 * anything else also leaves its stack in the debug log, where it helps us and does not scare users.
 */
export async function runTask(taskJsonPath: string, body: () => Promise<void> | void): Promise<void> {
  tl.setResourcePath(taskJsonPath);
  try {
    await body();
  } catch (error: unknown) {
    if (error instanceof UserError) {
      tl.setResult(tl.TaskResult.Failed, error.message);
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof Error && error.stack !== undefined) tl.debug(error.stack);
    tl.setResult(tl.TaskResult.Failed, tl.loc('UnexpectedError', message));
  }
}
