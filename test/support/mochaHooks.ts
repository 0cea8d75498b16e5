import type { Context } from 'mocha';
import { takeLastRun } from './l0';

/** Root hooks: when a test fails, show what the task printed, so a failure explains itself. */
export const mochaHooks = {
  afterEach(this: Context): void {
    const run = takeLastRun();
    if (run !== undefined && this.currentTest?.state === 'failed') {
      console.log(
        `\n----- task stdout -----\n${run.stdout}\n----- task stderr -----\n${run.stderr}\n-----------------------`,
      );
    }
  },
};
