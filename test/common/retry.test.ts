import * as assert from 'node:assert/strict';
import {
  createHttpHeaders,
  createPipelineRequest,
  type PipelineRequest,
  type PipelineResponse,
  type SendRequest,
} from '@azure/core-rest-pipeline';
import { PROXY_REFUSED, ProxyConnectError } from '../../tasks/common/proxy';
import {
  BrokenResponseError,
  RequestTimeoutError,
  ThrottledError,
  TIMEOUT_OVERRIDE_VARIABLE,
  ThrottleGate,
  backoffDelayMs,
  retryAfterMs,
  retryPolicy,
  verdictForError,
  verdictForStatus,
  withRetries,
  withTimeout,
  type RetryHooks,
  type RetryPolicyOptions,
} from '../../tasks/common/retry';

const HOST = 'contoso-kv.vault.azure.net';

/** A clock that only moves when the code under test sleeps, and the sleeps it asked for. */
function fakeTime(): RetryHooks & { readonly sleeps: number[]; readonly clock: () => number } {
  let clock = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    clock: () => clock,
    now: () => clock,
    random: () => 0,
    sleep: (ms: number) => {
      sleeps.push(ms);
      clock += ms;
      return Promise.resolve();
    },
  };
}

/** What @azure/core-rest-pipeline's RestError looks like to the classifier. */
function restError(statusCode: number, retryAfter?: string): Error {
  const headers = createHttpHeaders(retryAfter === undefined ? {} : { 'retry-after': retryAfter });
  return Object.assign(new Error(`status ${statusCode}`), {
    name: 'RestError',
    statusCode,
    response: { headers: { get: (name: string) => headers.get(name) } },
  });
}

function socketError(code: string): Error {
  return Object.assign(new Error(`socket: ${code}`), { code });
}

const OPTIONS: RetryPolicyOptions = {
  maxAttempts: 4,
  throttleBudgetMs: 60_000,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
};

