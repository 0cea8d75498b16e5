// scripts/run-task: run a bundled task locally as the agent would, and print what happened.
//   scripts/run-task <task-folder> [--input name=value]... [--endpoint id=file.json]...
//                    [--variable name=value]... [--secret-variable name=value]... [--prejob] [--raw]
// An endpoint file holds {"url", "scheme", "auth": {...}, "data": {...}} (see README).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { maskSecrets, runTaskAsAgent, type TaskRun } from './agent';
import type { EndpointDefinition } from './agentEnvironment';
import { EXTENSION_STAGING_DIR, taskFolders } from './layout';

interface Arguments {
  task: string;
  inputs: Record<string, string>;
  endpoints: Record<string, EndpointDefinition>;
  variables: Record<string, string>;
  secretVariables: Record<string, string>;
  preJob: boolean;
  raw: boolean;
}

const USAGE =
  'usage: scripts/run-task <task> [--input name=value]... [--endpoint id=file.json]... [--variable name=value]... [--secret-variable name=value]... [--prejob] [--raw]';

export function parseArguments(argv: readonly string[]): Arguments {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        input: { type: 'string', multiple: true },
        endpoint: { type: 'string', multiple: true },
        variable: { type: 'string', multiple: true },
        'secret-variable': { type: 'string', multiple: true },
        prejob: { type: 'boolean' },
        raw: { type: 'boolean' },
      },
    });
  } catch (error: unknown) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`, { cause: error });
  }
  const { values, positionals } = parsed;
  const [task, ...extra] = positionals;
  if (task === undefined || extra.length > 0) throw new Error(USAGE);
  const endpoints: Record<string, EndpointDefinition> = {};
  for (const [id, file] of Object.entries(pairs('--endpoint', values.endpoint)))
    endpoints[id] = JSON.parse(fs.readFileSync(file, 'utf8')) as EndpointDefinition;
  return {
    task,
    inputs: pairs('--input', values.input),
    endpoints,
    variables: pairs('--variable', values.variable),
    secretVariables: pairs('--secret-variable', values['secret-variable']),
    preJob: values.prejob === true,
    raw: values.raw === true,
  };
}

/** `name=value` arguments of one flag, split at the first `=` (values may hold more). */
function pairs(flag: string, given: readonly string[] | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of given ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`${flag} expects name=value, got "${pair}"\n${USAGE}`);
    result[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return result;
}

/** A readable account of a run, with every registered secret shown as ***. */
export function summarise(run: TaskRun): string {
  const secrets = [...run.registeredSecrets, ...Object.values(run.secretVariables)];
  const lines: string[] = [];
  for (const line of run.stdout.split(/\r?\n/)) {
    if (line.startsWith('##vso[') || line.startsWith('##[debug]') || line === '') continue;
    lines.push(`  ${line}`);
  }
  const out = [
    'Output:',
    ...lines,
    '',
    `Result: ${run.result ?? '(none reported)'}${run.resultMessage ? ` — ${run.resultMessage}` : ''}`,
  ];
  for (const error of run.errors) out.push(`  error: ${error}`);
  for (const warning of run.warnings) out.push(`  warning: ${warning}`);
  const variables = Object.entries(run.variables);
  const secretNames = Object.keys(run.secretVariables);
  if (variables.length + secretNames.length > 0) {
    out.push('Variables:');
    for (const [name, value] of variables) out.push(`  ${name} = ${value}`);
    for (const name of secretNames) out.push(`  ${name} = *** (secret)`);
  }
  if (run.stderr.trim() !== '')
    out.push(
      'Standard error:',
      ...run.stderr
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`),
    );
  out.push(`Exit code ${run.exitCode}, ${run.durationMs} ms`);
  return maskSecrets(out.join('\n'), secrets);
}

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  if (!fs.existsSync(path.join(EXTENSION_STAGING_DIR, 'tasks', args.task))) {
    throw new Error(
      `no bundled task '${args.task}' in dist/extension (tasks: ${taskFolders().join(', ')}); run npm run bundle first`,
    );
  }
  const run = await runTaskAsAgent(args);
  const secrets = [...run.registeredSecrets, ...Object.values(run.secretVariables)];
  console.log(args.raw ? maskSecrets(run.stdout, secrets) : summarise(run));
  process.exitCode = run.result === 'Failed' || run.exitCode !== 0 ? 1 : 0;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 2;
  });
}
