/**
 * A failure the pipeline author can fix (a bad input, a missing permission). Its message is already
 * localised and is shown as the task's one-line failure, without a stack trace.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** The first line of a message: a result line is one line, and what follows may be a stack or a body. */
export function firstLine(text: string | undefined): string {
  return (text ?? '').split(/\r?\n/)[0]?.trim() ?? '';
}
