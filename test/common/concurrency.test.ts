import * as assert from 'node:assert/strict';
import { ConcurrencyLimit } from '../../tasks/common/concurrency';

/** Lets every job that can start run up to its first await. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Jobs that run until the test lets each one finish, recording the order they start in. */
function controlledJobs(limit: ConcurrencyLimit, count: number) {
  const started: number[] = [];
  const release: (() => void)[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const results = Array.from({ length: count }, (_, index) =>
    limit.run(async () => {
      started.push(index);
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await new Promise<void>((resolve) => (release[index] = resolve));
      inFlight--;
      return index;
    }),
  );
  return {
    started,
    results,
    finish: (index: number) => release[index]?.(),
    inFlight: () => inFlight,
    mostInFlight: () => mostInFlight,
  };
}

function clockAt(start: number) {
  let time = start;
  return { now: () => time, advance: (ms: number) => (time += ms) };
}

describe('ConcurrencyLimit', () => {
  it('refuses a limit that is not a positive whole number', () => {
    assert.throws(() => new ConcurrencyLimit(0), {
      name: 'RangeError',
      message: 'concurrency limit must be a positive integer, got 0',
    });
    assert.throws(() => new ConcurrencyLimit(1.5), RangeError);
  });

  it('never runs more than the limit at once and starts waiting jobs in the order they came', async () => {
    const jobs = controlledJobs(new ConcurrencyLimit(3), 8);
    await settle();
    assert.deepEqual(jobs.started, [0, 1, 2]);

    for (const index of [1, 0, 2, 3, 4, 5, 6, 7]) {
      jobs.finish(index);
      await settle();
    }
    assert.deepEqual(await Promise.all(jobs.results), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(jobs.started, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(jobs.mostInFlight(), 3);
  });

  it('frees the slot of a job that fails', async () => {
    const limit = new ConcurrencyLimit(1);
    await assert.rejects(
      limit.run(() => Promise.reject(new Error('boom'))),
      { message: 'boom' },
    );
    assert.equal(await limit.run(() => Promise.resolve('next')), 'next');
  });

  describe('throttled()', () => {
    it('halves the limit, rounding down, at most once per cool-down', () => {
      const clock = clockAt(5000);
      const limit = new ConcurrencyLimit(15, { coolDownMs: 1000, now: clock.now });
      const seen: number[] = [];
      limit.throttled();
      seen.push(limit.limit);
      limit.throttled();
      seen.push(limit.limit);
      clock.advance(999);
      limit.throttled();
      seen.push(limit.limit);
      clock.advance(1);
      limit.throttled();
      seen.push(limit.limit);
      assert.deepEqual(seen, [7, 7, 7, 3]);
    });

    it('never goes below one', () => {
      const clock = clockAt(0);
      const limit = new ConcurrencyLimit(4, { coolDownMs: 1000, now: clock.now });
      const seen: number[] = [];
      for (let drop = 0; drop < 4; drop++) {
        limit.throttled();
        seen.push(limit.limit);
        clock.advance(1000);
      }
      assert.deepEqual(seen, [2, 1, 1, 1]);
    });

    it('starts no new job while the jobs already running exceed the lowered limit', async () => {
      const clock = clockAt(0);
      const limit = new ConcurrencyLimit(4, { coolDownMs: 1000, now: clock.now });
      const jobs = controlledJobs(limit, 6);
      await settle();
      limit.throttled();
      assert.equal(limit.limit, 2);

      jobs.finish(0);
      await settle();
      jobs.finish(1);
      await settle();
      assert.deepEqual(jobs.started, [0, 1, 2, 3], 'two still running, the limit is two');
      jobs.finish(2);
      await settle();
      assert.deepEqual(jobs.started, [0, 1, 2, 3, 4]);
      assert.equal(jobs.inFlight(), 2);
      for (const index of [3, 4, 5]) {
        jobs.finish(index);
        await settle();
      }
      assert.deepEqual(await Promise.all(jobs.results), [0, 1, 2, 3, 4, 5]);
    });
  });

  describe('succeeded()', () => {
    it('raises the limit by one after as many successes in a row as the limit, up to the ceiling', () => {
      const clock = clockAt(0);
      const limit = new ConcurrencyLimit(6, { coolDownMs: 1000, now: clock.now });
      limit.throttled();
      const seen: number[] = [limit.limit];
      for (let success = 0; success < 20; success++) {
        limit.succeeded();
        seen.push(limit.limit);
      }
      assert.deepEqual(seen, [3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6]);
    });

    it('starts counting again after a throttled answer', () => {
      const clock = clockAt(0);
      const limit = new ConcurrencyLimit(8, { coolDownMs: 1000, now: clock.now });
      limit.throttled();
      assert.equal(limit.limit, 4);
      for (let success = 0; success < 3; success++) limit.succeeded();
      limit.throttled(); // within the cool-down: no drop, but the run of successes is broken
      assert.equal(limit.limit, 4);
      for (let success = 0; success < 3; success++) limit.succeeded();
      assert.equal(limit.limit, 4);
      limit.succeeded();
      assert.equal(limit.limit, 5);
    });

    it('starts a waiting job as soon as the limit climbs', async () => {
      const clock = clockAt(0);
      const limit = new ConcurrencyLimit(2, { coolDownMs: 1000, now: clock.now });
      limit.throttled();
      const jobs = controlledJobs(limit, 3);
      await settle();
      assert.deepEqual(jobs.started, [0]);

      limit.succeeded();
      await settle();
      assert.equal(limit.limit, 2);
      assert.deepEqual(jobs.started, [0, 1], 'job 0 is still running');
      for (const index of [0, 1, 2]) {
        jobs.finish(index);
        await settle();
      }
      assert.deepEqual(await Promise.all(jobs.results), [0, 1, 2]);
      assert.equal(jobs.mostInFlight(), 2);
    });
  });
});
