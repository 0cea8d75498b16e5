import { userError } from './messages';

/**
 * `${NAME}` is a token and `$${NAME}` its escape, a literal `${NAME}`. Names may hold `.` and `-` so
 * that a pipeline-style `${Build.BuildId}` or a typo like `${APP-NAME}` fails as unresolved instead of
 * reaching the cluster as text; shell forms such as `${HOME:-/root}` are not tokens and stay as they are.
 */
const TOKEN = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g;

/**
 * Replaces every token of `text` with its value, in one pass: a value is never scanned again, so a
 * value holding `${X}` stays as it is. An unresolved token fails naming the token, the file and the
 * line; values never appear in errors, since they may come from secret variables.
 */
export function replaceTokens(text: string, variables: ReadonlyMap<string, string>, file: string): string {
  return text.replace(TOKEN, (token: string, escape: string, name: string, offset: number) => {
    if (escape !== '') return token.slice(1);
    const value = variables.get(name);
    if (value === undefined) throw userError('UnresolvedToken', file, lineAt(text, offset), name);
    return value;
  });
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let index = text.indexOf('\n'); index >= 0 && index < offset; index = text.indexOf('\n', index + 1)) {
    line++;
  }
  return line;
}
