// bench/promote: the bundled PromoteImage task (its own process, as the agent runs it) against
// `skopeo copy --all`, the tool people use today, between the sandbox's two registries over TLS
// (each behind ACR's token exchange, through the sandbox proxy, for both tools alike):
// - a ~500 MB image of 10 layers behind a 2-platform index, to a fresh repository each run;
// - a re-promotion, where the target already holds every blob;
// - the task's peak RSS while it copies one 1 GB layer (process.resourceUsage() in the task's
//   process, read at exit through a --require'd probe).
// skopeo's blob-info cache is wiped before every run (it would otherwise mount blobs it has seen),
// the order alternates, and medians of RUNS runs are compared.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ACR_REFRESH_TOKEN_USERNAME } from '../sandbox/acr';
import {
  NONPROD,
  PROD,
  PROMOTER,
  loginServer,
  startPromoteHarness,
  type PromoteHarness,
} from '../test/integration/promoteHarness';

export interface PromoteBenchOptions {
  /** Size of each of the 10 layers (5 per platform); default 50 MiB, 500 MiB in all. */
  readonly layerBytes?: number;
  /** The single layer of the memory run; default 1 GiB. */
  readonly bigLayerBytes?: number;
  readonly runs?: number;
}

const MIB = 1024 * 1024;
const SKOPEO_CACHE = '/var/lib/containers/cache';
const RATIO_BAR = 1.0;
const RATIO_AIM = 0.8;
const RSS_BAR_MB = 150;

/** Loaded into the task's process with --require: writes its peak RSS (KiB) where it is told at exit. */
const RSS_PROBE = `process.on('exit', () => require('node:fs').writeFileSync(process.env.PROMOTE_BENCH_RSS_FILE, String(process.resourceUsage().maxRSS)));\n`;

function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
}

function wipeSkopeoCache(): void {
  fs.rmSync(SKOPEO_CACHE, { recursive: true, force: true });
}

interface Timed {
  readonly seconds: number;
  /** Peak RSS in MB, when measured. */
  readonly rssMb?: number;
}

async function runTask(
  harness: PromoteHarness,
  source: string,
  repository: string,
  rssFile?: string,
): Promise<Timed> {
  const started = performance.now();
  const run = await harness.run(
    { image: source, targetRepository: repository, targetTags: 'bench' },
    {
      timeoutMs: 600_000,
      ...(rssFile === undefined
        ? {}
        : { env: { NODE_OPTIONS: `--require ${rssFile}.probe.js`, PROMOTE_BENCH_RSS_FILE: rssFile } }),
    },
  );
  const seconds = (performance.now() - started) / 1000;
  if (run.result !== 'Succeeded') throw new Error(`the task failed: ${run.resultMessage ?? ''}`);
  return {
    seconds,
    ...(rssFile === undefined ? {} : { rssMb: Number(fs.readFileSync(rssFile, 'utf8')) / 1024 }),
  };
}

