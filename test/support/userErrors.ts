import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tl from 'azure-pipelines-task-lib/task';
import { BUILD_DIR, shippedTaskManifest } from '../../scripts/layout';
import { UserError } from '../../tasks/common/errors';

export interface TaskMessages {
  /** The text the task shows for `key` with `params`; fails when the task does not ship `key`. */
  readonly message: (key: string, ...params: unknown[]) => string;
  /** Asserts `action` throws our UserError with exactly the message `key` with `params`. */
  readonly assertUserError: (action: () => unknown, key: string, ...params: unknown[]) => void;
  readonly assertRejectsWithUserError: (
    action: () => Promise<unknown>,
    key: string,
    ...params: unknown[]
  ) => Promise<void>;
  /** The UserError `action` throws (for properties checked on its message). */
  readonly userErrorOf: (action: () => unknown) => UserError;
}

/**
 * A task's messages as it ships them (its own and the shared ones), for unit tests, which run
 * outside the mock runner: tl.loc then gives the real text, and a key the task lacks fails the test
 * instead of falling back to the key itself.
 */
export function taskMessages(task: string): TaskMessages {
  const shipped = shippedTaskManifest(task).messages ?? {};
  tl.setResourcePath(path.join(BUILD_DIR, 'tasks', task, 'task.json'), true);
  const message = (key: string, ...params: unknown[]): string => {
    assert.ok(key in shipped, `${task} ships no message ${key}`);
    return tl.loc(key, ...params);
  };
  const isUserError = (error: unknown, key: string, params: unknown[]): true => {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    assert.equal(error.message, message(key, ...params));
    return true;
  };
  return {
    message,
    assertUserError: (action, key, ...params) =>
      assert.throws(action, (error: unknown) => isUserError(error, key, params)),
    assertRejectsWithUserError: (action, key, ...params) =>
      assert.rejects(action, (error: unknown) => isUserError(error, key, params)),
    userErrorOf: (action) => {
      try {
        action();
      } catch (error: unknown) {
        if (error instanceof UserError) return error;
        throw error;
      }
      assert.fail('expected a UserError');
    },
  };
}
