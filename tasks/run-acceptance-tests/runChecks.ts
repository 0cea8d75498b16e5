import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { ConcurrencyLimit } from '../common/concurrency';
import type { Check } from './checksFile';
import { evaluate, excerpt, maskSecrets, type Failure } from './expectations';
import { describeRequestError, formatSeconds, send } from './httpClient';
import { decodedOrAsIs } from './inputs';

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly factor: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1000, factor: 2, maxMs: 10_000 };

export interface RunChecksOptions {
  /** Absolute http(s) URL without a trailing slash. */
  readonly baseUrl: string;
  /** The `headers` input: sent with every request to the base URL's origin, never to another origin. */
  readonly headers: ReadonlyMap<string, string>;
  readonly concurrency: number;
  /** Further attempts of a failing check. */
  readonly retries: number;
  readonly requestTimeoutMs: number;
  readonly dispatcher?: Dispatcher;
  readonly backoff?: BackoffPolicy;
  readonly sleep?: (milliseconds: number) => Promise<void>;
  /** Values replaced by *** in every result (the header values, for a server that echoes them). */
  readonly secrets?: readonly string[];
  /** Told of each check as it finishes, for a live log line. */
  readonly onResult?: (result: CheckResult) => void;
}

export interface CheckResult {
  readonly name: string;
  readonly method: string;
  /** The URL requested, secrets masked. */
  readonly url: string;
  readonly passed: boolean;
  readonly attempts: number;
  /** From the first attempt to the last, backoff included. */
  readonly durationMs: number;
  /** Of the last attempt; empty when it passed. */
  readonly failures: readonly Failure[];
  /** The start of the last failing response's body, secrets masked; undefined when there was none. */
  readonly excerpt: string | undefined;
}

/** The delay before retry number `retry` (1 for the first retry): exponential, capped. */
export function backoffDelayMs(retry: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  return Math.min(policy.maxMs, policy.initialMs * policy.factor ** (retry - 1));
}

/** The URL a check requests: its absolute `url`, or the base URL's path followed by the check's path and query. */
export function requestUrl(baseUrl: string, target: Check['request']['target']): string {
  if ('url' in target) return new URL(target.url).toString();
  const base = new URL(baseUrl);
  const hashAt = target.path.indexOf('#');
  const withoutHash = hashAt < 0 ? target.path : target.path.slice(0, hashAt);
  const queryAt = withoutHash.indexOf('?');
  const path = queryAt < 0 ? withoutHash : withoutHash.slice(0, queryAt);
  const query = queryAt < 0 ? '' : withoutHash.slice(queryAt + 1);
  const url = new URL(base.toString());
  url.pathname = base.pathname.replace(/\/+$/, '') + path;
  // A base URL may carry a query of its own (an Azure Functions `?code=`): both are kept.
  url.search = [base.search.slice(1), query].filter((part) => part !== '').join('&');
  url.hash = '';
  // A user and password in the base URL travel as Basic auth (requestHeaders), not in the URL.
  url.username = '';
  url.password = '';
  return url.toString();
}

/**
 * The headers of one request: the `headers` input when the request goes to the base URL's origin (they
 * may carry credentials meant for it alone), overridden by the check's own, names compared ignoring case.
 */
export function requestHeaders(
  url: string,
  baseUrl: string,
  inputHeaders: ReadonlyMap<string, string>,
  checkHeaders: Readonly<Record<string, string>>,
): Record<string, string> {
  const headers: Record<string, string> = {};
  const base = new URL(baseUrl);
  if (new URL(url).origin === base.origin) {
    if (base.username !== '' || base.password !== '') {
      const user = `${decodedOrAsIs(base.username)}:${decodedOrAsIs(base.password)}`;
      headers['Authorization'] = `Basic ${Buffer.from(user).toString('base64')}`;
    }
    for (const [name, value] of inputHeaders) setHeader(headers, name, value);
  }
  for (const [name, value] of Object.entries(checkHeaders)) setHeader(headers, name, value);
  return headers;
}

/** Sets a header, replacing one of the same name in any case. */
function setHeader(headers: Record<string, string>, name: string, value: string): void {
  for (const existing of Object.keys(headers)) {
    if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
  }
  headers[name] = value;
}

/** Runs every check, at most `concurrency` at a time; results in the order of `checks`. */
export async function runChecks(checks: readonly Check[], options: RunChecksOptions): Promise<CheckResult[]> {
  const limit = new ConcurrencyLimit(options.concurrency);
  return Promise.all(
    checks.map((check) =>
      limit.run(async () => {
        const result = await runCheck(check, options);
        options.onResult?.(result);
        return result;
      }),
    ),
  );
}

async function runCheck(check: Check, options: RunChecksOptions): Promise<CheckResult> {
  const secrets = options.secrets ?? [];
  const sleep = options.sleep ?? ((milliseconds: number) => delay(milliseconds));
  const url = requestUrl(options.baseUrl, check.request.target);
  const headers = requestHeaders(url, options.baseUrl, options.headers, check.request.headers);
  const started = performance.now();
  let attempts = 0;
  let outcome: AttemptOutcome;
  for (;;) {
    attempts++;
    outcome = await attempt(check, url, headers, options);
    if (outcome.failures.length === 0 || attempts > options.retries) break;
    await sleep(backoffDelayMs(attempts, options.backoff));
  }
  const mask = (text: string): string => maskSecrets(text, secrets);
  return {
    name: check.name,
    method: check.request.method,
    url: mask(url),
    passed: outcome.failures.length === 0,
    attempts,
    durationMs: performance.now() - started,
    failures: outcome.failures.map((f) => ({
      what: mask(f.what),
      expected: mask(f.expected),
      actual: mask(f.actual),
    })),
    excerpt:
      outcome.bodyText === undefined || outcome.failures.length === 0
        ? undefined
        : excerpt(mask(outcome.bodyText)),
  };
}

interface AttemptOutcome {
  readonly failures: readonly Failure[];
  readonly bodyText: string | undefined;
}

async function attempt(
  check: Check,
  url: string,
  headers: Record<string, string>,
  options: RunChecksOptions,
): Promise<AttemptOutcome> {
  try {
    const response = await send({
      url,
      method: check.request.method,
      headers,
      body: check.request.body,
      timeoutMs: options.requestTimeoutMs,
      dispatcher: options.dispatcher,
    });
    return { failures: evaluate(check.expect, response), bodyText: response.bodyText };
  } catch (error: unknown) {
    return {
      failures: [
        {
          what: 'response',
          expected: `an answer within ${formatSeconds(options.requestTimeoutMs)}`,
          actual: describeRequestError(error, options.requestTimeoutMs),
        },
      ],
      bodyText: undefined,
    };
  }
}
