// npm run bench: every benchmark, each against its anchor in the same run on this machine.
import { packageExtension } from '../scripts/package';
import { benchColdStart } from './coldstart';

async function main(): Promise<void> {
  packageExtension({ dev: false });
  await benchColdStart();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
