import * as assert from 'node:assert/strict';
import { Agent, type Dispatcher } from 'undici';
import { parseChecks, type Check } from '../../tasks/run-acceptance-tests/checksFile';
import {
  backoffDelayMs,
  requestHeaders,
  requestUrl,
  runChecks,
  type RunChecksOptions,
} from '../../tasks/run-acceptance-tests/runChecks';
import { startTestServer, type TestServer } from './testServer';

/** Checks from `name: path → status` pairs (and any extra YAML for a check). */
function checks(...entries: [name: string, requestYaml: string, expectYaml: string][]): Check[] {
  const yaml = entries
    .map(
      ([name, request, expect]) =>
        `  - name: ${JSON.stringify(name)}\n    request: ${request}\n    expect: ${expect}\n`,
    )
    .join('');
  return parseChecks(`checks:\n${yaml}`, 'test.yaml');
}

describe('backoffDelayMs', () => {
  it('doubles from one second and stops at ten', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((retry) => backoffDelayMs(retry)),
      [1000, 2000, 4000, 8000, 10_000, 10_000],
    );
  });
  it('follows the policy it is given', () => {
    assert.deepEqual(
      [1, 2, 3].map((retry) => backoffDelayMs(retry, { initialMs: 100, factor: 3, maxMs: 500 })),
      [100, 300, 500],
    );
  });
});

describe('requestUrl', () => {
  const cases: [string, { path: string } | { url: string }, string][] = [
    ['https://staging.contoso.com', { path: '/' }, 'https://staging.contoso.com/'],
    [
      'https://staging.contoso.com/api',
      { path: '/orders?limit=1&x=a%20b' },
      'https://staging.contoso.com/api/orders?limit=1&x=a%20b',
    ],
    ['https://fn.example/api?code=k', { path: '/run?x=1' }, 'https://fn.example/api/run?code=k&x=1'],
    ['https://fn.example/api?code=k', { path: '/run' }, 'https://fn.example/api/run?code=k'],
    ['http://127.0.0.1:8080', { path: '/a b#frag' }, 'http://127.0.0.1:8080/a%20b'],
    ['https://staging.contoso.com', { url: 'https://other.example/x?y=1' }, 'https://other.example/x?y=1'],
  ];
  for (const [base, target, expected] of cases) {
    it(`joins ${base} and ${JSON.stringify(target)} into ${expected}`, () => {
      assert.equal(requestUrl(base, target), expected);
    });
  }
});

describe('requestHeaders', () => {
  const input = new Map([
    ['Authorization', 'Bearer input'],
    ['X-Env', 'staging'],
  ]);
  it('sends the input headers to the base origin, the check overriding them whatever the case', () => {
    assert.deepEqual(
      requestHeaders('https://s.example/a', 'https://s.example', input, { 'x-env': 'canary', Accept: 'a/b' }),
      {
        Authorization: 'Bearer input',
        'x-env': 'canary',
        Accept: 'a/b',
      },
    );
  });
  it('keeps the input headers from another origin', () => {
    assert.deepEqual(
      requestHeaders('https://other.example/', 'https://s.example', input, { Accept: 'a/b' }),
      {
        Accept: 'a/b',
      },
    );
    assert.deepEqual(requestHeaders('http://s.example/', 'https://s.example', input, {}), {});
  });
  it("sends a base URL's user and password as Basic credentials, to its origin only, unless a header says otherwise", () => {
    const base = 'https://tester:p%40ss@s.example/app';
    assert.deepEqual(requestHeaders('https://s.example/app/x', base, new Map(), {}), {
      Authorization: `Basic ${Buffer.from('tester:p@ss').toString('base64')}`,
    });
    assert.deepEqual(
      requestHeaders('https://s.example/app/x', base, input, {})['Authorization'],
      'Bearer input',
    );
    assert.deepEqual(requestHeaders('https://other.example/', base, new Map(), {}), {});
    assert.equal(requestUrl(base, { path: '/x' }), 'https://s.example/app/x', 'no credentials in the URL');
    assert.deepEqual(requestHeaders('https://s.example/', 'https://u:50%off@s.example', new Map(), {}), {
      Authorization: `Basic ${Buffer.from('u:50%off').toString('base64')}`,
    });
  });
});

