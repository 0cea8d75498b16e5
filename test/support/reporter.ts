// Mocha's spec reporter plus one plain closing line, `N passed, N failed, N skipped`, that CI reads.
import * as Mocha from 'mocha';

class SpecWithTotals extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const stats = runner.stats;
      if (stats !== undefined)
        console.log(`tests: ${stats.passes} passed, ${stats.failures} failed, ${stats.pending} skipped`);
    });
  }
}

export = SpecWithTotals;
