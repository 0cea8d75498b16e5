import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import JSZip from 'jszip';
import { REPO_ROOT, readJson, taskFolders, type TaskManifest } from '../../scripts/layout';
import { packageExtension } from '../../scripts/package';

interface PackageJson {
  version: string;
}

async function open(vsix: string): Promise<JSZip> {
  return JSZip.loadAsync(fs.readFileSync(vsix));
}

async function json<T>(zip: JSZip, name: string): Promise<T> {
  const file = zip.file(name);
  assert.ok(file, `${name} is in the vsix`);
  return JSON.parse(await file.async('string')) as T;
}

// Needs dist/extension staged by `npm run bundle` (npm test does that first).
describe('the packaged extension (vsix)', function () {
  this.timeout(120_000);
  const version = readJson<PackageJson>(path.join(REPO_ROOT, 'package.json')).version;
  const [, minor, patch] = version.split('.').map(Number);
  let publicZip: JSZip;
  let devZip: JSZip;
  let publicPath: string;

  before(async () => {
    publicPath = packageExtension({ dev: false });
    publicZip = await open(publicPath);
    devZip = await open(packageExtension({ dev: true }));
  });

  it('ships the Marketplace page with every picture it shows, and the checks file schema', async () => {
    const overview = await publicZip.file('overview.md')?.async('string');
    assert.ok(overview !== undefined, 'overview.md is in the vsix');
    const pictures = [...overview.matchAll(/\]\((images\/[^)\s]+)\)/g)].map((match) => match[1]!);
    assert.ok(pictures.length > 0, 'overview.md shows pictures');
    for (const picture of pictures) assert.ok(publicZip.file(picture), `${picture} is in the vsix`);
    const schema = await json<{ $schema?: string }>(publicZip, 'schemas/checks.schema.json');
    assert.ok(schema.$schema !== undefined);
  });

  it('is named after publisher, id and version', () => {
    assert.equal(path.basename(publicPath), `aks-delivery.aks-delivery-${version}.vsix`);
  });

  it('holds each task as one bundled index.js with its task.json and icon, and no node_modules', async () => {
    const names = Object.keys(publicZip.files);
    assert.ok(!names.some((name) => name.includes('node_modules')), 'no node_modules');
    for (const folder of taskFolders()) {
      for (const file of ['index.js', 'task.json', 'icon.png'])
        assert.ok(publicZip.file(`tasks/${folder}/${file}`), `tasks/${folder}/${file}`);
      const jsFiles = names.filter((name) => name.startsWith(`tasks/${folder}/`) && name.endsWith('.js'));
      assert.ok(
        jsFiles.every((name) => /\/(index|prejob)\.js$/.test(name)),
        `${folder} ships only its bundle: ${jsFiles.join(', ')}`,
      );
      const icon = await publicZip.file(`tasks/${folder}/icon.png`)!.async('nodebuffer');
      assert.equal(icon.readUInt32BE(16), 32, `${folder} icon is 32 px wide`);
    }
  });

  it('has every handler target of every task, stamped with the extension version', async () => {
    for (const folder of taskFolders()) {
      const task = await json<TaskManifest>(publicZip, `tasks/${folder}/task.json`);
      assert.deepEqual(task.version, { Major: 1, Minor: minor, Patch: patch });
      for (const handlers of [task.execution, task.prejobexecution]) {
        for (const [handler, { target }] of Object.entries(handlers ?? {})) {
          assert.ok(publicZip.file(`tasks/${folder}/${target}`), `${folder} ${handler} → ${target}`);
        }
      }
    }
  });

  it('carries the overview, licence and a 128 px extension icon', async () => {
    assert.ok(publicZip.file('overview.md'));
    assert.ok(publicZip.file('LICENSE'));
    const icon = await publicZip.file('images/extension-icon.png')!.async('nodebuffer');
    assert.equal(icon.readUInt32BE(16), 128);
  });

  it('builds a dev variant with its own extension id and task ids and names', async () => {
    const manifest = await devZip.file('extension.vsomanifest')?.async('string');
    assert.ok(manifest);
    const vsixManifest = await devZip.file('extension.vsixmanifest')!.async('string');
    assert.match(vsixManifest, /Id="aks-delivery-dev"/);
    for (const folder of taskFolders()) {
      const published = await json<TaskManifest>(publicZip, `tasks/${folder}/task.json`);
      const dev = await json<TaskManifest>(devZip, `tasks/${folder}/task.json`);
      assert.notEqual(dev.id, published.id);
      assert.equal(dev.name, `${published.name}Dev`);
    }
  });
});
