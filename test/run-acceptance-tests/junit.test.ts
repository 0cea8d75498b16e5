import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  checksJunitXml,
  publishCommandProperties,
  summaryMarkdown,
  summaryTable,
  writeChecksJunit,
} from '../../tasks/run-acceptance-tests/junit';
import type { CheckResult } from '../../tasks/run-acceptance-tests/runChecks';
import { assertUserError } from './messages';

interface XmlElement {
  readonly name: string;
  readonly attributes: Record<string, string>;
  readonly children: XmlElement[];
  text: string;
}

/** Just enough XML parsing for what junit-report-builder writes: elements, attributes, text, CDATA. */
function parseXml(xml: string): XmlElement {
  const root: XmlElement = { name: '#document', attributes: {}, children: [], text: '' };
  const stack = [root];
  const decode = (text: string): string =>
    text.replace(/&(lt|gt|amp|quot|apos|#x?[0-9a-fA-F]+);/g, (_, entity: string) => {
      const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
      if (entity in named) return named[entity] ?? '';
      return String.fromCodePoint(
        entity.startsWith('#x') ? parseInt(entity.slice(2), 16) : Number(entity.slice(1)),
      );
    });
  const token =
    /<\?[\s\S]*?\?>|<!\[CDATA\[([\s\S]*?)\]\]>|<\/([\w:-]+)\s*>|<([\w:-]+)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>|([^<]+)/g;
  for (const match of xml.matchAll(token)) {
    const [, cdata, closing, opening, attributeText, selfClosing, text] = match;
    const current = stack.at(-1);
    if (current === undefined) throw new Error('unbalanced XML');
    if (cdata !== undefined) current.text += cdata;
    else if (text !== undefined) current.text += decode(text);
    else if (closing !== undefined) {
      if (stack.pop()?.name !== closing) throw new Error(`unexpected </${closing}>`);
    } else if (opening !== undefined) {
      const attributes: Record<string, string> = {};
      for (const [, name, value] of (attributeText ?? '').matchAll(/([\w:-]+)="([^"]*)"/g)) {
        if (name !== undefined) attributes[name] = decode(value ?? '');
      }
      const element: XmlElement = { name: opening, attributes, children: [], text: '' };
      current.children.push(element);
      if (selfClosing !== '/') stack.push(element);
    }
  }
  if (stack.length !== 1) throw new Error('unclosed XML element');
  return root;
}

function findAll(element: XmlElement, name: string): XmlElement[] {
  return element.children.flatMap((child) => [
    ...(child.name === name ? [child] : []),
    ...findAll(child, name),
  ]);
}

const passed: CheckResult = {
  name: 'home page answers',
  method: 'GET',
  url: 'https://staging.example/',
  passed: true,
  attempts: 1,
  durationMs: 42,
  failures: [],
  excerpt: undefined,
};
const failed: CheckResult = {
  name: 'login <form> & "redirect"',
  method: 'POST',
  url: 'https://staging.example/login',
  passed: false,
  attempts: 3,
  durationMs: 3250,
  failures: [
    { what: 'status', expected: '302', actual: '500' },
    { what: 'header location', expected: 'a match of /^\\/home/', actual: 'no such header' },
  ],
  excerpt: '<html>boom ]]> \u0000 end</html>',
};
const timedOut: CheckResult = {
  ...passed,
  name: 'slow | report',
  passed: false,
  attempts: 1,
  durationMs: 30_000,
  failures: [{ what: 'response', expected: 'an answer within 30 s', actual: 'no answer within 30 s' }],
  excerpt: undefined,
};

