import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { stringify } from 'yaml';
import { UserError } from '../../tasks/common/errors';
import { loadChecksFile, parseChecks } from '../../tasks/run-acceptance-tests/checksFile';
import { assertUserError } from './messages';

const FILE = 'checks.yaml';

describe('parseChecks', () => {
  it('reads the example of the design into compiled checks', () => {
    const checks = parseChecks(
      `checks:
  - name: home page answers
    request: { method: GET, path: /, headers: { Accept: text/html } }
    expect:
      status: 200
      headers: { content-type: "/html/i", x-frame-options: DENY }
      body: { contains: "Welcome", matches: "v\\\\d+", json: { "$.status": ok } }
      maxLatencyMs: 2000
`,
      FILE,
    );
    assert.equal(checks.length, 1);
    const [check] = checks;
    assert.equal(check?.name, 'home page answers');
    assert.deepEqual(check?.request, {
      method: 'GET',
      target: { path: '/' },
      headers: { Accept: 'text/html' },
      body: undefined,
    });
    assert.deepEqual(check?.expect.status, [200]);
    assert.deepEqual(
      check?.expect.headers.map((h) => [h.name, h.written, h.pattern?.source, h.pattern?.flags]),
      [
        ['content-type', '/html/i', 'html', 'i'],
        ['x-frame-options', 'DENY', undefined, undefined],
      ],
    );
    assert.equal(check?.expect.body.contains, 'Welcome');
    assert.equal(check?.expect.body.matches?.source, 'v\\d+');
    assert.deepEqual(check?.expect.body.json, [{ path: '$.status', value: 'ok' }]);
    assert.equal(check?.expect.maxLatencyMs, 2000);
  });

  it('defaults the method to GET, takes a list of statuses and an absolute URL', () => {
    const [check] = parseChecks(
      'checks:\n  - name: a\n    request: { url: "https://other.example/x?y=1" }\n    expect: { status: [200, 204] }\n',
      FILE,
    );
    assert.equal(check?.request.method, 'GET');
    assert.deepEqual(check?.request.target, { url: 'https://other.example/x?y=1' });
    assert.deepEqual(check?.expect.status, [200, 204]);
  });

  it('sends a JSON body as JSON with its content type, unless the check names one', () => {
    const checks = parseChecks(
      `checks:
  - name: json
    request: { method: POST, path: /orders, body: { id: 1, tags: [a] } }
    expect: { status: 201 }
  - name: own type
    request: { method: POST, path: /orders, headers: { content-type: application/merge-patch+json }, body: [1] }
    expect: { status: 201 }
  - name: text
    request: { method: POST, path: /echo, body: "plain text" }
    expect: { status: 200 }
`,
      FILE,
    );
    assert.deepEqual(
      checks.map((c) => [c.request.body, c.request.headers]),
      [
        ['{"id":1,"tags":["a"]}', { 'Content-Type': 'application/json' }],
        ['[1]', { 'content-type': 'application/merge-patch+json' }],
        ['plain text', {}],
      ],
    );
  });

  it('names the file, line and column of a YAML syntax error', () => {
    assertUserError(
      () => parseChecks('checks:\n  - name: a\n    request: { path: /\n', FILE),
      'ChecksFileNotYaml',
      FILE,
      4,
      1,
      'Flow map in block collection must be sufficiently indented and end with a }',
    );
  });

  it('refuses a key given twice', () => {
    assertUserError(
      () => parseChecks('checks: []\nchecks: []\n', FILE),
      'ChecksFileNotYaml',
      FILE,
      2,
      1,
      'Map keys must be unique',
    );
  });

  it('names the check and the field of a schema error', () => {
    assertUserError(
      () =>
        parseChecks(
          'checks:\n  - name: home\n    request: { path: / }\n    expect: { status: 200 }\n' +
            '  - name: login\n    request: { path: /login }\n    expect: { status: "200" }\n',
          FILE,
        ),
      'ChecksFileInvalid',
      FILE,
      'line 7: checks[1] "login" → expect.status: must be integer or array',
    );
  });

  it('refuses a file without checks: nothing would be tested', () => {
    assert.throws(
      () => parseChecks('checks: []\n', FILE),
      /line 1: checks: must NOT have fewer than 1 items/,
    );
  });

  it('names the first three schema errors in one line and counts the rest', () => {
    assertUserError(
      () =>
        parseChecks(
          `checks:
  - name: b
    request: { method: get, url: /x, path: x }
    expect: { status: 200, statsu: 1 }
  - request: {}
    expect: { status: [200, 99] }
`,
          FILE,
        ),
      'ChecksFileInvalid',
      FILE,
      'line 3: checks[0] "b" → request: must have only one of path or url; ' +
        'line 3: checks[0] "b" → request.method: must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS; ' +
        'line 3: checks[0] "b" → request.path: must start with /; and 5 more',
    );
  });

  const schemaErrors: [string, string, string][] = [
    [
      'a check without a name',
      '  - request: { path: / }\n    expect: { status: 200 }\n',
      'line 2: checks[0] → name: is required',
    ],
    [
      'a request with neither path nor url',
      '  - name: a\n    request: { method: GET }\n    expect: { status: 200 }\n',
      'line 3: checks[0] "a" → request: must have path or url',
    ],
    [
      'an unknown field, listing the known ones',
      '  - name: a\n    request: { path: / }\n    expect: { status: 200, latency: 5 }\n',
      'line 4: checks[0] "a" → expect.latency: is not a known field (expected status, headers, body, maxLatencyMs)',
    ],
    [
      'a status out of range in a list',
      '  - name: a\n    request: { path: / }\n    expect: { status: [200, 999] }\n',
      'line 4: checks[0] "a" → expect.status[1]: must be <= 599',
    ],
    [
      'a JSON path that does not start with $',
      '  - name: a\n    request: { path: / }\n    expect: { status: 200, body: { json: { status: ok } } }\n',
      'line 4: checks[0] "a" → expect.body.json.status: must be a JSON path starting with $',
    ],
    [
      'a header name with a space',
      '  - name: a\n    request: { path: /, headers: { "X Bad": 1 } }\n    expect: { status: 200 }\n',
      'line 3: checks[0] "a" → request.headers["X Bad"]: is not a valid header name',
    ],
    [
      'a relative url',
      '  - name: a\n    request: { url: "staging/x" }\n    expect: { status: 200 }\n',
      'line 3: checks[0] "a" → request.url: must be an absolute http or https URL',
    ],
  ];
  for (const [what, checksYaml, detail] of schemaErrors) {
    it(`names the check and field of ${what}`, () => {
      assertUserError(() => parseChecks(`checks:\n${checksYaml}`, FILE), 'ChecksFileInvalid', FILE, detail);
    });
  }

  it('refuses a file that is not a mapping with checks', () => {
    assertUserError(() => parseChecks('', FILE), 'ChecksFileInvalid', FILE, 'the file: must be object');
    assertUserError(
      () => parseChecks('tests: []\n', FILE),
      'ChecksFileInvalid',
      FILE,
      'line 1: checks: is required; line 1: tests: is not a known field (expected checks)',
    );
  });

  it('refuses two checks of the same name, naming both', () => {
    const check = '    request: { path: / }\n    expect: { status: 200 }\n';
    assertUserError(
      () => parseChecks(`checks:\n  - name: a\n${check}  - name: b\n${check}  - name: a\n${check}`, FILE),
      'ChecksFileDuplicateName',
      FILE,
      '"a"',
      0,
      2,
    );
  });

  it('names the check and field of a regular expression that does not compile', () => {
    assertUserError(
      () =>
        parseChecks(
          'checks:\n  - name: a\n    request: { path: / }\n    expect: { status: 200, headers: { etag: "/(/" } }\n',
          FILE,
        ),
      'ChecksFileInvalidRegex',
      FILE,
      'checks[0] "a" → expect.headers.etag',
      'Invalid regular expression: /(/: Unterminated group',
    );
    assertUserError(
      () =>
        parseChecks(
          'checks:\n  - name: a\n    request: { path: / }\n    expect: { status: 200, body: { matches: "[a" } }\n',
          FILE,
        ),
      'ChecksFileInvalidRegex',
      FILE,
      'checks[0] "a" → expect.body.matches',
      'Invalid regular expression: /[a/: Unterminated character class',
    );
  });

  it('names the check and path of a JSON path that does not parse', () => {
    assertUserError(
      () =>
        parseChecks(
          'checks:\n  - name: a\n    request: { path: / }\n    expect: { status: 200, body: { json: { "$..[?(": 1 } } }\n',
          FILE,
        ),
      'ChecksFileInvalidJsonPath',
      FILE,
      'checks[0] "a" → expect.body.json["$..[?("]',
      'Unexpected "?" at character 0',
    );
  });

  it('keeps a check name with a line break on one line of the message', () => {
    assertUserError(
      () => parseChecks('checks:\n  - name: "two\\nlines"\n    request: { path: / }\n    expect: {}\n', FILE),
      'ChecksFileInvalid',
      FILE,
      'line 4: checks[0] "two\\nlines" → expect.status: is required',
    );
  });
});

