import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { agentEnvironment, type AgentInputs } from './agentEnvironment';
import { EXTENSION_STAGING_DIR } from './layout';

/** A `##vso[…]` logging command. */
export interface LoggingCommand {
  readonly command: string;
  readonly properties: Readonly<Record<string, string>>;
  readonly message: string;
}

export interface TaskRunOptions extends AgentInputs {
  /** Folder under dist/extension/tasks, e.g. `promote-image`. */
  readonly task: string;
  /** Extra environment (proxy, CA) on top of this process's. */
  readonly env?: Readonly<Record<string, string>>;
  /** Run the pre-job handler's target instead of the step's. */
  readonly preJob?: boolean;
  readonly timeoutMs?: number;
  readonly extensionDir?: string;
}

export interface TaskRun {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly commands: readonly LoggingCommand[];
  /** `Succeeded`, `SucceededWithIssues` or `Failed`, as the agent would conclude. */
  readonly result: string | undefined;
  readonly resultMessage: string | undefined;
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
  /** Variables the task set; secret ones are in `secretVariables` only. */
  readonly variables: Readonly<Record<string, string>>;
  readonly secretVariables: Readonly<Record<string, string>>;
  /** Values the task registered with task.setsecret. */
  readonly registeredSecrets: readonly string[];
  readonly durationMs: number;
}

/**
 * Runs a bundled task the way the agent does: a fresh Node process on the handler's target with
 * INPUT_* / ENDPOINT_* / variables in the environment and Agent.* folders set, then reads the
 * logging commands from stdout. The agent's own masking is not applied: callers can see what
 * the task printed raw, which is what leak checks need.
 */
export async function runTaskAsAgent(options: TaskRunOptions): Promise<TaskRun> {
  const taskDir = path.join(options.extensionDir ?? EXTENSION_STAGING_DIR, 'tasks', options.task);
  const manifest = JSON.parse(fs.readFileSync(path.join(taskDir, 'task.json'), 'utf8')) as {
    execution: Record<string, { target: string }>;
    prejobexecution?: Record<string, { target: string }>;
  };
  const handlers = options.preJob ? manifest.prejobexecution : manifest.execution;
  const target = handlers?.['Node20_1']?.target;
  if (target === undefined)
    throw new Error(`${options.task} has no Node20_1 ${options.preJob ? 'pre-job ' : ''}handler`);

  const agentDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-'));
  const temp = path.join(agentDir, '_temp');
  const tools = path.join(agentDir, '_tool');
  const work = path.join(agentDir, 's');
  for (const dir of [temp, tools, work]) fs.mkdirSync(dir);
  const env: Record<string, string> = {
    ...stripAgentVariables(process.env),
    AGENT_TEMPDIRECTORY: temp,
    AGENT_TOOLSDIRECTORY: tools,
    AGENT_WORKFOLDER: agentDir,
    SYSTEM_DEFAULTWORKINGDIRECTORY: work,
    BUILD_SOURCESDIRECTORY: work,
    SYSTEM_HOSTTYPE: 'build',
    ...agentEnvironment(options),
    ...(options.env ?? {}),
  };

  const started = Date.now();
  const child = spawn(process.execPath, [path.join(taskDir, target)], {
    cwd: work,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  clearTimeout(timer);
  fs.rmSync(agentDir, { recursive: true, force: true });
  const interpreted = interpretOutput(stdout);
  // Like the agent: a task that never reports a result succeeded if it exited cleanly.
  const result = interpreted.result ?? (exitCode === 0 ? 'Succeeded' : 'Failed');
  return { ...interpreted, result, exitCode, stdout, stderr, durationMs: Date.now() - started };
}

type Interpreted = Omit<TaskRun, 'exitCode' | 'stdout' | 'stderr' | 'durationMs'>;

/** What the agent would make of a task's stdout. */
export function interpretOutput(stdout: string): Interpreted {
  const commands = parseLoggingCommands(stdout);
  const variables: Record<string, string> = {};
  const secretVariables: Record<string, string> = {};
  let result: string | undefined;
  let resultMessage: string | undefined;
  for (const command of commands) {
    if (command.command === 'task.setvariable') {
      const name = command.properties['variable'] ?? '';
      if (command.properties['issecret'] === 'true') secretVariables[name] = command.message;
      else variables[name] = command.message;
    } else if (command.command === 'task.complete' && result === undefined) {
      result = command.properties['result'];
      resultMessage = command.message;
    }
  }
  const issues = (type: string): string[] =>
    commands
      .filter((c) => c.command === 'task.logissue' || c.command === 'task.issue')
      .filter((c) => c.properties['type'] === type)
      .map((c) => c.message);
  return {
    commands,
    result,
    resultMessage,
    errors: issues('error'),
    warnings: issues('warning'),
    variables,
    secretVariables,
    registeredSecrets: commands.filter((c) => c.command === 'task.setsecret').map((c) => c.message),
  };
}

export function parseLoggingCommands(stdout: string): LoggingCommand[] {
  const commands: LoggingCommand[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const start = line.indexOf('##vso[');
    const end = start < 0 ? -1 : line.indexOf(']', start);
    if (end < 0) continue;
    const [command = '', ...rest] = line.slice(start + 6, end).split(' ');
    const properties: Record<string, string> = {};
    for (const pair of rest.join(' ').split(';')) {
      const eq = pair.indexOf('=');
      if (eq > 0) properties[pair.slice(0, eq).trim()] = unescapeData(pair.slice(eq + 1));
    }
    commands.push({ command, properties, message: unescapeData(line.slice(end + 1)) });
  }
  return commands;
}

// The agent's unescaping of logging-command properties and data (Agent.Sdk's CommandStringConvertor):
// the same four symbols for both, then `%AZP25`, task-lib's escape for `%` itself. Nothing decodes
// `%25`, so a value holding that text keeps it.
const ESCAPED_SYMBOLS: readonly (readonly [string, string])[] = [
  ['%3B', ';'],
  ['%0D', '\r'],
  ['%0A', '\n'],
  ['%5D', ']'],
];

function unescapeData(value: string): string {
  let text = value;
  for (const [escaped, symbol] of ESCAPED_SYMBOLS) text = text.split(escaped).join(symbol);
  return text.split('%AZP25').join('%');
}

/** Masks every registered secret, as the agent does before a line reaches the log. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  return [...secrets]
    .sort((a, b) => b.length - a.length)
    .reduce((masked, secret) => (secret === '' ? masked : masked.split(secret).join('***')), text);
}

// A task started from a shell inside a pipeline must not see that pipeline's inputs and connections.
function stripAgentVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  const clean: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && !/^(INPUT_|ENDPOINT_|SECRET_|VSTS_TASKVARIABLE_)/.test(key))
      clean[key] = value;
  }
  return clean;
}
