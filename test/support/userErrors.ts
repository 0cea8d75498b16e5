import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tl from 'azure-pipelines-task-lib/task';
import { BUILD_DIR } from '../../scripts/layout';
import { UserError } from '../../tasks/common/errors';

/** Loads a task's shipped messages (build/tasks/<task>/task.json), so unit tests see real text. */
export function useTaskMessages(task: string): void {
  before(() => tl.setResourcePath(path.join(BUILD_DIR, 'tasks', task, 'task.json')));
}

/** Asserts `run` throws exactly the UserError with message `key` and those values. */
export function assertUserError(run: () => unknown, key: string, ...params: unknown[]): void {
  const expected = tl.loc(key, ...params);
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof UserError, `a UserError, got ${String(error)}`);
    assert.equal(error.message, expected);
    return true;
  });
}
