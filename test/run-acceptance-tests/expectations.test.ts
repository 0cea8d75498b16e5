import * as assert from 'node:assert/strict';
import {
  describeFailure,
  evaluate,
  excerpt,
  maskSecrets,
  type Expectation,
  type ObservedResponse,
} from '../../tasks/run-acceptance-tests/expectations';

const anyStatus: Expectation = {
  status: [200],
  headers: [],
  body: { contains: undefined, matches: undefined, json: [] },
  maxLatencyMs: undefined,
};

function expecting(
  overrides: Partial<Omit<Expectation, 'body'>> & { body?: Partial<Expectation['body']> },
): Expectation {
  return { ...anyStatus, ...overrides, body: { ...anyStatus.body, ...overrides.body } };
}

function response(overrides: Partial<ObservedResponse>): ObservedResponse {
  return { status: 200, headers: {}, bodyText: '', latencyMs: 10, ...overrides };
}

describe('evaluate', () => {
  it('finds nothing wrong when every expectation holds', () => {
    const expectation = expecting({
      status: [200, 204],
      headers: [
        { name: 'content-type', written: '/json/', pattern: /json/ },
        { name: 'x-env', written: 'staging', pattern: undefined },
      ],
      body: { contains: '"ok"', matches: /"count":\s*\d+/, json: [{ path: '$.status', value: 'ok' }] },
      maxLatencyMs: 100,
    });
    const failures = evaluate(
      expectation,
      response({
        status: 204,
        headers: { 'content-type': 'application/json', 'x-env': 'staging' },
        bodyText: '{"status":"ok","count": 3}',
        latencyMs: 100,
      }),
    );
    assert.deepEqual(failures, []);
  });

  it('says which statuses were expected and which came', () => {
    assert.deepEqual(evaluate(expecting({ status: [200, 204] }), response({ status: 503 })), [
      { what: 'status', expected: '200 or 204', actual: '503' },
    ]);
  });

  it('compares an exact header value exactly, and a /regex/ header by a match', () => {
    const expectation = expecting({
      headers: [
        { name: 'x-env', written: 'staging', pattern: undefined },
        { name: 'content-type', written: '/^text\\/html/i', pattern: /^text\/html/i },
        { name: 'etag', written: 'x', pattern: undefined },
      ],
    });
    const failures = evaluate(
      expectation,
      response({ headers: { 'x-env': 'Staging', 'content-type': 'application/json' } }),
    );
    assert.deepEqual(failures, [
      { what: 'header x-env', expected: '"staging"', actual: '"Staging"' },
      { what: 'header content-type', expected: 'a match of /^text\\/html/i', actual: '"application/json"' },
      { what: 'header etag', expected: '"x"', actual: 'no such header' },
    ]);
  });

  it('reports missing text and a body that does not match', () => {
    const failures = evaluate(
      expecting({ body: { contains: 'Welcome', matches: /v\d+/ } }),
      response({ bodyText: 'Service Unavailable' }),
    );
    assert.deepEqual(failures.map(describeFailure), [
      'body: expected text containing "Welcome", got a body without it',
      'body: expected a match of /v\\d+/, got a body without one',
    ]);
  });

  it('compares JSON path values deeply, one match as itself and several as a list', () => {
    const body = JSON.stringify({
      status: 'ok',
      items: [{ id: 1 }, { id: 2 }],
      meta: { region: 'westeurope', n: 2 },
    });
    const holds = evaluate(
      expecting({
        body: {
          json: [
            { path: '$.items[*].id', value: [1, 2] },
            { path: '$.meta', value: { n: 2, region: 'westeurope' } },
            { path: '$.items[?(@.id > 1)].id', value: 2 },
          ],
        },
      }),
      response({ bodyText: body }),
    );
    assert.deepEqual(holds, []);
    const fails = evaluate(
      expecting({
        body: {
          json: [
            { path: '$.status', value: 'healthy' },
            { path: '$.meta.n', value: '2' },
            { path: '$.missing', value: 1 },
          ],
        },
      }),
      response({ bodyText: body }),
    );
    assert.deepEqual(fails, [
      { what: 'JSON $.status', expected: '"healthy"', actual: '"ok"' },
      { what: 'JSON $.meta.n', expected: '"2"', actual: '2' },
      { what: 'JSON $.missing', expected: '1', actual: 'nothing at this path' },
    ]);
  });

  it('reports a body that is not JSON once, however many paths are expected', () => {
    const failures = evaluate(
      expecting({
        body: {
          json: [
            { path: '$.a', value: 1 },
            { path: '$.b', value: 2 },
          ],
        },
      }),
      response({ bodyText: '<html>' }),
    );
    assert.deepEqual(failures, [{ what: 'body', expected: 'JSON', actual: 'not JSON' }]);
  });

  it('reports a response slower than the allowed latency', () => {
    assert.deepEqual(evaluate(expecting({ maxLatencyMs: 50 }), response({ latencyMs: 75.4 })), [
      { what: 'latency', expected: 'at most 50 ms', actual: '75 ms' },
    ]);
  });
});

describe('excerpt', () => {
  it('keeps a short body whole, on one line', () => {
    assert.equal(excerpt('<h1>\n  Error\n</h1>'), '<h1> Error </h1>');
  });
  it('cuts a long body and says how much was left out', () => {
    assert.equal(excerpt('x'.repeat(12), 10), 'xxxxxxxxxx… (2 more characters)');
  });
});

describe('maskSecrets', () => {
  it('replaces every occurrence of each secret, the longer first', () => {
    assert.equal(
      maskSecrets('token=abc123; again abc123; part abc', ['abc', 'abc123']),
      'token=***; again ***; part ***',
    );
  });
  it('ignores an empty secret', () => {
    assert.equal(maskSecrets('text', ['']), 'text');
  });
});
