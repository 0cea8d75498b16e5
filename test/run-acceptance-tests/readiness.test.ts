import * as assert from 'node:assert/strict';
import {
  httpProbe,
  waitForReadiness,
  type ProbeOutcome,
  type ReadinessOptions,
  type ReadinessProgress,
} from '../../tasks/run-acceptance-tests/readiness';
import { startTestServer } from './testServer';

/** A clock that moves only when the code under test sleeps or a probe takes time. */
function fakeTime(): {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  advance: (ms: number) => void;
} {
  let time = 0;
  return {
    now: () => time,
    sleep: (ms) => {
      time += ms;
      return Promise.resolve();
    },
    advance: (ms) => (time += ms),
  };
}

/** A probe that answers `outcomes` in turn (the last one forever), each taking `takesMs`, recording its timeouts. */
function scriptedProbe(outcomes: ProbeOutcome[], advance: (ms: number) => void, takesMs = 100) {
  const timeouts: number[] = [];
  const probe = (timeoutMs: number): Promise<ProbeOutcome> => {
    timeouts.push(timeoutMs);
    advance(Math.min(takesMs, timeoutMs));
    const outcome = outcomes[Math.min(timeouts.length, outcomes.length) - 1];
    return Promise.resolve(outcome ?? { ready: false, got: 'nothing scripted' });
  };
  return { probe, timeouts };
}

const notReady: ProbeOutcome = { ready: false, got: 'HTTP 503' };

describe('waitForReadiness', () => {
  it('returns as soon as a probe answers 2xx', async () => {
    const time = fakeTime();
    const { probe } = scriptedProbe([notReady, notReady, { ready: true, status: 204 }], time.advance);
    const result = await waitForReadiness(probe, {
      timeoutMs: 60_000,
      probeTimeoutMs: 30_000,
      intervalMs: 1000,
      ...time,
    });
    assert.deepEqual(result, { ready: true, probes: 3, elapsedMs: 2300, last: 'HTTP 204' });
  });

  it('gives up at the timeout naming what the last probe got', async () => {
    const time = fakeTime();
    const { probe } = scriptedProbe([{ ready: false, got: 'ECONNREFUSED' }, notReady], time.advance);
    const result = await waitForReadiness(probe, {
      timeoutMs: 5000,
      probeTimeoutMs: 30_000,
      intervalMs: 1000,
      ...time,
    });
    assert.equal(result.ready, false);
    assert.equal(result.last, 'HTTP 503');
    assert.equal(result.elapsedMs, 5000);
  });

  it('never lets a probe outlast the wait', async () => {
    const time = fakeTime();
    const { probe, timeouts } = scriptedProbe([{ ready: false, got: 'no answer' }], time.advance, 30_000);
    await waitForReadiness(probe, { timeoutMs: 45_000, probeTimeoutMs: 30_000, intervalMs: 2000, ...time });
    assert.deepEqual(timeouts, [30_000, 13_000]);
  });

  it('probes once, with the whole request timeout, when the timeout is 0', async () => {
    const time = fakeTime();
    const { probe, timeouts } = scriptedProbe([notReady], time.advance, 0);
    const result = await waitForReadiness(probe, { timeoutMs: 0, probeTimeoutMs: 30_000, ...time });
    assert.deepEqual([result.ready, result.probes, timeouts], [false, 1, [30_000]]);
  });

  it('reports progress at most once per progress interval', async () => {
    const time = fakeTime();
    const progress: ReadinessProgress[] = [];
    const { probe } = scriptedProbe([notReady], time.advance);
    const options: ReadinessOptions = {
      timeoutMs: 16_000,
      probeTimeoutMs: 30_000,
      intervalMs: 900,
      progressEveryMs: 5000,
      onProgress: (p) => progress.push(p),
      ...time,
    };
    await waitForReadiness(probe, options);
    // A probe every second (100 ms each plus 900 ms apart): reports after the 6th and 11th probes.
    assert.deepEqual(progress, [
      { elapsedMs: 5100, probes: 6, got: 'HTTP 503' },
      { elapsedMs: 10_100, probes: 11, got: 'HTTP 503' },
      { elapsedMs: 15_100, probes: 16, got: 'HTTP 503' },
    ]);
  });
});

describe('httpProbe against a local server', () => {
  it('waits through 503s until the server is ready', async () => {
    const server = await startTestServer();
    try {
      const probe = httpProbe(`${server.baseUrl}/ready-after/3`, { Authorization: 'Bearer t' }, undefined);
      const result = await waitForReadiness(probe, {
        timeoutMs: 10_000,
        probeTimeoutMs: 1000,
        intervalMs: 10,
      });
      assert.deepEqual([result.ready, result.probes, result.last], [true, 3, 'HTTP 200']);
      assert.deepEqual(
        server.log.requests.map((r) => [r.method, r.url, r.headers.authorization]),
        Array.from({ length: 3 }, () => ['GET', '/ready-after/3', 'Bearer t']),
      );
    } finally {
      await server.close();
    }
  });

  it('names a status that is not 2xx and a request that does not answer', async () => {
    const server = await startTestServer();
    try {
      assert.deepEqual(await httpProbe(`${server.baseUrl}/nope`, {}, undefined)(1000), {
        ready: false,
        got: 'HTTP 404',
      });
      assert.deepEqual(await httpProbe(`${server.baseUrl}/hang`, {}, undefined)(100), {
        ready: false,
        got: 'no answer within 0.1 s',
      });
    } finally {
      await server.close();
    }
  });
});
