// bench/keyVault: 500 secrets, 30 ms added to every Key Vault request. Our pipelined fetch
// (tasks/fetch-keyvault-secrets/fetch.ts) against the approach of AzureKeyVault@2 (list every
// page, then fetch 20 at a time), with the same warm SecretClient against the same sandbox vault.
import { ClientSecretCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { fetchAllSecrets, type SecretReader } from '../tasks/fetch-keyvault-secrets/fetch';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { KEY_VAULT_MAX_PAGE_SIZE } from '../test/sandbox/keyVault';
import { trustCertificateAuthority } from '../test/sandbox/trust';
import type { BenchVault } from './keyVaultServer';

const SECRETS = 500;
const LATENCY_MS = 30;
const RUNS = 3;

async function listThenFetchInBatches(client: SecretReader, batch: number): Promise<number> {
  const names: string[] = [];
  for await (const page of client.listPropertiesOfSecrets().byPage()) names.push(...page.map((p) => p.name));
  let fetched = 0;
  for (let start = 0; start < names.length; start += batch) {
    const values = await Promise.all(names.slice(start, start + batch).map((name) => client.getSecret(name)));
    fetched += values.length;
  }
  return fetched;
}

async function time(run: () => Promise<number>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const count = await run();
    // Every approach must really fetch every secret, or its time means nothing.
    if (count !== SECRETS) throw new Error(`fetched ${count} of ${SECRETS}`);
    samples.push(performance.now() - started);
  }
  return samples.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
}

/** Starts bench/keyVaultServer in a child process and reads what it prints. */
async function startVaultProcess(latencyMs: number): Promise<{ vault: BenchVault; stop: () => void }> {
  const child = spawn(
    process.execPath,
    [path.join(__dirname, 'keyVaultServer.js'), String(SECRETS), String(latencyMs)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const json = buffered.split('\n').find((l) => l.startsWith('{'));
      if (json !== undefined) resolve(json);
    });
    child.on('exit', (code) => reject(new Error(`the bench vault exited with ${code}`)));
  });
  return { vault: JSON.parse(line) as BenchVault, stop: () => child.stdin.end() };
}

type Approach = readonly [name: string, run: (client: SecretClient) => Promise<number>];

const APPROACHES: readonly Approach[] = [
  [
    'pipelined, concurrency 16 (default)',
    async (c) => (await fetchAllSecrets(c, { concurrency: 16, now: new Date() })).fetched.length,
  ],
  [
    'pipelined, concurrency 32',
    async (c) => (await fetchAllSecrets(c, { concurrency: 32, now: new Date() })).fetched.length,
  ],
  ['list all, then 20 at a time (AzureKeyVault@2)', (c) => listThenFetchInBatches(c, 20)],
];

/** Median wall time of each approach against a vault that adds `latencyMs` to every request. */
async function measure(latencyMs: number): Promise<number[]> {
  const { vault, stop } = await startVaultProcess(latencyMs);
  const untrust = trustCertificateAuthority(vault.caPem);
  try {
    // The SDK, credential included, takes its proxy from the environment when a client is built.
    process.env['HTTPS_PROXY'] = vault.proxyUrl;
    const client = new SecretClient(
      vault.vaultUrl,
      new ClientSecretCredential(vault.tenantId, vault.clientId, vault.secret),
    );
    await client.getSecret('secret-0'); // sign in and pass the challenge before timing
    const results: number[] = [];
    for (const [, run] of APPROACHES) results.push(await time(() => run(client)));
    return results;
  } finally {
    untrust();
    stop();
  }
}

export async function benchKeyVault(): Promise<void> {
  const floor = await measure(0);
  const withLatency = await measure(LATENCY_MS);
  const pages = Math.ceil(SECRETS / KEY_VAULT_MAX_PAGE_SIZE);
  const lowerBound = pages * LATENCY_MS + LATENCY_MS;
  console.log(
    `\nKey Vault: ${SECRETS} secrets in ${pages} pages, +${LATENCY_MS} ms per request; latency lower bound ${lowerBound} ms (median of ${RUNS})`,
  );
  console.log(
    '  Through the sandbox proxy every request opens its own tunnel and TLS session (the SDK keeps no',
  );
  console.log(
    '  connection alive through a proxy), so "+0 ms" is this machine\'s cost of the requests themselves.',
  );
  console.log(
    `  ${'approach'.padEnd(48)} ${'+30 ms'.padStart(8)} ${'+0 ms'.padStart(8)}  ratio to bound (bar ≤ 1.2)`,
  );
  APPROACHES.forEach(([name], i) => {
    const ms = withLatency[i]!;
    console.log(
      `  ${name.padEnd(48)} ${ms.toFixed(0).padStart(6)} ms ${floor[i]!.toFixed(0).padStart(5)} ms  ${(ms / lowerBound).toFixed(2)}×`,
    );
  });
}