/** Fails the test instead of hanging it when a promise that should settle does not. */
async function settlesWithin<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let guard: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    guard = setTimeout(() => reject(new Error(`${what} had not settled after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, hung]);
  } finally {
    clearTimeout(guard);
  }
}

/** A client that stops when its signal aborts, as core-rest-pipeline's and undici's do. */
function answerNeverButHonourAbort(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    signal?.addEventListener(
      'abort',
      () => reject(Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' })),
      {
        once: true,
      },
    );
  });
}

/** What task-lib printed (debug lines included) while `run` ran. */
async function printedDuring<T>(run: () => Promise<T>): Promise<{ value: T; printed: string }> {
  const chunks: string[] = [];
  const own = Object.getOwnPropertyDescriptor(process.stdout, 'write');
  process.stdout.write = (chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  };
  try {
    return { value: await run(), printed: chunks.join('') };
  } finally {
    if (own === undefined) Reflect.deleteProperty(process.stdout, 'write');
    else Object.defineProperty(process.stdout, 'write', own);
  }
}

describe('retryAfterMs', () => {
  it('reads whole and fractional seconds', () => {
    assert.equal(retryAfterMs('2'), 2000);
    assert.equal(retryAfterMs('1.5'), 1500);
    assert.equal(retryAfterMs(' 0 '), 0);
  });

  it('reads an HTTP date as the time left until it, and a date already past as no wait', () => {
    const now = Date.parse('Wed, 21 Oct 2026 07:27:57 GMT');
    assert.equal(retryAfterMs('Wed, 21 Oct 2026 07:28:00 GMT', now), 3000);
    assert.equal(retryAfterMs('Wed, 21 Oct 2026 07:27:00 GMT', now), 0);
  });

  it('gives nothing for a missing, empty or unreadable header', () => {
    assert.deepEqual(
      [undefined, null, '', '   ', 'soon', '12abc', '1e3'].map((header) => retryAfterMs(header)),
      [undefined, undefined, undefined, undefined, undefined, undefined, undefined],
    );
  });
});

describe('verdictForStatus', () => {
  it('calls 429 throttling, with the wait its Retry-After asks for', () => {
    assert.deepEqual(verdictForStatus(429, '3'), { kind: 'throttled', retryAfterMs: 3000 });
    assert.deepEqual(verdictForStatus(429, null), { kind: 'throttled', retryAfterMs: undefined });
  });

  it('calls 408, 500, 502, 503 and 504 transient', () => {
    assert.deepEqual(
      [408, 500, 502, 503, 504].map((status) => verdictForStatus(status, undefined)),
      [408, 500, 502, 503, 504].map(() => ({ kind: 'transient', retryAfterMs: undefined })),
    );
    assert.deepEqual(verdictForStatus(503, '7'), { kind: 'transient', retryAfterMs: 7000 });
  });

  it('has no verdict on success or on statuses a retry cannot change', () => {
    assert.deepEqual(
      [200, 400, 401, 403, 404, 409].map((status) => verdictForStatus(status, '1')),
      [undefined, undefined, undefined, undefined, undefined, undefined],
    );
  });
});

describe('verdictForError', () => {
  it('reads the status and Retry-After of an SDK RestError', () => {
    assert.deepEqual(verdictForError(restError(429, '2')), { kind: 'throttled', retryAfterMs: 2000 });
    assert.deepEqual(verdictForError(restError(503)), { kind: 'transient', retryAfterMs: undefined });
    assert.deepEqual(verdictForError(restError(403)), { kind: 'fatal' });
    assert.deepEqual(verdictForError(restError(404)), { kind: 'fatal' });
  });

  it('calls resets, refusals, DNS hiccups and undici socket failures transient', () => {
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'UND_ERR_SOCKET']) {
      assert.deepEqual(verdictForError(socketError(code)), { kind: 'transient' }, code);
    }
  });

  it('calls a host that does not resolve fatal', () => {
    assert.deepEqual(verdictForError(socketError('ENOTFOUND')), { kind: 'fatal' });
  });

  it('calls the caller’s own cancellation fatal', () => {
    assert.deepEqual(verdictForError(Object.assign(new Error('aborted'), { name: 'AbortError' })), {
      kind: 'fatal',
    });
  });

  it('calls our timeouts and cut-off answers transient', () => {
    assert.deepEqual(verdictForError(new RequestTimeoutError(HOST, 20)), { kind: 'transient' });
    assert.deepEqual(verdictForError(new BrokenResponseError(HOST, 200)), { kind: 'transient' });
  });

  it('calls a proxy that refuses with 403 or 407 fatal and one that is overloaded (502) transient', () => {
    const refusal = (status: number): ProxyConnectError =>
      new ProxyConnectError(PROXY_REFUSED, 'http://127.0.0.1:3128', `${HOST}:443`, status, 'x');
    assert.deepEqual(verdictForError(refusal(403)), { kind: 'fatal' });
    assert.deepEqual(verdictForError(refusal(407)), { kind: 'fatal' });
    assert.equal(verdictForError(refusal(502)).kind, 'transient');
  });

  it('reads the proxy’s status from the message when the HTTP client re-wrapped the refusal without it', () => {
    const rewrapped = (status: string): Error =>
      Object.assign(
        new Error(`The proxy http://127.0.0.1:3128 refused the connection to ${HOST}:443: ${status}`),
        {
          name: 'RestError',
          code: PROXY_REFUSED,
        },
      );
    assert.deepEqual(verdictForError(rewrapped('503 Service Unavailable')), { kind: 'transient' });
    assert.deepEqual(verdictForError(rewrapped('407 Proxy Authentication Required')), { kind: 'fatal' });
  });

  it('calls anything else fatal', () => {
    assert.deepEqual(
      verdictForError(new TypeError("Cannot read properties of undefined (reading 'split')")),
      {
        kind: 'fatal',
      },
    );
    assert.deepEqual(verdictForError('a string'), { kind: 'fatal' });
    assert.deepEqual(verdictForError(null), { kind: 'fatal' });
  });
});

describe('backoffDelayMs', () => {
  it('waits between half and all of base × 2^(try-1)', () => {
    assert.deepEqual(
      [1, 2, 3].map((tries) => backoffDelayMs(tries, OPTIONS, () => 0)),
      [250, 500, 1000],
    );
    assert.deepEqual(
      [1, 2, 3].map((tries) => backoffDelayMs(tries, OPTIONS, () => 1)),
      [500, 1000, 2000],
    );
  });

  it('never waits longer than the cap', () => {
    assert.equal(
      backoffDelayMs(30, OPTIONS, () => 1),
      8000,
    );
    assert.equal(
      backoffDelayMs(30, OPTIONS, () => 0),
      4000,
    );
  });
});