describe('checksJunitXml', () => {
  const timestamp = new Date('2026-12-01T10:00:00Z');
  const document = parseXml(
    checksJunitXml([passed, failed, timedOut], { suiteName: 'Acceptance checks', timestamp }),
  );

  it('writes one testsuite counting the checks and failures', () => {
    const suites = findAll(document, 'testsuite');
    assert.equal(suites.length, 1);
    assert.deepEqual(
      [suites[0]?.attributes['name'], suites[0]?.attributes['tests'], suites[0]?.attributes['failures']],
      ['Acceptance checks', '3', '2'],
    );
  });

  it('writes a testcase per check with its name, class and time in seconds', () => {
    assert.deepEqual(
      findAll(document, 'testcase').map((c) => [
        c.attributes['classname'],
        c.attributes['name'],
        c.attributes['time'],
      ]),
      [
        ['Acceptance checks', 'home page answers', '0.042'],
        ['Acceptance checks', 'login <form> & "redirect"', '3.25'],
        ['Acceptance checks', 'slow | report', '30'],
      ],
    );
  });

  it('gives a failed check a failure saying expected vs actual, with the request and the excerpt', () => {
    const [loginFailure, timeoutFailure] = findAll(document, 'failure');
    assert.deepEqual(loginFailure?.attributes, {
      message:
        'status: expected 302, got 500; header location: expected a match of /^\\/home/, got no such header',
      type: 'ExpectationFailed',
    });
    assert.equal(
      loginFailure?.text,
      [
        'POST https://staging.example/login (3 attempts)',
        'status: expected 302, got 500',
        'header location: expected a match of /^\\/home/, got no such header',
        // A NUL cannot be in XML at all; "]]>" survives the CDATA section.
        'Response body: <html>boom ]]> \uFFFD end</html>',
      ].join('\n'),
    );
    assert.equal(timeoutFailure?.attributes['type'], 'RequestError');
    assert.equal(
      timeoutFailure?.text,
      'GET https://staging.example/ (1 attempt)\nresponse: expected an answer within 30 s, got no answer within 30 s',
    );
  });

  it('writes the file where it is told, creating the folder', () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'junit-'));
    try {
      const file = path.join(folder, 'results', 'checks.xml');
      writeChecksJunit(file, [passed], { suiteName: 'Acceptance checks', timestamp });
      assert.deepEqual(
        findAll(parseXml(fs.readFileSync(file, 'utf8')), 'testcase').map((c) => c.attributes['name']),
        ['home page answers'],
      );
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('publishCommandProperties', () => {
  it('publishes every file as one merged JUnit run under the title', () => {
    assert.deepEqual(
      publishCommandProperties(['/tmp/checks.xml', '/w/results/e2e.xml'], 'Acceptance tests (staging)'),
      {
        type: 'JUnit',
        mergeResults: 'true',
        runTitle: 'Acceptance tests (staging)',
        resultFiles: '/tmp/checks.xml,/w/results/e2e.xml',
        publishRunAttachments: 'true',
        failTaskOnFailedTests: 'false',
        testRunSystem: 'VSTSTask',
      },
    );
  });
  it('refuses a file whose path has a comma', () => {
    assertUserError(
      () => publishCommandProperties(['/tmp/a.xml', '/w/a,b.xml'], 't'),
      'JunitFileHasComma',
      '/w/a,b.xml',
    );
  });
});

describe('summaryMarkdown', () => {
  it('tables every check and lists the failures, escaping markdown in names', () => {
    assert.equal(
      summaryMarkdown([passed, failed, timedOut], 'Acceptance checks'),
      [
        '### Acceptance checks: 1 passed, 2 failed',
        '',
        '| Check | Result | Attempts | Time |',
        '|---|---|---:|---:|',
        '| home page answers | Passed | 1 | 0.042 s |',
        '| login \\<form\\> &amp; "redirect" | **Failed** | 3 | 3.25 s |',
        '| slow \\| report | **Failed** | 1 | 30 s |',
        '',
        '#### Failures',
        '',
        '- **login \\<form\\> &amp; "redirect"**: status: expected 302, got 500; header location: expected a match of /^\\\\/home/, got no such header',
        '- **slow \\| report**: response: expected an answer within 30 s, got no answer within 30 s',
        '',
      ].join('\n'),
    );
  });
});

describe('summaryTable', () => {
  it('aligns check, result, attempts and time for the log', () => {
    assert.deepEqual(summaryTable([passed, timedOut]), [
      'Check              Result  Attempts  Time',
      'home page answers  passed  1         0.042 s',
      'slow | report      FAILED  1         30 s',
    ]);
  });
});