async function runSkopeo(harness: PromoteHarness, source: string, repository: string): Promise<Timed> {
  const credentials = (registry: string): string =>
    `${ACR_REFRESH_TOKEN_USERNAME}:${harness.acr.issueRefreshToken(registry, PROMOTER.clientId)}`;
  const args = [
    'copy',
    '--all',
    '--preserve-digests',
    '--quiet',
    '--src-creds',
    credentials(NONPROD),
    '--dest-creds',
    credentials(PROD),
    `docker://${loginServer(NONPROD)}/${source}`,
    `docker://${loginServer(PROD)}/${repository}:bench`,
  ];
  wipeSkopeoCache();
  const started = performance.now();
  const child = spawn('skopeo', args, {
    env: { ...process.env, ...harness.base.clientEnvironment },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`skopeo failed (${code}): ${stderr.trim()}`);
  return { seconds };
}

/** Both tools RUNS times each, in alternating order; every copy is checked to hold the source digest. */
async function compare(
  harness: PromoteHarness,
  runs: number,
  source: { reference: string; digest: string },
  target: (tool: 'task' | 'skopeo', run: number) => string,
): Promise<{ task: number[]; skopeo: number[] }> {
  const samples = { task: [] as number[], skopeo: [] as number[] };
  for (let i = 0; i < runs; i++) {
    const order: ('task' | 'skopeo')[] = i % 2 === 0 ? ['task', 'skopeo'] : ['skopeo', 'task'];
    for (const tool of order) {
      wipeSkopeoCache();
      const repository = target(tool, i);
      const timed =
        tool === 'task'
          ? await runTask(harness, source.reference, repository)
          : await runSkopeo(harness, source.reference, repository);
      const copied = await harness.digestAt(PROD, repository, 'bench');
      if (copied !== source.digest)
        throw new Error(`${tool} left ${copied ?? 'nothing'} in ${repository}, not ${source.digest}`);
      samples[tool].push(timed.seconds);
    }
  }
  return samples;
}

export async function benchPromote(options: PromoteBenchOptions = {}): Promise<void> {
  const layerBytes = options.layerBytes ?? 50 * MIB;
  const bigLayerBytes = options.bigLayerBytes ?? 1024 * MIB;
  const runs = options.runs ?? 3;
  const harness = await startPromoteHarness({ faultFront: false });
  const probeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'promote-bench-'));
  try {
    const image = await harness.push(NONPROD, 'bench/app', {
      tag: '1',
      platforms: ['linux/amd64', 'linux/arm64'],
      layerSizes: Array.from({ length: 5 }, () => layerBytes),
    });
    const totalMb = (10 * layerBytes) / MIB;
    const source = { reference: 'bench/app:1', digest: image.digest };

    const fresh = await compare(harness, runs, source, (tool, i) => `bench/${tool}-${i}`);
    // The repositories of the first round now hold every blob: promoting again moves none.
    const again = await compare(harness, runs, source, (tool) => `bench/${tool}-0`);

    const big = await harness.push(NONPROD, 'bench/big', { tag: '1', layerSizes: [bigLayerBytes] });
    const rssFile = path.join(probeDir, 'rss');
    fs.writeFileSync(`${rssFile}.probe.js`, RSS_PROBE);
    const memory = await runTask(harness, 'bench/big:1', 'bench/big-task', rssFile);
    if ((await harness.digestAt(PROD, 'bench/big-task', 'bench')) !== big.digest)
      throw new Error('the 1 GB copy does not hold the source digest');
    const skopeoBig = await runSkopeo(harness, 'bench/big:1', 'bench/big-skopeo');

    const ratio = (samples: { task: number[]; skopeo: number[] }): number =>
      median(samples.task) / median(samples.skopeo);
    const s = (value: number): string => `${value.toFixed(2)} s`;
    const rows = [
      [
        `${totalMb.toFixed(0)} MB, 10 layers, 2-platform index (fresh repository)`,
        s(median(fresh.task)),
        s(median(fresh.skopeo)),
        ratio(fresh).toFixed(2),
        `≤ ${RATIO_BAR.toFixed(1)} (aim ${RATIO_AIM})`,
        ratio(fresh) <= RATIO_BAR ? 'met' : 'MISSED',
      ],
      [
        're-promotion (every blob present)',
        s(median(again.task)),
        s(median(again.skopeo)),
        ratio(again).toFixed(2),
        `≤ ${RATIO_BAR.toFixed(1)}`,
        ratio(again) <= RATIO_BAR ? 'met' : 'MISSED',
      ],
      [
        `${(bigLayerBytes / MIB).toFixed(0)} MB single layer: task peak RSS`,
        `${memory.rssMb?.toFixed(0)} MB (${s(memory.seconds)})`,
        `(${s(skopeoBig.seconds)})`,
        '',
        `≤ ${RSS_BAR_MB} MB`,
        (memory.rssMb ?? Infinity) <= RSS_BAR_MB ? 'met' : 'MISSED',
      ],
    ];
    console.log(`\nPromoteImage vs skopeo ${runs} runs each, medians, order alternated, skopeo cache wiped`);
    console.log(`task samples: fresh ${fresh.task.map(s).join(', ')}; again ${again.task.map(s).join(', ')}`);
    console.log(
      `skopeo samples: fresh ${fresh.skopeo.map(s).join(', ')}; again ${again.skopeo.map(s).join(', ')}`,
    );
    console.log('| case | task | skopeo | ratio | bar | |');
    console.log('|---|---|---|---|---|---|');
    for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  } finally {
    fs.rmSync(probeDir, { recursive: true, force: true });
    await harness.close();
  }
}
