// Bundles each task into one index.js with esbuild and stages the extension's files in
// dist/extension, ready for tfx. Run after tsc (npm run bundle).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import {
  EXTENSION_STAGING_DIR,
  REPO_ROOT,
  TASKS_DIR,
  readJson,
  shippedTaskManifest,
  taskFolders,
  writeJson,
} from './layout';

/** What the pre-job handler runs: the same bundle, told which phase it is in. */
export const PREJOB_ENTRY = "process.env.AKS_DELIVERY_TASK_PHASE = 'prejob';\nrequire('./index.js');\n";

interface PackageJson {
  version: string;
}

export interface BundleOptions {
  /** Where the extension is staged; dist/extension unless a test builds a variant beside it. */
  readonly outDir?: string;
  /**
   * false builds a variant with every retry of tasks/common/retry.ts switched off, which the fault
   * campaigns use to show that they can tell a task that retries from one that does not.
   */
  readonly retries?: boolean;
}

export async function bundleTasks(options: BundleOptions = {}): Promise<void> {
  const outDir = options.outDir ?? EXTENSION_STAGING_DIR;
  const version = readJson<PackageJson>(path.join(REPO_ROOT, 'package.json')).version;
  const [, minor, patch] = version.split('.').map(Number);
  fs.rmSync(outDir, { recursive: true, force: true });

  await Promise.all(
    taskFolders().map(async (folder) => {
      const source = path.join(TASKS_DIR, folder);
      const target = path.join(outDir, 'tasks', folder);
      const result = await esbuild.build({
        entryPoints: [path.join(source, 'index.ts')],
        outfile: path.join(target, 'index.js'),
        bundle: true,
        platform: 'node',
        target: 'node20',
        format: 'cjs',
        minify: true,
        keepNames: true,
        sourcemap: false,
        legalComments: 'none',
        logLevel: 'warning',
        define: { AKS_DELIVERY_RETRIES: options.retries === false ? 'false' : 'true' },
        metafile: true,
      });
      const manifest = shippedTaskManifest(folder);
      // Task minor/patch follow the extension's, so every release carries new task versions.
      manifest.version = { Major: manifest.version.Major, Minor: minor ?? 0, Patch: patch ?? 0 };
      writeJson(path.join(target, 'task.json'), manifest);
      fs.copyFileSync(path.join(source, 'icon.png'), path.join(target, 'icon.png'));
      if (manifest.prejobexecution !== undefined) {
        fs.writeFileSync(path.join(target, 'prejob.js'), PREJOB_ENTRY);
      }
      // tool-lib looks for its strings next to the bundle; without them it logs a fallback warning.
      // Only a task that bundles tool-lib gets them.
      const usesToolLib = Object.keys(result.metafile.inputs).some((input) =>
        input.includes('node_modules/azure-pipelines-tool-lib/'),
      );
      const toolLibStrings = path.join(REPO_ROOT, 'node_modules', 'azure-pipelines-tool-lib', 'lib.json');
      if (usesToolLib) fs.copyFileSync(toolLibStrings, path.join(target, 'lib.json'));
    }),
  );

  for (const file of ['vss-extension.json', 'overview.md', 'LICENSE', 'CHANGELOG.md']) {
    fs.copyFileSync(path.join(REPO_ROOT, file), path.join(outDir, file));
  }
  // images/ for the Marketplace page; schemas/ so editors can point at the checks file's schema.
  for (const folder of ['images', 'schemas'])
    fs.cpSync(path.join(REPO_ROOT, folder), path.join(outDir, folder), { recursive: true });
}

if (require.main === module) {
  bundleTasks().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
