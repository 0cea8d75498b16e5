'use strict';

// Integration test of the image as it ships: the CI pipeline builds it, runs this file, and pushes the
// image only when it passes. It needs Docker and IMAGE (the built reference); secrets your own
// integration tests need come in as environment variables (see samples/pipelines/ci.yml). Named
// container.js, not *.test.js, so that the unit tests' bare `node --test` does not pick it up.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');

const image = process.env.IMAGE;
let container;
let baseUrl;

function docker(...args) {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}

before(async () => {
  assert.ok(image, 'set IMAGE to the image to test, e.g. contoso.azurecr.io/shop/web:42');
  // As the Deployment runs it: read-only root file system, no capabilities, the image's own user.
  // A short health interval so that the HEALTHCHECK answers within the test.
  container = docker(
    'run',
    '--detach',
    '--read-only',
    '--cap-drop=ALL',
    '--security-opt=no-new-privileges',
    '--publish=127.0.0.1::8080',
    '--env=APP_VERSION=integration',
    '--health-interval=1s',
    image,
  );
  baseUrl = `http://${docker('port', container, '8080/tcp').split('\n')[0]}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const health = docker('inspect', '--format={{.State.Health.Status}}', container);
    if (health === 'healthy') break;
    if (Date.now() > deadline)
      throw new Error(`the container is ${health} after 30 s:\n${docker('logs', container)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
});

after(() => {
  if (container !== undefined) docker('rm', '--force', container);
});

test('the image runs as a non-root user', () => {
  const user = docker('inspect', '--format={{.Config.User}}', container);
  assert.ok(user !== '' && !/^(root|0)(:|$)/.test(user), `the image's user is '${user}'`);
});

test('the container serves the shop with the version it was given', async () => {
  const body = await (await fetch(`${baseUrl}/`)).text();
  assert.match(body, /Welcome to Contoso Shop/);
  assert.match(body, /integration/);
  assert.deepEqual(await (await fetch(`${baseUrl}/healthz`)).json(), { status: 'ok' });
  assert.equal((await fetch(`${baseUrl}/api/products`)).status, 200);
});

test('docker stop ends the container cleanly, with exit code 0', () => {
  docker('stop', '--time=20', container);
  assert.equal(docker('inspect', '--format={{.State.ExitCode}}', container), '0');
});
