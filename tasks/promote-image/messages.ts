import { messagesFor, type SharedMessageKey } from '../common/messages';

export type MessageKey = keyof (typeof import('./task.json'))['messages'] | SharedMessageKey;

export const { loc, userError } = messagesFor<MessageKey>();