describe('loadChecksFile', () => {
  let folder: string;
  before(() => (folder = fs.mkdtempSync(path.join(os.tmpdir(), 'checks-'))));
  after(() => fs.rmSync(folder, { recursive: true, force: true }));

  it('reads the checks of a file', () => {
    const file = path.join(folder, 'ok.yaml');
    fs.writeFileSync(file, 'checks:\n  - name: a\n    request: { path: /a }\n    expect: { status: 200 }\n');
    assert.deepEqual(
      loadChecksFile(file).map((c) => [c.index, c.name, c.request.target]),
      [[0, 'a', { path: '/a' }]],
    );
  });

  it('names the file it cannot read', () => {
    assertUserError(() => loadChecksFile(folder), 'ChecksFileUnreadable', folder, 'EISDIR');
  });
});

describe('parseChecks properties', () => {
  const isOneLine = (text: string): boolean => !/[\r\n]/.test(text);

  /** Parses, and on failure insists on our UserError with a one-line message. */
  const parsesOrFailsCleanly = (text: string): boolean => {
    try {
      parseChecks(text, FILE);
      return true;
    } catch (error: unknown) {
      if (!(error instanceof UserError)) throw error;
      return isOneLine(error.message);
    }
  };

  it('never fails with anything but a one-line UserError on any text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), parsesOrFailsCleanly), { numRuns: 300 });
  });

  it('never fails with anything but a one-line UserError on any JSON value as the checks', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => parsesOrFailsCleanly(stringify({ checks: value }))),
      { numRuns: 300 },
    );
  });

  it('never fails with anything but a one-line UserError on checks that are nearly right', () => {
    const anyValue = fc.oneof(
      fc.string(),
      fc.integer({ min: -1, max: 1000 }),
      fc.constantFrom('GET', 'post', '/', '/(', '$.a', '$..[?(', 'http://x', '/x/i', null),
      fc.array(fc.integer({ min: 99, max: 600 }), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom('$.a', 'a', 'X-A', 'x a', '/', 'contains', 'matches'), fc.string(), {
        maxKeys: 3,
      }),
    );
    const near = (keys: string[]) =>
      fc.dictionary(fc.constantFrom(...keys), anyValue, { maxKeys: keys.length });
    const check = fc.record(
      {
        name: fc.oneof(fc.string(), fc.constantFrom('a', 'b')),
        request: near(['method', 'path', 'url', 'headers', 'body', 'extra']),
        expect: fc.oneof(
          near(['status', 'headers', 'body', 'maxLatencyMs', 'extra']),
          fc.record({ status: anyValue, body: near(['contains', 'matches', 'json']) }),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(check, { maxLength: 4 }), (checks) => parsesOrFailsCleanly(stringify({ checks }))),
      { numRuns: 500 },
    );
  });
});
