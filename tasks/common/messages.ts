import * as tl from 'azure-pipelines-task-lib/task';
import { UserError } from './errors';
import type sharedMessages from './messages.json';

/** The keys of tasks/common/messages.json, merged into every task.json at build time. */
export type SharedMessageKey = keyof typeof sharedMessages;

/** Localised messages, typed by key so that a misspelt key fails to compile. */
export interface Messages<Key extends string> {
  readonly loc: (key: Key, ...params: unknown[]) => string;
  /** A UserError with message `key`: the task fails with that one line. */
  readonly userError: (key: Key, ...params: unknown[]) => UserError;
}

/**
 * Messages for code that knows keys `Key`, usually a task's own (from its task.json) and the shared
 * ones: `messagesFor<keyof (typeof import('./task.json'))['messages']>()`.
 */
export function messagesFor<OwnKey extends string = never>(): Messages<OwnKey | SharedMessageKey> {
  return {
    loc: (key, ...params) => tl.loc(key, ...params),
    userError: (key, ...params) => new UserError(tl.loc(key, ...params)),
  };
}

/** The shared messages, for code in tasks/common. */
export const { loc, userError } = messagesFor();
