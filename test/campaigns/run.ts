// npm run campaign -- keyVault [--seeds N] [--first S] [--max-secrets M] [--fault-rate R]
// npm run campaign -- promote [--seeds N] [--first S] [--fault-rate R]
// npm run campaign -- deploy [--seeds N] [--first S] [--fault-rate R]
// Long fault campaigns, kept out of `npm test`; each prints one line per run and exits 1 on a finding.
import '../../scripts/quietTaskLib';
import { parseArgs } from 'node:util';
import { runKeyVaultCampaign, summarizeCampaign, type RunReport } from './keyVaultCampaign';
import { runDeployCampaign } from './deployCampaign';
import { runPromoteCampaign } from './promoteCampaign';

interface Arguments {
  readonly campaign: string;
  readonly seeds: number;
  readonly first: number;
  readonly maxSecrets: number;
  readonly faultRate: number;
}

const USAGE = `usage: npm run campaign -- keyVault|promote|deploy [--seeds N] [--first S] [--fault-rate R] [--max-secrets M]
A seeded fault campaign: N runs (default 50) from seed S (default 1), faults injected at rate R
(default 0.1); --max-secrets (keyVault only, default 120). One line per run; exits 1 on a finding.`;

function parseArguments(argv: readonly string[]): Arguments {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      seeds: { type: 'string' },
      first: { type: 'string' },
      'max-secrets': { type: 'string' },
      'fault-rate': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    console.log(USAGE);
    process.exit(0);
  }
  const [campaign = '', ...extra] = positionals;
  if (extra.length > 0) throw new Error(`one campaign at a time, got "${positionals.join(' ')}"`);
  const number = (name: keyof typeof values, fallback: number, min: number, max: number): number => {
    const text = values[name];
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isFinite(value) || value < min || value > max)
      throw new Error(`--${name} must be a number from ${min} to ${max}, got "${text}"`);
    return value;
  };
  const parsed = {
    campaign,
    seeds: number('seeds', 50, 1, 100_000),
    first: number('first', 1, 0, 2 ** 31),
    maxSecrets: number('max-secrets', 120, 0, 2_000),
    faultRate: number('fault-rate', 0.1, 0, 1),
  };
  if (campaign !== 'keyVault' && campaign !== 'promote' && campaign !== 'deploy')
    throw new Error(`no campaign named "${campaign}"; the campaigns: keyVault, promote, deploy`);
  return parsed;
}

function printReport(report: RunReport): void {
  const verdict = report.findings.length === 0 ? 'ok  ' : 'FAIL';
  console.log(
    `${verdict} seed ${report.seed}: ${report.result} in ${report.durationMs} ms, ${report.faults} faults ${JSON.stringify(report.faultKinds)}; ${report.scenario}`,
  );
  if (report.failure !== undefined)
    console.log(
      `       ${report.failedUnderFaults ? 'failed under faults' : 'failed as expected'}: ${report.failure}`,
    );
  for (const finding of report.findings) console.log(`       ${finding}`);
}

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  const seeds = Array.from({ length: args.seeds }, (_, i) => args.first + i);
  const reports =
    args.campaign === 'promote'
      ? await runPromoteCampaign({ seeds, faultRate: args.faultRate, onRun: printReport })
      : args.campaign === 'deploy'
        ? await runDeployCampaign({ seeds, faultRate: args.faultRate, onRun: printReport })
        : await runKeyVaultCampaign({
            seeds,
            maxSecrets: args.maxSecrets,
            faultRate: args.faultRate,
            onRun: printReport,
          });
  const failed = reports.filter((report) => report.findings.length > 0);
  const summary = summarizeCampaign(reports);
  console.log(
    `\n${summary.runs} runs: ${summary.succeeded} succeeded, ${summary.failedAsRequired} failed as the scenario required, ${summary.failedUnderFaults} failed for faults alone (the bound allows ${summary.allowedUnderFaults}), ${summary.runsWithFindings} with findings${failed.length > 0 ? `: seeds ${failed.map((r) => r.seed).join(', ')}` : ''}`,
  );
  console.log(`faults injected: ${JSON.stringify(summary.faultKinds)}`);
  for (const finding of summary.findings) console.log(`FAIL campaign: ${finding}`);
  if (failed.length > 0 || summary.findings.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 2;
});
