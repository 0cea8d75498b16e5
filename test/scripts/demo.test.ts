import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  buildAppImage,
  formatStep,
  missingPrerequisites,
  parseDemoArguments,
  prerequisiteAdvice,
  wrapText,
} from '../../scripts/demo';

const DEMO = path.resolve(__dirname, '..', '..', 'scripts', 'demo.js');
const DIGEST = /sha256:[0-9a-f]{64}/;

/** Runs `npm run demo`'s program as a user would (the bundle must be built: npm test does it). */
function runDemo(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [DEMO, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run demo', function () {
  describe('arguments', function () {
    it('reads --break acceptance, --break=image and --help', function () {
      assert.deepEqual(parseDemoArguments(['--break', 'acceptance']), { break: 'acceptance', help: false });
      assert.deepEqual(parseDemoArguments(['--break=image']), { break: 'image', help: false });
      assert.deepEqual(parseDemoArguments(['--help']), { help: true });
      assert.deepEqual(parseDemoArguments([]), { help: false });
    });

    it('refuses a break mode it does not know, naming the ones it does', function () {
      assert.throws(() => parseDemoArguments(['--break', 'network']), /acceptance, image/);
      assert.throws(() => parseDemoArguments(['--break']), /acceptance, image/);
      assert.throws(() => parseDemoArguments(['--fast']), /unknown argument '--fast'/);
    });
  });

  describe('prerequisites', function () {
    it('names each missing program with its Debian package and one apt-get command', function () {
      const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-path-'));
      try {
        const missing = missingPrerequisites(empty);
        assert.deepEqual(
          missing.map((p) => p.tool),
          ['docker-registry', 'kubectl', 'openssl'],
        );
        const advice = prerequisiteAdvice(missing);
        assert.match(advice, /kubectl .*Debian package kubernetes-client/);
        assert.match(
          advice,
          /sudo apt-get update && sudo apt-get install -y docker-registry kubernetes-client openssl$/,
        );
      } finally {
        fs.rmSync(empty, { recursive: true, force: true });
      }
    });

    it('finds a program that is on PATH', function () {
      const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-path-'));
      try {
        fs.writeFileSync(path.join(directory, 'openssl'), '#!/bin/sh\n', { mode: 0o755 });
        assert.deepEqual(
          missingPrerequisites(directory).map((p) => p.tool),
          ['docker-registry', 'kubectl'],
        );
      } finally {
        fs.rmSync(directory, { recursive: true, force: true });
      }
    });
  });

  describe('timeline', function () {
    it('prints a step as result, number, title, duration, then its details indented', function () {
      const text = formatStep(7, {
        title: 'PromoteImage@1  contosononprod → contosoprod',
        result: 'ok',
        durationMs: 1234,
        details: ['promotedImage contosoprod.azurecr.io/shop/web@sha256:ab'],
      });
      const [head, detail] = text.split('\n');
      assert.match(
        head ?? '',
        /^\[ {2}ok {2}\] {2}7 {2}PromoteImage@1 {2}contosononprod → contosoprod +1\.2 s$/,
      );
      assert.equal(detail, '             promotedImage contosoprod.azurecr.io/shop/web@sha256:ab');
    });

    it('wraps a long detail at spaces and keeps a long word whole', function () {
      assert.deepEqual(wrapText('aaa bbb ccc', 7), ['aaa bbb', 'ccc']);
      assert.deepEqual(wrapText('a-very-long-word x', 5), ['a-very-long-word', 'x']);
    });
  });

  describe('sample image', function () {
    it('is the same image every time: one layer of the app files and the Dockerfile config', function () {
      const first = buildAppImage();
      const second = buildAppImage();
      assert.equal(first.digest, second.digest);
      assert.match(first.digest, DIGEST);
      assert.ok(
        first.files.includes('package.json') && first.files.includes('src/server.js'),
        first.files.join(),
      );
      const config = JSON.parse(first.config.toString('utf8')) as { config: { Cmd: string[]; User: string } };
      assert.deepEqual(config.config.Cmd, ['node', 'src/server.js']);
      assert.equal(config.config.User, '1000:1000');
    });
  });

  describe('end to end (bundled tasks on the sandbox)', function () {
    this.timeout(90_000);

    it('ends with the same digest in both registries and running in production, and exits 0', async function () {
      const { code, stdout, stderr } = await runDemo([]);
      assert.equal(code, 0, `${stdout}\n${stderr}`);
      for (const task of [
        'FetchKeyVaultSecrets@1',
        'DeployAksTemplate@1  staging',
        'RunAcceptanceTests@1',
        'PromoteImage@1',
        'DeployAksTemplate@1  production',
      ])
        assert.match(
          stdout,
          new RegExp(`\\[ {2}ok {2}\\] +\\d+ {2}${task.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
          stdout,
        );
      assert.match(stdout, /\[auto {2}\] +\d+ {2}ManualValidation@1 {2}auto-approved/);
      const digest = DIGEST.exec(stdout.slice(stdout.indexOf('digest sha256:')))?.[0] ?? '';
      assert.ok(digest !== '', stdout);
      const final = stdout.slice(stdout.indexOf('The digest staging tested is the digest production runs'));
      assert.ok(final.length > 0, stdout);
      assert.ok(final.includes(`contosononprod.azurecr.io/shop/web:20250614.3  ${digest}`), final);
      assert.ok(final.includes(`contosoprod.azurecr.io/shop/web:20250614.3     ${digest}`), final);
      assert.ok(final.includes(`3/3 ready: contosoprod.azurecr.io/shop/web@${digest}`), final);
      assert.match(final, /answers: 200 "Welcome to Contoso Shop"/);
    });

    it('--break acceptance fails the acceptance step, exits 1 and leaves production untouched', async function () {
      const { code, stdout, stderr } = await runDemo(['--break', 'acceptance']);
      assert.equal(code, 1, `${stdout}\n${stderr}`);
      assert.match(stdout, /\[FAILED\] +\d+ {2}RunAcceptanceTests@1/);
      assert.match(stdout, /FAILED: checkout page answers .*expected 200, got 404/);
      assert.doesNotMatch(stdout, /PromoteImage@1/);
      assert.match(stdout, /contosoprod\.azurecr\.io\/shop\/web:20250614\.3 +\(absent\)/);
      assert.match(stdout, /no deployment\/web \(untouched\)/);
    });
  });
});
