import { isDeepStrictEqual } from 'node:util';
import { JSONPath } from 'jsonpath-plus';
import { MAX_BODY_BYTES } from './httpClient';

/** What a check's `expect` asks of a response, with its regular expressions already compiled. */
export interface Expectation {
  /** Accepted status codes. */
  readonly status: readonly number[];
  readonly headers: readonly HeaderExpectation[];
  readonly body: BodyExpectation;
  readonly maxLatencyMs: number | undefined;
}

export interface HeaderExpectation {
  /** Lower-case: response header names are compared case-insensitively. */
  readonly name: string;
  /** The value as written in the checks file (an exact value, or `/regex/flags`). */
  readonly written: string;
  /** Set when `written` is a `/regex/`. */
  readonly pattern: RegExp | undefined;
}

export interface BodyExpectation {
  readonly contains: string | undefined;
  readonly matches: RegExp | undefined;
  readonly json: readonly JsonPathExpectation[];
}

export interface JsonPathExpectation {
  readonly path: string;
  readonly value: unknown;
}

export interface ObservedResponse {
  readonly status: number;
  /** Lower-case names; a repeated header's values joined with ", " as HTTP allows. */
  readonly headers: Readonly<Record<string, string>>;
  readonly bodyText: string;
  /** The body was larger than the task reads: body expectations cannot be judged. */
  readonly bodyTooLarge?: boolean;
  /** The body did not decompress: body expectations cannot be judged. */
  readonly bodyError?: string;
  readonly latencyMs: number;
}

/** One unmet expectation, phrased for a person: `what` was expected to be `expected` but was `actual`. */
export interface Failure {
  readonly what: string;
  readonly expected: string;
  readonly actual: string;
}

export const EXCERPT_LENGTH = 500;
const MAX_BODY_MIB = MAX_BODY_BYTES / (1024 * 1024);

/** The failures of `response` against `expectation`; empty when every expectation holds. */
export function evaluate(expectation: Expectation, response: ObservedResponse): Failure[] {
  const failures: Failure[] = [];
  if (!expectation.status.includes(response.status)) {
    failures.push({
      what: 'status',
      expected: expectation.status.join(' or '),
      actual: String(response.status),
    });
  }
  for (const header of expectation.headers) {
    const actual = response.headers[header.name];
    const holds =
      actual !== undefined &&
      (header.pattern === undefined ? actual === header.written : header.pattern.test(actual));
    if (!holds) {
      failures.push({
        what: `header ${header.name}`,
        expected: header.pattern === undefined ? quote(header.written) : `a match of ${header.written}`,
        actual: actual === undefined ? 'no such header' : quote(actual),
      });
    }
  }
  const { body } = expectation;
  const asksOfBody = body.contains !== undefined || body.matches !== undefined || body.json.length > 0;
  if (asksOfBody && response.bodyTooLarge === true) {
    failures.push({
      what: 'body',
      expected: `at most ${MAX_BODY_MIB} MiB to check`,
      actual: 'a larger body',
    });
  } else if (asksOfBody && response.bodyError !== undefined) {
    failures.push({ what: 'body', expected: 'a body that decompresses', actual: response.bodyError });
  } else {
    failures.push(...bodyFailures(body, response.bodyText));
  }
  if (expectation.maxLatencyMs !== undefined && response.latencyMs > expectation.maxLatencyMs) {
    failures.push({
      what: 'latency',
      expected: `at most ${expectation.maxLatencyMs} ms`,
      actual: `${Math.round(response.latencyMs)} ms`,
    });
  }
  return failures;
}

function bodyFailures(body: BodyExpectation, bodyText: string): Failure[] {
  const failures: Failure[] = [];
  if (body.contains !== undefined && !bodyText.includes(body.contains)) {
    failures.push({
      what: 'body',
      expected: `text containing ${quote(body.contains)}`,
      actual: 'a body without it',
    });
  }
  if (body.matches !== undefined && !body.matches.test(bodyText)) {
    failures.push({
      what: 'body',
      expected: `a match of ${String(body.matches)}`,
      actual: 'a body without one',
    });
  }
  if (body.json.length === 0) return failures;
  let document: unknown;
  try {
    document = JSON.parse(bodyText) as unknown;
  } catch {
    failures.push({ what: 'body', expected: 'JSON', actual: bodyText === '' ? 'an empty body' : 'not JSON' });
    return failures;
  }
  for (const { path, value } of body.json) {
    let found: unknown[];
    try {
      found = valuesAt(path, document);
    } catch (error: unknown) {
      // A filter expression can fail on this document's values although it parsed when the file was loaded.
      const reason = firstLine(error instanceof Error ? error.message : String(error));
      failures.push({ what: `JSON ${path}`, expected: JSON.stringify(value), actual: `an error: ${reason}` });
      continue;
    }
    if (found.length === 0) {
      failures.push({
        what: `JSON ${path}`,
        expected: JSON.stringify(value),
        actual: 'nothing at this path',
      });
      continue;
    }
    // One match is compared as itself, several as the list of them, so `$.items[*].id: [1, 2]` works.
    const actual = found.length === 1 ? found[0] : found;
    if (!isDeepStrictEqual(actual, value)) {
      failures.push({
        what: `JSON ${path}`,
        expected: JSON.stringify(value),
        actual: JSON.stringify(actual),
      });
    }
  }
  return failures;
}

/** The values `path` selects in `document`; throws when jsonpath-plus cannot evaluate it. */
export function valuesAt(path: string, document: unknown): unknown[] {
  // `eval: 'safe'` keeps filter expressions inside jsonpath-plus's own interpreter, never `Function`.
  const found: unknown = JSONPath({ path, json: document as object, wrap: true, eval: 'safe' });
  return Array.isArray(found) ? (found as unknown[]) : [];
}

/** Whether jsonpath-plus can parse `path`, checked before any request is sent. */
export function jsonPathError(path: string): string | undefined {
  try {
    JSONPath.toPathArray(path);
    // A document with an array, so the filter expressions of `..` and `[*]` paths are parsed too.
    valuesAt(path, { items: [{ id: 1 }] });
    return undefined;
  } catch (error: unknown) {
    return firstLine(error instanceof Error ? error.message : String(error));
  }
}

/** The start of a response body for a failure message, on one line, at most `length` characters. */
export function excerpt(bodyText: string, length = EXCERPT_LENGTH): string {
  const flat = bodyText.replace(/\s+/g, ' ').trim();
  return flat.length <= length ? flat : `${flat.slice(0, length)}… (${flat.length - length} more characters)`;
}

/** `text` with every secret value replaced by ***, longest first so a secret inside another goes too. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  return [...secrets]
    .filter((secret) => secret !== '')
    .sort((a, b) => b.length - a.length)
    .reduce((masked, secret) => masked.split(secret).join('***'), text);
}

export function describeFailure(failure: Failure): string {
  return `${failure.what}: expected ${failure.expected}, got ${failure.actual}`;
}

function quote(text: string): string {
  return JSON.stringify(text);
}

function firstLine(text: string): string {
  return text.split(/\r?\n/)[0] ?? '';
}
