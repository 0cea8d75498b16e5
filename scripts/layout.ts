import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository root, whether we run from source or from `build/`. */
export const REPO_ROOT = findRoot(__dirname);
export const TASKS_DIR = path.join(REPO_ROOT, 'tasks');
export const BUILD_DIR = path.join(REPO_ROOT, 'build');
export const DIST_DIR = path.join(REPO_ROOT, 'dist');
export const EXTENSION_STAGING_DIR = path.join(DIST_DIR, 'extension');

/** Folders under tasks/ that hold a task (a task.json), e.g. `promote-image`. */
export function taskFolders(): string[] {
  return fs
    .readdirSync(TASKS_DIR)
    .filter((name) => fs.existsSync(path.join(TASKS_DIR, name, 'task.json')))
    .sort();
}

export interface TaskManifest {
  id: string;
  name: string;
  friendlyName: string;
  version: { Major: number; Minor: number; Patch: number };
  execution?: Record<string, { target: string }>;
  prejobexecution?: Record<string, { target: string }>;
  messages?: Record<string, string>;
  [key: string]: unknown;
}

export function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

export function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

function findRoot(start: string): string {
  let dir = start;
  while (
    !fs.existsSync(path.join(dir, 'vss-extension.json')) &&
    !fs.existsSync(path.join(dir, 'package-lock.json'))
  ) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no repository root above ${start}`);
    dir = parent;
  }
  return dir;
}

/** Messages every task shares, written once in tasks/common/messages.json. */
export function commonMessages(): Record<string, string> {
  return readJson<Record<string, string>>(path.join(TASKS_DIR, 'common', 'messages.json'));
}

/**
 * A task's task.json as it ships: the shared messages merged into its own. A task's own message
 * with the same key wins, so a task can say a shared thing its own way.
 */
export function shippedTaskManifest(folder: string): TaskManifest {
  const manifest = readJson<TaskManifest>(path.join(TASKS_DIR, folder, 'task.json'));
  manifest.messages = { ...commonMessages(), ...manifest.messages };
  return manifest;
}
