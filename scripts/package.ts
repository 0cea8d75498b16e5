// Packages dist/extension (staged by bundle.ts) into dist/<publisher>.<id>-<version>.vsix with tfx.
// `--dev` packages a private variant with other extension and task ids, installable beside the
// public one.
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DIST_DIR,
  EXTENSION_STAGING_DIR,
  REPO_ROOT,
  readJson,
  taskFolders,
  writeJson,
  type TaskManifest,
} from './layout';

interface ExtensionManifest {
  id: string;
  name: string;
  publisher: string;
  version: string;
  public?: boolean;
  [key: string]: unknown;
}

/** A stable GUID derived from `id` (UUID v5-style), so dev task ids never change between builds. */
export function derivedTaskId(id: string, salt = 'aks-delivery-dev'): string {
  const hash = crypto.createHash('sha1').update(`${salt}:${id.toLowerCase()}`).digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function applyDevVariant(stagingDir: string): void {
  const manifestPath = path.join(stagingDir, 'vss-extension.json');
  const manifest = readJson<ExtensionManifest>(manifestPath);
  manifest.id = `${manifest.id}-dev`;
  manifest.name = `${manifest.name} (dev)`;
  manifest.public = false;
  writeJson(manifestPath, manifest);
  for (const folder of taskFolders()) {
    const taskPath = path.join(stagingDir, 'tasks', folder, 'task.json');
    const task = readJson<TaskManifest>(taskPath);
    task.id = derivedTaskId(task.id);
    task.name = `${task.name}Dev`;
    task.friendlyName = `${task.friendlyName} (dev)`;
    writeJson(taskPath, task);
  }
}

/** Packages the staged extension; the dev variant is staged in a copy so dist/extension stays public. */
export function packageExtension(options: { dev: boolean }): string {
  if (!fs.existsSync(path.join(EXTENSION_STAGING_DIR, 'vss-extension.json'))) {
    throw new Error('dist/extension is not staged: run `npm run bundle` first');
  }
  let root = EXTENSION_STAGING_DIR;
  if (options.dev) {
    root = `${EXTENSION_STAGING_DIR}-dev`;
    fs.rmSync(root, { recursive: true, force: true });
    fs.cpSync(EXTENSION_STAGING_DIR, root, { recursive: true });
    applyDevVariant(root);
  }
  const tfx = path.join(REPO_ROOT, 'node_modules', 'tfx-cli', '_build', 'tfx-cli.js');
  const output = execFileSync(
    process.execPath,
    [
      tfx,
      'extension',
      'create',
      '--root',
      root,
      '--manifest-globs',
      'vss-extension.json',
      '--output-path',
      DIST_DIR,
      '--no-prompt',
      '--json',
    ],
    { encoding: 'utf8', env: { ...process.env, TFX_TRACE: '' } },
  );
  const result = JSON.parse(output.slice(output.indexOf('{'))) as { path: string };
  return result.path;
}

if (require.main === module) {
  const vsix = packageExtension({ dev: process.argv.includes('--dev') });
  console.log(
    `Packaged ${path.relative(REPO_ROOT, vsix)} (${(fs.statSync(vsix).size / 1024).toFixed(0)} KiB)`,
  );
}