describe('withRetries', () => {
  it('gives up after maxAttempts ordinary failures and throws the last one', async () => {
    const time = fakeTime();
    const tries: number[] = [];
    const reset = socketError('ECONNRESET');
    await assert.rejects(
      withRetries(
        (attempt) => {
          tries.push(attempt);
          return Promise.reject(reset);
        },
        { host: HOST },
        OPTIONS,
        time,
      ),
      (error) => error === reset,
    );
    assert.deepEqual(tries, [1, 2, 3, 4]);
    assert.deepEqual(time.sleeps, [250, 500, 1000]);
  });

  it('returns the first success, reporting it once', async () => {
    const time = fakeTime();
    let successes = 0;
    const answers = [socketError('ECONNRESET'), restError(503, '2')];
    const value = await withRetries(
      () => {
        const failure = answers.shift();
        return failure === undefined ? Promise.resolve('value') : Promise.reject(failure);
      },
      { host: HOST },
      OPTIONS,
      { ...time, onSuccess: () => successes++ },
    );
    assert.equal(value, 'value');
    assert.equal(successes, 1);
    assert.deepEqual(time.sleeps, [250, 2000], 'backoff, then the Retry-After of the 503');
  });

  it('throws a fatal error at once', async () => {
    const time = fakeTime();
    let tries = 0;
    const forbidden = restError(403);
    await assert.rejects(
      withRetries(
        () => {
          tries++;
          return Promise.reject(forbidden);
        },
        { host: HOST },
        OPTIONS,
        time,
      ),
      (error) => error === forbidden,
    );
    assert.equal(tries, 1);
    assert.deepEqual(time.sleeps, []);
  });

  it('rides out a 10-second throttling window, honouring Retry-After exactly', async () => {
    const time = fakeTime();
    let throttledAnswers = 0;
    let tries = 0;
    const value = await withRetries(
      () => {
        tries++;
        return time.clock() < 10_000 ? Promise.reject(restError(429, '1')) : Promise.resolve('secret list');
      },
      { host: HOST },
      OPTIONS,
      { ...time, onThrottled: () => throttledAnswers++ },
    );
    assert.equal(value, 'secret list');
    assert.equal(tries, 11);
    assert.equal(throttledAnswers, 10);
    assert.deepEqual(time.sleeps, Array<number>(10).fill(1000));
  });

  it('throws ThrottledError with the seconds throttled once throttling outlasts its budget', async () => {
    const time = fakeTime();
    let tries = 0;
    const error = await withRetries(
      () => {
        tries++;
        return Promise.reject(restError(429, '1'));
      },
      { host: HOST },
      OPTIONS,
      time,
    ).then(
      () => assert.fail('throttling without end must not succeed'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ThrottledError);
    assert.equal(error.host, HOST);
    assert.equal(error.throttledSeconds, 60);
    assert.equal(error.message, `${HOST} kept answering 429 Too Many Requests for 60 s`);
    assert.equal((error.lastError as { statusCode?: number }).statusCode, 429);
    assert.equal(tries, 61, 'one try a second from 0 s to 60 s');
    assert.equal(time.clock(), 60_000);
  });

  it('backs off exponentially when a 429 has no Retry-After', async () => {
    const time = fakeTime();
    const answers = [restError(429), restError(429), restError(429)];
    await withRetries(
      () => {
        const failure = answers.shift();
        return failure === undefined ? Promise.resolve() : Promise.reject(failure);
      },
      { host: HOST },
      OPTIONS,
      time,
    );
    assert.deepEqual(time.sleeps, [250, 500, 1000]);
  });

  it('restarts the throttling clock after an ordinary failure', async () => {
    const time = fakeTime();
    const budget: RetryPolicyOptions = { ...OPTIONS, throttleBudgetMs: 5000 };
    const tried: number[] = [];
    const error = await withRetries(
      () => {
        tried.push(time.clock());
        // Throttled for 4 s, one reset at 4 s, then throttled again for good.
        return Promise.reject(time.clock() === 4000 ? socketError('ECONNRESET') : restError(429, '1'));
      },
      { host: HOST },
      budget,
      time,
    ).then(
      () => assert.fail('must not succeed'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ThrottledError);
    assert.equal(error.throttledSeconds, 5, 'counted from the first 429 after the reset, not from 0 s');
    assert.deepEqual(tried, [0, 1000, 2000, 3000, 4000, 4250, 5250, 6250, 7250, 8250, 9250]);
  });

  it('stops retrying once the caller has aborted', async () => {
    const caller = new AbortController();
    const time = fakeTime();
    let tries = 0;
    const reset = socketError('ECONNRESET');
    await assert.rejects(
      withRetries(
        () => {
          tries++;
          caller.abort();
          return Promise.reject(reset);
        },
        { host: HOST, abortSignal: caller.signal },
        OPTIONS,
        time,
      ),
      (error) => error === reset,
    );
    assert.equal(tries, 1);
  });
});

describe('withTimeout', () => {
  it('turns a try the client aborts at the timeout into a RequestTimeoutError naming host and seconds', async () => {
    const error = await withTimeout((signal) => answerNeverButHonourAbort(signal), HOST, 50).then(
      () => assert.fail('must not succeed'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof RequestTimeoutError);
    assert.equal(error.host, HOST);
    assert.equal(error.seconds, 0.05);
    assert.equal(error.message, `${HOST} did not answer within 0.05 s`);
  });

  it('ends a try that never settles even when the try ignores its signal', async () => {
    const outcome = await settlesWithin(
      withTimeout(() => new Promise<never>(() => undefined), HOST, 50).then(
        () => 'resolved',
        (e: unknown) => e,
      ),
      5000,
      'withTimeout over a try that ignores its signal',
    );
    assert.ok(outcome instanceof RequestTimeoutError, `got ${String(outcome)}`);
    assert.equal(outcome.host, HOST);
  });

  it('lets the caller’s own abort through instead of calling it a timeout', async () => {
    const caller = new AbortController();
    const reason = Object.assign(new Error('The pipeline was cancelled'), { name: 'AbortError' });
    const pending = withTimeout(
      (signal) =>
        new Promise<never>((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
        ),
      HOST,
      60_000,
      caller.signal,
    );
    caller.abort(reason);
    await assert.rejects(pending, (error) => error === reason);
  });

  it('returns what the try returns within the timeout', async () => {
    assert.equal(await withTimeout(() => Promise.resolve(42), HOST, 60_000), 42);
  });
});

describe('retryPolicy', () => {
  const fast: RetryPolicyOptions = {
    maxAttempts: 4,
    throttleBudgetMs: 60_000,
    baseDelayMs: 1,
    maxDelayMs: 1,
  };
  const respond =
    (request: PipelineRequest) =>
    (status: number, headers: Record<string, string> = {}): PipelineResponse => ({
      request,
      status,
      headers: createHttpHeaders(headers),
    });

  function scripted(answers: ((request: PipelineRequest) => Promise<PipelineResponse>)[]) {
    let calls = 0;
    const next: SendRequest = (sent) => {
      const answer = answers[Math.min(calls, answers.length - 1)];
      calls++;
      assert.ok(answer !== undefined);
      return answer(sent);
    };
    return { next, calls: () => calls };
  }

  it('retries a 503 and returns the 200 that follows, after two tries', async () => {
    const request = createPipelineRequest({ url: `https://${HOST}/secrets?api-version=7.5` });
    const time = fakeTime();
    const script = scripted([
      (r) => Promise.resolve(respond(r)(503, { 'retry-after': '1' })),
      (r) => Promise.resolve(respond(r)(200)),
    ]);
    const response = await retryPolicy('keyVault', fast, time).sendRequest(request, script.next);
    assert.equal(response.status, 200);
    assert.equal(script.calls(), 2);
    assert.deepEqual(time.sleeps, [1], 'Retry-After of a 503 is capped by maxDelayMs');
    assert.equal(request.abortSignal, undefined, 'the caller’s signal is put back');
  });

  it('hands back a status that stays 500 as the response once the tries run out', async () => {
    const request = createPipelineRequest({ url: `https://${HOST}/secrets` });
    const script = scripted([(r) => Promise.resolve(respond(r)(500))]);
    const response = await retryPolicy('keyVault', fast, fakeTime()).sendRequest(request, script.next);
    assert.equal(response.status, 500);
    assert.equal(script.calls(), 4);
  });

  it('returns a 404 as it is, without retrying', async () => {
    const request = createPipelineRequest({ url: `https://${HOST}/secrets/missing/` });
    const script = scripted([(r) => Promise.resolve(respond(r)(404))]);
    const response = await retryPolicy('keyVault', fast, fakeTime()).sendRequest(request, script.next);
    assert.equal(response.status, 404);
    assert.equal(script.calls(), 1);
  });

  it('throws ThrottledError when the service answers 429 beyond the budget', async () => {
    const request = createPipelineRequest({ url: `https://${HOST}/secrets` });
    const throttled = { ...fast, throttleBudgetMs: 3000 };
    const script = scripted([(r) => Promise.resolve(respond(r)(429, { 'retry-after': '1' }))]);
    const time = fakeTime();
    const gate = new ThrottleGate(time.now, time.sleep);
    const error = await retryPolicy('keyVault', throttled, { ...time, gate })
      .sendRequest(request, script.next)
      .then(
        () => assert.fail('must not succeed'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof ThrottledError);
    assert.equal(error.throttledSeconds, 3);
    assert.equal(script.calls(), 4);
    assert.deepEqual(
      time.sleeps,
      [1000, 1000, 1000],
      'the gate holds each retry until the Retry-After instant',
    );
  });

  describe('with a body that cannot be parsed', () => {
    const secret = 'hunter2-Very-Secret-Value';
    const parseError = (): Error =>
      Object.assign(
        new Error(
          `Error "Unexpected end of JSON input" occurred while parsing the response body - {"value":"${secret}","id":"https://${HOST}/se`,
        ),
        { name: 'RestError', code: 'PARSE_ERROR', statusCode: 200 },
      );
    it('retries it and returns the whole answer that follows', async () => {
      const request = createPipelineRequest({ url: `https://${HOST}/secrets/db/` });
      const script = scripted([() => Promise.reject(parseError()), (r) => Promise.resolve(respond(r)(200))]);
      const { value: response, printed } = await printedDuring(() =>
        retryPolicy('keyVault', fast, fakeTime()).sendRequest(request, script.next),
      );
      assert.equal(response.status, 200);
      assert.equal(script.calls(), 2);
      assert.match(
        printed,
        /##vso\[task.debug\]retrying contoso-kv.vault.azure.net in 1 ms after: BrokenResponseError AKS_DELIVERY_BROKEN_RESPONSE/,
      );
      assert.doesNotMatch(printed, new RegExp(secret));
    });

    it('ends with a BrokenResponseError that does not quote the body, nor does any log line', async () => {
      const request = createPipelineRequest({ url: `https://${HOST}/secrets/db/` });
      const script = scripted([() => Promise.reject(parseError())]);
      const { value: error, printed } = await printedDuring(() =>
        retryPolicy('keyVault', fast, fakeTime())
          .sendRequest(request, script.next)
          .then(
            () => assert.fail('must not succeed'),
            (e: unknown) => e,
          ),
      );
      assert.ok(error instanceof BrokenResponseError);
      assert.equal(error.message, `The answer from ${HOST} was cut off or malformed (status 200)`);
      assert.equal(error.status, 200);
      assert.equal(script.calls(), 4);
      assert.doesNotMatch(
        JSON.stringify({ ...error, message: error.message, stack: error.stack }),
        new RegExp(secret),
      );
      assert.doesNotMatch(printed, new RegExp(secret));
    });
  });

  describe('with a JSON body cut off in flight (clients that parse after the pipeline)', () => {
    const secret = 'hunter2-Very-Secret-Value';
    const cutOff = (request: PipelineRequest): PipelineResponse => ({
      ...respond(request)(200, { 'content-type': 'application/json; charset=utf-8' }),
      bodyAsText: `{"value":"${secret}","id":"https://${HOST}/secrets/db/1`,
    });
    const whole = (request: PipelineRequest): PipelineResponse => ({
      ...respond(request)(200, { 'content-type': 'application/json; charset=utf-8' }),
      bodyAsText: `{"value":"${secret}"}`,
    });

    it('retries it and returns the whole body that follows', async () => {
      const request = createPipelineRequest({ url: `https://${HOST}/secrets/db/` });
      const script = scripted([(r) => Promise.resolve(cutOff(r)), (r) => Promise.resolve(whole(r))]);
      const response = await retryPolicy('keyVault', fast, fakeTime()).sendRequest(request, script.next);
      assert.equal(response.bodyAsText, `{"value":"${secret}"}`);
      assert.equal(script.calls(), 2);
    });

    it('ends with a BrokenResponseError that does not quote the body', async () => {
      const request = createPipelineRequest({ url: `https://${HOST}/secrets/db/` });
      const script = scripted([(r) => Promise.resolve(cutOff(r))]);
      const { value: error, printed } = await printedDuring(() =>
        retryPolicy('keyVault', fast, fakeTime())
          .sendRequest(request, script.next)
          .then(
            () => assert.fail('must not succeed'),
            (e: unknown) => e,
          ),
      );
      assert.ok(error instanceof BrokenResponseError);
      assert.equal(error.message, `The answer from ${HOST} was cut off or malformed (status 200)`);
      assert.equal(script.calls(), 4);
      assert.doesNotMatch(printed, new RegExp(secret));
    });
  });

  describe('with a request that is never answered', () => {
    beforeEach(() => {
      // tl.getVariable reads pipeline variables from the environment.
      process.env[TIMEOUT_OVERRIDE_VARIABLE] = '0.2';
    });
    afterEach(() => {
      delete process.env[TIMEOUT_OVERRIDE_VARIABLE];
    });

    it('times each try out and ends with a RequestTimeoutError naming host and seconds', async () => {
      const request = createPipelineRequest({ url: `https://${HOST}/secrets` });
      const script = scripted([
        (sent) => answerNeverButHonourAbort(sent.abortSignal as AbortSignal | undefined),
      ]);
      const error = await settlesWithin(
        retryPolicy('keyVault', { ...fast, maxAttempts: 2 }, fakeTime())
          .sendRequest(request, script.next)
          .then(
            () => assert.fail('must not succeed'),
            (e: unknown) => e,
          ),
        10_000,
        'a policy over a request never answered',
      );
      assert.ok(error instanceof RequestTimeoutError, `got ${String(error)}`);
      assert.equal(error.host, HOST);
      assert.equal(error.seconds, 0.2);
      assert.equal(script.calls(), 2);
    });
  });
});

describe('ThrottleGate', () => {
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('lets every request through while no one is throttled', async () => {
    const time = fakeTime();
    const gate = new ThrottleGate(time.now, time.sleep);
    assert.deepEqual(await Promise.all([gate.enter(), gate.enter()]), [false, false]);
    assert.deepEqual(time.sleeps, []);
  });

  it('holds requests until the Retry-After instant, then lets one probe through and the rest after it succeeds', async () => {
    const time = fakeTime();
    const gate = new ThrottleGate(time.now, time.sleep);
    gate.report(false, 'throttled', 2000);
    const entered: boolean[] = [];
    const both = Promise.all(
      [gate.enter(), gate.enter()].map((entry) => entry.then((isProbe) => entered.push(isProbe))),
    );
    await settle();
    assert.deepEqual(entered, [true], 'one probe, the other waits for its answer');
    assert.equal(time.clock(), 2000);

    gate.report(true, 'success');
    await both;
    assert.deepEqual(entered, [true, false]);
  });

  it('closes again when the probe is throttled, and hands the next probe on after that wait', async () => {
    const time = fakeTime();
    const gate = new ThrottleGate(time.now, time.sleep);
    gate.report(false, 'throttled', 1000);
    assert.equal(await gate.enter(), true);
    const next = gate.enter();
    await settle();
    gate.report(true, 'throttled', 3000);
    assert.equal(await next, true, 'the waiting request is the next probe');
    assert.equal(time.clock(), 4000);
  });
});
