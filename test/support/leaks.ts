/**
 * Lines of a task's raw output that show a secret: any line holding a value or one line of a
 * multi-line value, except the logging commands that hand secrets to the agent (task.setsecret, and
 * task.setvariable with issecret=true), which the agent never prints.
 */
export function findLeaks(output: string, secretValues: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const value of secretValues) {
    for (const line of value.split(/\r?\n/)) if (line.trim().length >= 3) forms.add(line.trim());
  }
  const leaks: string[] = [];
  for (const line of output.split(/\r?\n/)) {
    if (line.startsWith('##vso[task.setsecret]')) continue;
    if (line.startsWith('##vso[task.setvariable') && /issecret=true/.test(line)) continue;
    for (const form of forms) {
      if (line.includes(form)) leaks.push(`${form} in: ${line.slice(0, 200)}`);
    }
  }
  return leaks;
}
