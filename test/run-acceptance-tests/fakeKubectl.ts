// A kubectl stand-in for L0 runs, and the app it "forwards" to, in a process of its own (the mock runner
// blocks the test process while the task runs, so a server there could not answer):
// - `version --client --output=json`: a client version, as connectToCluster asks;
// - `port-forward service/<name> :<port> -n <ns> --address 127.0.0.1`: appends its pid and arguments to
//   FAKE_KUBECTL_LOG, then serves the app on a free loopback port and prints kubectl's Forwarding line;
//   a Service named `missing` gets kubectl's NotFound error and exit code 1 instead;
// - `serve`: the app alone, with the same Forwarding line (for runs against a base URL).
// The app: /healthz and /ok answer 200 JSON, /fail answers 500 quoting the Authorization header, as a
// debug page would; anything else 404.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';

function serve(targetPort: string): void {
  const server = http.createServer((request, response) => {
    const route = (request.url ?? '/').split('?')[0];
    if (route === '/healthz' || route === '/ok') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (route === '/fail') {
      response.writeHead(500).end(`broken; you sent ${request.headers.authorization ?? 'nothing'}`);
    } else {
      response.writeHead(404).end('no such page');
    }
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    console.log(`Forwarding from 127.0.0.1:${port} -> ${targetPort}`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

function main(): void {
  const args = process.argv.slice(2);
  if (args[0] === 'version') {
    console.log(JSON.stringify({ clientVersion: { gitVersion: 'v1.32.0' } }));
  } else if (args[0] === 'serve') {
    serve('80');
  } else {
    const forwardAt = args.indexOf('port-forward');
    const service = args[forwardAt + 1] ?? '';
    const log = process.env['FAKE_KUBECTL_LOG'];
    if (log !== undefined) fs.appendFileSync(log, `${JSON.stringify({ pid: process.pid, args })}\n`);
    if (forwardAt < 0) {
      console.error(`error: the fake kubectl knows no ${args.join(' ')}`);
      process.exit(1);
    }
    if (service === 'service/missing') {
      console.error('Error from server (NotFound): services "missing" not found');
      process.exit(1);
    }
    serve((args[forwardAt + 2] ?? '').replace(/^:/, ''));
  }
}

if (require.main === module) main();

/** Writes an executable `kubectl` into `directory` that runs this script; returns the directory. */
export function installFakeKubectl(directory: string): string {
  const file = path.join(directory, 'kubectl');
  fs.writeFileSync(file, `#!/bin/sh\nexec "${process.execPath}" "${__filename}" "$@"\n`, { mode: 0o755 });
  return directory;
}

/** The app alone in a process of its own: its base URL, and how to end it. */
export async function startFakeApp(): Promise<{ baseUrl: string; stop(): void }> {
  const child = spawn(process.execPath, [__filename, 'serve'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(readline.createInterface({ input: child.stdout }), 'line')) as [string];
  const port = /127\.0\.0\.1:(\d+)/.exec(line)?.[1];
  if (port === undefined) throw new Error(`the fake app said ${line}`);
  return { baseUrl: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}
