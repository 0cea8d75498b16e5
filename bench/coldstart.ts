// bench/coldstart: each bundled task, started as the agent starts it with no inputs, until it
// prints its failure line; against `node -e 0` on the same machine in the same run. Also
// reports the bundle and vsix sizes against the bars.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTaskAsAgent } from '../scripts/agent';
import { DIST_DIR, EXTENSION_STAGING_DIR, taskFolders } from '../scripts/layout';
import { spawnSync } from 'node:child_process';

const RUNS = 10;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function timeNodeBaseline(): number {
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0']);
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return median(samples);
}

async function timeTask(task: string): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const run = await runTaskAsAgent({ task });
    if (run.result !== 'Failed') throw new Error(`${task} with no inputs did not fail: ${run.stdout}`);
    samples.push(run.durationMs);
  }
  return median(samples);
}

export async function benchColdStart(): Promise<void> {
  // Warm the file cache so the first task does not pay for it.
  spawnSync(process.execPath, ['-e', '0']);
  const baseline = timeNodeBaseline();
  console.log(`\nCold start (median of ${RUNS}; bar: task ≤ 3 × node -e 0)`);
  console.log(`  node -e 0                       ${baseline.toFixed(0).padStart(5)} ms`);
  for (const task of taskFolders()) {
    const ms = await timeTask(task);
    const size = fs.statSync(path.join(EXTENSION_STAGING_DIR, 'tasks', task, 'index.js')).size;
    console.log(
      `  ${task.padEnd(30)} ${ms.toFixed(0).padStart(5)} ms  ${(ms / baseline).toFixed(2)}×  bundle ${(size / 1024).toFixed(0)} KiB (bar 1536 KiB)`,
    );
  }
  const vsix = fs.readdirSync(DIST_DIR).filter((f) => f.endsWith('.vsix') && !f.includes('-dev-'));
  for (const file of vsix) {
    console.log(
      `  ${file}: ${(fs.statSync(path.join(DIST_DIR, file)).size / 1024).toFixed(0)} KiB (bar 3072 KiB)`,
    );
  }
}
