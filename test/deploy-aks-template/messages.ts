import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tl from 'azure-pipelines-task-lib/task';
import { UserError } from '../../tasks/common/errors';

// A copy of test/run-acceptance-tests/messages.ts for this task: both belong in test/support.
const TASK_JSON = path.resolve(__dirname, '../../../tasks/deploy-aks-template/task.json');
const MESSAGES = (JSON.parse(fs.readFileSync(TASK_JSON, 'utf8')) as { messages: Record<string, string> })
  .messages;

// The unit tests run outside the mock runner, so messages come from the task's own task.json.
tl.setResourcePath(TASK_JSON, true);

/** The message the task shows for `key` with `params`; the key must be in task.json. */
export function message(key: string, ...params: unknown[]): string {
  // tl.loc falls back to the key itself, which would let a missing message pass unnoticed.
  assert.ok(key in MESSAGES, `task.json has no message ${key}`);
  return tl.loc(key, ...params);
}

function assertIsUserError(error: unknown, key: string, params: unknown[]): true {
  assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
  assert.equal(error.message, message(key, ...params));
  return true;
}

/** Asserts `action` throws our UserError with exactly the message `key` with `params`. */
export function assertUserError(action: () => unknown, key: string, ...params: unknown[]): void {
  assert.throws(action, (error: unknown) => assertIsUserError(error, key, params));
}

export async function assertRejectsWithUserError(
  action: () => Promise<unknown>,
  key: string,
  ...params: unknown[]
): Promise<void> {
  await assert.rejects(action, (error: unknown) => assertIsUserError(error, key, params));
}
