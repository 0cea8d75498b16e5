/**
 * Text the task did not write (a check's name, a server's body, a container's log) on its way to the
 * log. The agent acts on `##vso[…]` wherever it appears in a line and on `##[…]` at a line's start:
 * such text could otherwise set variables, upload files or end the task with a result of its own.
 */

// A zero-width space between the two #s: the text reads the same, and the agent sees no command.
const COMMAND_START = /#(?=#(?:vso)?\[)/gi;

/** `text` with every logging command made inert; its lines kept. */
export function inertText(text: string): string {
  return text.replace(COMMAND_START, '#\u200b');
}

/** `text` on one line (every run of white space one space), logging commands made inert. */
export function inertLine(text: string): string {
  return inertText(text.replace(/\s+/g, ' ').trim());
}
