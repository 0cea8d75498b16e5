// npm run bench [-- coldstart|keyVault ...]: every benchmark (or the ones named), each against its
// anchor in the same run on this machine.
import '../scripts/quietTaskLib';
import { packageExtension } from '../scripts/package';
import { benchColdStart } from './coldstart';
import { benchKeyVault } from './keyVault';

const BENCHES: Record<string, () => Promise<void>> = {
  coldstart: async () => {
    packageExtension({ dev: false });
    await benchColdStart();
  },
  keyVault: benchKeyVault,
  acceptance: async () => (await import('./acceptance')).benchAcceptance(),
  promote: async () => (await import('./promote')).benchPromote(),
  deploy: async () => (await import('./deploy')).benchDeploy(),
};

const USAGE = `usage: npm run bench [-- NAME ...]
Runs every benchmark, or the ones named, each against its anchor on this machine in the same run:
  ${Object.keys(BENCHES).join(', ')}`;

async function main(): Promise<void> {
  const named = process.argv.slice(2);
  if (named.includes('--help') || named.includes('-h')) {
    console.log(USAGE);
    return;
  }
  const unknown = named.filter((name) => !(name in BENCHES));
  if (unknown.length > 0)
    throw new Error(`no bench named ${unknown.join(', ')}; the benches: ${Object.keys(BENCHES).join(', ')}`);
  for (const [name, bench] of Object.entries(BENCHES))
    if (named.length === 0 || named.includes(name)) await bench();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
