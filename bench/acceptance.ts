// bench/acceptance: 500 checks against a local server that answers every request after 50 ms, run by the
// task's own runChecks (the dispatcher the task uses, concurrency 8, no retries), against the ideal
// 500 × 50 ms ÷ 8; and in the same run the same 500 requests as a Newman collection, the tool people use
// today. The server runs in a process of its own, so neither client shares its event loop.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import * as readline from 'node:readline';
import { parseChecks } from '../tasks/run-acceptance-tests/checksFile';
import { LoopbackDirectDispatcher } from '../tasks/run-acceptance-tests/dispatcher';
import { runChecks } from '../tasks/run-acceptance-tests/runChecks';

const CHECKS = 500;
const LATENCY_MS = 50;
const CONCURRENCY = 8;
const RUNS = 3;
const BAR = 1.15;

const SERVER = `
const server = require('node:http').createServer((request, response) =>
  setTimeout(() => response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'), ${LATENCY_MS}));
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function startServer(): Promise<{ baseUrl: string; process: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [port] = (await once(readline.createInterface({ input: child.stdout }), 'line')) as [string];
  return { baseUrl: `http://127.0.0.1:${port}`, process: child };
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
}

async function timeRuns(run: () => Promise<number>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const passed = await run();
    // Every run must really pass every check, or its time means nothing.
    if (passed !== CHECKS) throw new Error(`${passed} of ${CHECKS} checks passed`);
    samples.push(performance.now() - started);
  }
  return median(samples);
}

function checksYaml(): string {
  const lines = ['checks:'];
  for (let i = 0; i < CHECKS; i++)
    lines.push(`  - name: item ${i}`, `    request: { path: /items/${i} }`, '    expect: { status: 200 }');
  return lines.join('\n');
}

async function runProductChecks(baseUrl: string): Promise<number> {
  const checks = parseChecks(checksYaml(), 'bench.yaml');
  // A new dispatcher per run, as each task run has: connections are opened inside the measured time.
  const dispatcher = new LoopbackDirectDispatcher();
  try {
    const results = await runChecks(checks, {
      baseUrl,
      headers: new Map(),
      concurrency: CONCURRENCY,
      retries: 0,
      requestTimeoutMs: 30_000,
      dispatcher,
    });
    return results.filter((result) => result.passed).length;
  } finally {
    await dispatcher.close();
  }
}

interface NewmanSummary {
  run: { stats: { assertions: { total: number; failed: number } } };
}

function runNewman(baseUrl: string): Promise<number> {
  const collection = {
    info: {
      name: 'acceptance bench',
      schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json',
    },
    item: Array.from({ length: CHECKS }, (_, i) => ({
      name: `item ${i}`,
      request: { method: 'GET', url: `${baseUrl}/items/${i}` },
      event: [
        { listen: 'test', script: { exec: ['pm.test("status", () => pm.response.to.have.status(200));'] } },
      ],
    })),
  };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const newman = require('newman') as {
    run(options: object, callback: (error: Error | null, summary: NewmanSummary) => void): void;
  };
  return new Promise((resolve, reject) =>
    newman.run({ collection, reporters: [] }, (error, summary) => {
      if (error !== null) reject(error);
      else resolve(summary.run.stats.assertions.total - summary.run.stats.assertions.failed);
    }),
  );
}

export async function benchAcceptance(): Promise<void> {
  const server = await startServer();
  try {
    // Warm both clients' code paths once, outside the measurements.
    await runProductChecks(server.baseUrl);
    const idealMs = (CHECKS * LATENCY_MS) / CONCURRENCY;
    const productMs = await timeRuns(() => runProductChecks(server.baseUrl));
    const newmanMs = await timeRuns(() => runNewman(server.baseUrl));
    const ratio = productMs / idealMs;
    console.log(
      `\nAcceptance checks: ${CHECKS} requests answered after ${LATENCY_MS} ms (median of ${RUNS}; bar: ≤ ${BAR} × ideal)`,
    );
    console.log(
      `  ideal (${CHECKS} × ${LATENCY_MS} ms ÷ ${CONCURRENCY})  ${idealMs.toFixed(0).padStart(6)} ms`,
    );
    console.log(
      `  runChecks, concurrency ${CONCURRENCY}     ${productMs.toFixed(0).padStart(6)} ms  ${ratio.toFixed(3)}× ideal  ${ratio <= BAR ? 'within the bar' : 'OVER THE BAR'}`,
    );
    console.log(
      `  newman run (one at a time)    ${newmanMs.toFixed(0).padStart(6)} ms  ${(newmanMs / productMs).toFixed(2)}× runChecks`,
    );
    if (ratio > BAR) process.exitCode = 1;
  } finally {
    server.process.kill();
  }
}

if (require.main === module) {
  benchAcceptance().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
