// scripts/run-task: run a bundled task locally as the agent would, and print what happened.
//   scripts/run-task <task-folder> [--input name=value]... [--endpoint id=file.json]...
//                    [--variable name=value]... [--secret-variable name=value]... [--prejob] [--raw]
// An endpoint file holds {"url", "scheme", "auth": {...}, "data": {...}} (see README).
import * as fs from 'node:fs';
import * as path from 'node:path';
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
  const parsed: Arguments = {
    task: '',
    inputs: {},
    endpoints: {},
    variables: {},
    secretVariables: {},
    preJob: false,
    raw: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const pair = (): [string, string] => {
      const value = argv[++i];
      const eq = value?.indexOf('=') ?? -1;
      if (value === undefined || eq <= 0) throw new Error(`${arg} expects name=value\n${USAGE}`);
      return [value.slice(0, eq), value.slice(eq + 1)];
    };
    if (arg === '--input') {
      const [name, value] = pair();
      parsed.inputs[name] = value;
    } else if (arg === '--variable') {
      const [name, value] = pair();
      parsed.variables[name] = value;
    } else if (arg === '--secret-variable') {
      const [name, value] = pair();
      parsed.secretVariables[name] = value;
    } else if (arg === '--endpoint') {
      const [id, file] = pair();
      parsed.endpoints[id] = JSON.parse(fs.readFileSync(file, 'utf8')) as EndpointDefinition;
    } else if (arg === '--prejob') parsed.preJob = true;
    else if (arg === '--raw') parsed.raw = true;
    else if (!arg.startsWith('-') && parsed.task === '') parsed.task = arg;
    else throw new Error(`unknown argument ${arg}\n${USAGE}`);
  }
  if (parsed.task === '') throw new Error(USAGE);
  return parsed;
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