describe('runChecks against a local server', () => {
  let server: TestServer;
  let dispatcher: Agent;
  let sleeps: number[];
  const options = (overrides: Partial<RunChecksOptions> = {}): RunChecksOptions => ({
    baseUrl: server.baseUrl,
    headers: new Map(),
    concurrency: 4,
    retries: 0,
    requestTimeoutMs: 5000,
    dispatcher,
    sleep: (milliseconds) => {
      sleeps.push(milliseconds);
      return Promise.resolve();
    },
    ...overrides,
  });

  beforeEach(async () => {
    server = await startTestServer();
    dispatcher = new Agent();
    sleeps = [];
  });
  afterEach(async () => {
    await dispatcher.close();
    await server.close();
  });

  it('passes a check whose response meets every expectation, in one attempt', async () => {
    const [result] = await runChecks(
      checks([
        'ok',
        '{ path: /ok }',
        '{ status: 200, headers: { content-type: "/json/" }, body: { json: { "$.items[*].id": [1, 2] } } }',
      ]),
      options(),
    );
    assert.equal(result?.passed, true);
    assert.equal(result?.attempts, 1);
    assert.deepEqual(result?.failures, []);
    assert.equal(result?.excerpt, undefined);
    assert.equal(result?.url, `${server.baseUrl}/ok`);
  });

  it('retries a flaky check with backoff until it passes', async () => {
    const [result] = await runChecks(
      checks(['flaky', '{ path: /flaky/a }', '{ status: 200 }']),
      options({ retries: 2 }),
    );
    assert.equal(result?.passed, true);
    assert.equal(result?.attempts, 3);
    assert.deepEqual(sleeps, [1000, 2000]);
    assert.deepEqual(
      server.log.requests.map((r) => r.url),
      ['/flaky/a', '/flaky/a', '/flaky/a'],
    );
  });

  it('fails a check after its retries, with the last failures and a masked excerpt', async () => {
    const [result] = await runChecks(
      checks(['fail', '{ path: /fail }', '{ status: 200, body: { contains: Welcome } }']),
      options({
        retries: 1,
        headers: new Map([['Authorization', 'Bearer s3cr3t']]),
        secrets: ['Bearer s3cr3t'],
      }),
    );
    assert.equal(result?.passed, false);
    assert.equal(result?.attempts, 2);
    assert.deepEqual(result?.failures, [
      { what: 'status', expected: '200', actual: '500' },
      { what: 'body', expected: 'text containing "Welcome"', actual: 'a body without it' },
    ]);
    assert.equal(result?.excerpt, '<html>Internal error. Request had Authorization: ***</html>');
    assert.equal(server.log.requests[0]?.headers.authorization, 'Bearer s3cr3t');
  });

  it('fails a check whose request outlasts the timeout, naming the timeout', async () => {
    const [result] = await runChecks(
      checks(['hang', '{ path: /hang }', '{ status: 200 }']),
      options({ requestTimeoutMs: 200 }),
    );
    assert.equal(result?.passed, false);
    assert.deepEqual(result?.failures, [
      { what: 'response', expected: 'an answer within 0.2 s', actual: 'no answer within 0.2 s' },
    ]);
    assert.equal(result?.excerpt, undefined);
  });

  it('fails a check whose server refuses the connection, naming the error code', async () => {
    const closed = server.baseUrl;
    await server.close();
    const [result] = await runChecks(
      checks(['down', '{ path: /ok }', '{ status: 200 }']),
      options({ baseUrl: closed }),
    );
    const port = new URL(closed).port;
    assert.deepEqual(result?.failures, [
      {
        what: 'response',
        expected: 'an answer within 5 s',
        actual: `connect ECONNREFUSED 127.0.0.1:${port}`,
      },
    ]);
    server = await startTestServer();
  });

  it('fails a check slower than its maxLatencyMs', async () => {
    const [result] = await runChecks(
      checks(['slow', '{ path: /slow/300 }', '{ status: 200, maxLatencyMs: 50 }']),
      options(),
    );
    assert.equal(result?.passed, false);
    assert.deepEqual(
      result?.failures.map((f) => [f.what, f.expected]),
      [['latency', 'at most 50 ms']],
    );
  });

  it('sends method, body and merged headers as the check says', async () => {
    const [result] = await runChecks(
      checks([
        'post',
        '{ method: POST, path: "/echo?x=1", headers: { x-env: canary }, body: { id: 7 } }',
        '{ status: 200, body: { json: { "$.method": POST, "$.url": "/echo?x=1", "$.body": "{\\"id\\":7}" } } }',
      ]),
      options({
        headers: new Map([
          ['X-Env', 'staging'],
          ['Authorization', 'Bearer t'],
        ]),
      }),
    );
    assert.deepEqual(result?.failures, []);
    const seen = server.log.requests[0]?.headers;
    assert.deepEqual(
      [seen?.['x-env'], seen?.authorization, seen?.['content-type']],
      ['canary', 'Bearer t', 'application/json'],
    );
  });

  it('keeps at most `concurrency` checks in flight and reuses its connections', async () => {
    const many = Array.from({ length: 24 }, (_, i): [string, string, string] => [
      `slow ${i}`,
      '{ path: /slow/20 }',
      '{ status: 200 }',
    ]);
    const results = await runChecks(checks(...many), options({ concurrency: 3 }));
    assert.deepEqual(
      results.map((r) => [r.name, r.passed]),
      many.map(([name]) => [name, true]),
    );
    assert.equal(server.log.maxInFlight, 3);
    // Kept alive: undici may open a spare connection while one is being handed back, never one per request.
    assert.ok(
      server.log.connections < many.length / 2,
      `${server.log.connections} connections for ${many.length} requests`,
    );
  });

  it('reports each result as it finishes and sends through the dispatcher it is given', async () => {
    const origins: string[] = [];
    class RecordingAgent extends Agent {
      override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
        origins.push(String(options.origin));
        return super.dispatch(options, handler);
      }
    }
    const recording = new RecordingAgent();
    const reported: string[] = [];
    try {
      await runChecks(
        checks(['a', '{ path: /ok }', '{ status: 200 }'], ['b', '{ path: /nope }', '{ status: 404 }']),
        {
          ...options({ dispatcher: recording }),
          onResult: (result) => reported.push(`${result.name}:${result.passed}`),
        },
      );
    } finally {
      await recording.close();
    }
    assert.deepEqual(reported.sort(), ['a:true', 'b:true']);
    assert.deepEqual(origins, [server.baseUrl, server.baseUrl]);
  });
});
