'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const { once } = require('node:events');

const SERVER = path.join(__dirname, '..', 'src', 'server.js');

/** Starts server.js as the container does, on an ephemeral port; resolves with the process and its URL. */
async function startServer(env) {
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = [];
  let buffered = '';
  const listening = new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        lines.push(line);
        if (line.message === 'listening') resolve(line.port);
      }
    });
    child.once('exit', (code) => reject(new Error(`server.js exited with ${code} before listening`)));
  });
  const port = await listening;
  return { child, lines, baseUrl: `http://127.0.0.1:${port}` };
}

test('the server shows APP_VERSION and exits 0 on SIGTERM, closing idle keep-alive connections', async () => {
  const { child, lines, baseUrl } = await startServer({ APP_VERSION: '2024.06.1' });
  try {
    const body = await (await fetch(`${baseUrl}/`)).text();
    assert.match(body, /2024\.06\.1/);

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;

    assert.equal(code, 0);
    assert.deepEqual(
      lines.map((line) => line.message),
      ['listening', 'shutting down', 'stopped'],
    );
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
