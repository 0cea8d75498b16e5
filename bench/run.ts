// npm run bench: every benchmark, each against its anchor in the same run on this machine.
import { packageExtension } from '../scripts/package';
import { benchColdStart } from './coldstart';
import { benchKeyVault } from './keyVault';

async function main(): Promise<void> {
  packageExtension({ dev: false });
  await benchColdStart();
  await benchKeyVault();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
