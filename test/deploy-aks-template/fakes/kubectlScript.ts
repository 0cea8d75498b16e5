import * as fs from 'node:fs';
import * as path from 'node:path';

/** One scripted kubectl answer; `hang` sleeps until the task kills the process. */
export type ScriptedAnswer = { code?: number; stdout?: string; stderr?: string } | 'hang';

/** What the fake kubectl answers: by call key (see callKey), in order, the last answer repeating. */
export interface KubectlScript {
  readonly answers: Record<string, ScriptedAnswer[]>;
}

/** `get Deployment web-staging/web`, `list Pod app=web`, `rollout deployment/web`, `apply`, `logs`, …: what a call asks. */
export function callKey(args: readonly string[]): string {
  const [verb, a, b] = args;
  if (verb === 'get' && a === 'events')
    return `events ${args.find((x) => x.startsWith('--field-selector')) ?? ''}`;
  if (verb === 'get') {
    const selector = args.find((x) => x.startsWith('--selector='));
    if (selector !== undefined) return `list ${a ?? ''} ${selector.slice('--selector='.length)}`;
    const index = args.indexOf('--namespace');
    return `get ${a ?? ''} ${index < 0 ? '' : (args[index + 1] ?? '')}/${b ?? ''}`;
  }
  if (verb === 'rollout') return `rollout ${b ?? ''}`;
  if (verb === 'wait') return `rollout ${a ?? ''}`;
  return verb ?? '';
}

/**
 * The objects a `get --filename` call addresses (the task lists them in a JSON List of stubs), each
 * as the call key a get of that one object has: a lookup answers object by object from the script.
 */
export function lookupKeys(file: string): string[] {
  const list = JSON.parse(file) as {
    items?: { kind: string; metadata: { name: string; namespace?: string } }[];
  };
  return (list.items ?? []).map(
    ({ kind, metadata }) => `get ${kind} ${metadata.namespace ?? ''}/${metadata.name}`,
  );
}

export function isLookup(args: readonly string[]): boolean {
  return args[0] === 'get' && args[1] === '--filename';
}

/** What kubectl prints for the objects a `get --filename` found: nothing, the object, or a List of them. */
export function printedObjects(stdouts: readonly string[]): string {
  const found = stdouts.filter((stdout) => stdout.trim() !== '');
  if (found.length <= 1) return found[0] ?? '';
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: found.map((s) => JSON.parse(s) as unknown),
  });
}

/** What a call answers when the script says nothing: empty lists, objects that do not exist, success. */
export function defaultStdout(args: readonly string[]): string {
  return args[0] === 'get' && (args[1] === 'events' || args.some((a) => a.startsWith('--selector=')))
    ? '{"items":[]}'
    : '';
}

/** A recorded call: the arguments after the global flags, and the text of an applied file. */
export interface RecordedCall {
  readonly args: string[];
  readonly file?: string;
  readonly kubeconfig?: string;
  readonly kubeconfigExists?: boolean;
}

/** Puts the fake kubectl (fakes/kubectl.js) on `directory` as `kubectl`, for PATH to find. */
export function installFakeKubectl(directory: string): void {
  const script = path.join(__dirname, 'kubectl.js');
  fs.writeFileSync(
    path.join(directory, 'kubectl'),
    `#!/bin/sh\nexec "${process.execPath}" "${script}" "$@"\n`,
    {
      mode: 0o755,
    },
  );
}

export const SCRIPT_FILE = 'script.json';
export const CALLS_FILE = 'calls.jsonl';

export function recordedCalls(directory: string): RecordedCall[] {
  const file = path.join(directory, CALLS_FILE);
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as RecordedCall);
}
