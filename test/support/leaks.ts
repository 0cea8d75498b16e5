import { parseLoggingCommands } from '../../scripts/agent';

/**
 * Lines of a task's raw output that show a secret: any line holding a value or one line of a
 * multi-line value, except the logging commands that hand secrets to the agent (task.setsecret, and
 * task.setvariable with issecret=true), which the agent never prints. Every other line counts, error
 * and warning issues and the task.complete message included, and is searched three ways: as
 * printed, as the agent reads a logging command (task-lib escapes `%`, CR, LF, `;` and `]`, so a
 * value holding them is not there verbatim), and for the value as it looks quoted inside JSON (an
 * error that quotes a response body).
 */
export function findLeaks(output: string, secretValues: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const value of secretValues) {
    for (const line of value.split(/\r\n|\r|\n/)) {
      const form = line.trim();
      if (form.length < 3) continue;
      forms.add(form);
      forms.add(JSON.stringify(form).slice(1, -1));
    }
  }
  const leaks: string[] = [];
  for (const line of output.split(/\r?\n/)) {
    if (line.startsWith('##vso[task.setsecret]')) continue;
    if (line.startsWith('##vso[task.setvariable') && /issecret=true/.test(line)) continue;
    const readings = [
      line,
      ...parseLoggingCommands(line).flatMap((c) => [c.message, ...Object.values(c.properties)]),
    ];
    for (const form of forms) {
      if (readings.some((reading) => reading.includes(form))) leaks.push(`${form} in: ${line.slice(0, 200)}`);
    }
  }
  return leaks;
}
