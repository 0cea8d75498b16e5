import * as tl from 'azure-pipelines-task-lib/task';
import type { PipelinePolicy, PipelineRequest, PipelineResponse } from '@azure/core-rest-pipeline';
import { forgetNetworkFailure, recordNetworkFailure } from './networkFailures';
import { PROXY_REFUSED } from './proxy';

// Replaced at bundle time (scripts/bundle.ts): `false` builds the variant the fault campaigns use
// to show they can tell a task that retries from one that does not. Undefined under tsc.
declare const AKS_DELIVERY_RETRIES: boolean | undefined;
const retriesBuiltIn = typeof AKS_DELIVERY_RETRIES === 'undefined' || AKS_DELIVERY_RETRIES;

/** What a request is for; each kind has its own per-try timeout. */
export type CallKind =
  'keyVault' | 'entraId' | 'resourceManager' | 'registry' | 'registryBlob' | 'download' | 'http';

/**
 * Seconds one try may take, headers and body together. Key Vault answers in milliseconds, so 20 s
 * is generous yet lets three stalled tries fail well within a minute; blob and download tries move
 * large bodies and get longer.
 */
export const DEFAULT_TIMEOUT_SECONDS: Readonly<Record<CallKind, number>> = {
  keyVault: 20,
  entraId: 30,
  resourceManager: 60,
  registry: 60,
  registryBlob: 600,
  download: 300,
  http: 30,
};

/** A pipeline variable that overrides every per-try timeout (seconds), for slow networks and for tests. */
export const TIMEOUT_OVERRIDE_VARIABLE = 'AKS_DELIVERY_HTTP_TIMEOUT_SECONDS';

export function perTryTimeoutMs(kind: CallKind): number {
  const override = Number(tl.getVariable(TIMEOUT_OVERRIDE_VARIABLE));
  return (Number.isFinite(override) && override > 0 ? override : DEFAULT_TIMEOUT_SECONDS[kind]) * 1000;
}

/** A try that got no whole answer within its timeout. */
export class RequestTimeoutError extends Error {
  readonly code = 'AKS_DELIVERY_TIMEOUT';
  constructor(
    readonly host: string,
    readonly seconds: number,
  ) {
    super(`${host} did not answer within ${seconds} s`);
    this.name = 'RequestTimeoutError';
  }
}

/** A response whose body could not be read or parsed. Never carries the body: it may hold a secret. */
export const BROKEN_RESPONSE = 'AKS_DELIVERY_BROKEN_RESPONSE';

export class BrokenResponseError extends Error {
  readonly code = BROKEN_RESPONSE;
  constructor(
    readonly host: string,
    readonly status: number | undefined,
  ) {
    super(
      `The answer from ${host} was cut off or malformed${status === undefined ? '' : ` (status ${status})`}`,
    );
    this.name = 'BrokenResponseError';
  }
}

/** Throttling outlasted the budget. `lastError` is what the final try failed with. */
export class ThrottledError extends Error {
  readonly code = 'AKS_DELIVERY_THROTTLED';
  constructor(
    readonly host: string,
    readonly throttledSeconds: number,
    readonly lastError: unknown,
  ) {
    super(`${host} kept answering 429 Too Many Requests for ${throttledSeconds} s`);
    this.name = 'ThrottledError';
  }
}

export interface RetryPolicyOptions {
  /** Tries for failures that are not throttling (resets, 5xx, timeouts, cut-off bodies). */
  readonly maxAttempts: number;
  /** Throttling (429) is ridden out for at least this long, however many tries it takes. */
  readonly throttleBudgetMs: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicyOptions = {
  maxAttempts: 4,
  // Key Vault counts its limits over 10-second windows: this outlasts several of them.
  throttleBudgetMs: 60_000,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
};

/** What a failed try means for the next one. */
export type Verdict =
  | { readonly kind: 'fatal' }
  | { readonly kind: 'transient'; readonly retryAfterMs?: number }
  | { readonly kind: 'throttled'; readonly retryAfterMs?: number };

const TRANSIENT_STATUSES = new Set([408, 500, 502, 503, 504]);
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
  'AKS_DELIVERY_TIMEOUT',
  'AKS_DELIVERY_BROKEN_RESPONSE',
]);

/** Milliseconds a Retry-After header asks for (seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterMs(
  header: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  const text = header.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The verdict on an HTTP status (with its Retry-After), for clients that return error statuses. */
export function verdictForStatus(status: number, retryAfter: string | null | undefined): Verdict | undefined {
  if (status === 429) return { kind: 'throttled', retryAfterMs: retryAfterMs(retryAfter) };
  if (TRANSIENT_STATUSES.has(status)) return { kind: 'transient', retryAfterMs: retryAfterMs(retryAfter) };
  return undefined;
}

/** The verdict on a thrown error: an SDK RestError, a socket error, one of ours. */
export function verdictForError(error: unknown): Verdict {
  if (error === null || typeof error !== 'object') return { kind: 'fatal' };
  const e = error as {
    name?: string;
    code?: string;
    statusCode?: number;
    status?: number;
    response?: { headers?: { get?(name: string): string | undefined } };
  };
  // The caller's own cancellation (ours are turned into RequestTimeoutError before they get here).
  if (e.name === 'AbortError') return { kind: 'fatal' };
  const status = e.statusCode ?? e.status;
  if (status !== undefined) {
    const byStatus = verdictForStatus(status, e.response?.headers?.get?.('retry-after'));
    if (byStatus !== undefined) return byStatus;
  }
  if (e.code === PROXY_REFUSED) {
    // A proxy that is briefly overloaded says 502/503/504; one that refuses says 403 or 407. The
    // HTTP client re-wraps our ProxyConnectError keeping its code and message but not its status.
    const proxyStatus =
      e.status ?? Number(/refused the connection to \S+: (\d{3})/.exec((error as Error).message)?.[1] ?? 0);
    return proxyStatus >= 502 ? { kind: 'transient' } : { kind: 'fatal' };
  }
  if (e.code !== undefined && TRANSIENT_CODES.has(e.code)) return { kind: 'transient' };
  return { kind: 'fatal' };
}

/** Exponential backoff with jitter: between half and all of base × 2^(try-1), capped. */
export function backoffDelayMs(
  failedTries: number,
  options: RetryPolicyOptions,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, failedTries - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export interface RetryHooks {
  /** Called for each throttled answer, so concurrency can drop. */
  readonly onThrottled?: () => void;
  /** Called for each try that succeeded, so concurrency can climb back. */
  readonly onSuccess?: () => void;
  /** Shared by every request to one service, so that a throttled service is probed, not hammered. */
  readonly gate?: ThrottleGate;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface RetryContext {
  readonly host: string;
  readonly abortSignal?: AbortSignal;
}

/**
 * One service's throttling, seen by every request to it. Once a request is throttled the gate
 * closes until the Retry-After instant; then one request goes through as a probe while the others
 * wait for its answer. Without it, every request in flight retries on its own each Retry-After, and
 * a vault throttled for ten seconds is asked 30 times a second instead of once.
 */
export class ThrottleGate {
  private closed = false;
  private closedUntil = 0;
  private probing = false;
  private waiting: (() => void)[] = [];

  constructor(
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void> = abortableSleep,
  ) {}

  /** Waits for this request's turn; true when it goes through as the probe of a closed gate. */
  async enter(signal?: AbortSignal): Promise<boolean> {
    for (;;) {
      if (!this.closed) return false;
      const wait = this.closedUntil - this.now();
      if (wait > 0) {
        await this.sleep(wait, signal);
        continue;
      }
      if (!this.probing) {
        this.probing = true;
        return true;
      }
      await new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason as Error);
          return;
        }
        const onAbort = (): void => reject(signal?.reason as Error);
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiting.push(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
  }

  /** What the try that entered (as the probe or not) came to. */
  report(wasProbe: boolean, outcome: 'success' | 'throttled' | 'failed', retryAfterMs = 1000): void {
    if (outcome === 'success') {
      this.closed = false;
      this.probing = false;
    } else if (outcome === 'throttled') {
      this.closed = true;
      this.closedUntil = Math.max(this.closedUntil, this.now() + retryAfterMs);
      if (wasProbe) this.probing = false;
    } else if (wasProbe) {
      this.probing = false;
    } else {
      return;
    }
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
  }
}

/**
 * Runs `tryOnce` until it succeeds, a failure is not worth retrying, the tries for ordinary
 * failures run out, or throttling outlasts its budget. Retry-After is honoured. With retries built
 * out (the campaign's variant) it tries once.
 */
export async function withRetries<T>(
  tryOnce: (attempt: number) => Promise<T>,
  context: RetryContext,
  options: RetryPolicyOptions = DEFAULT_RETRY,
  hooks: RetryHooks = {},
): Promise<T> {
  const now = hooks.now ?? Date.now;
  const sleep = hooks.sleep ?? abortableSleep;
  let ordinaryFailures = 0;
  let throttledSince: number | undefined;
  for (let attempt = 1; ; attempt++) {
    const isProbe = (await hooks.gate?.enter(context.abortSignal)) ?? false;
    try {
      const result = await tryOnce(attempt);
      hooks.gate?.report(isProbe, 'success');
      hooks.onSuccess?.();
      return result;
    } catch (error: unknown) {
      const verdict = verdictForError(error);
      const throttled = verdict.kind === 'throttled';
      hooks.gate?.report(
        isProbe,
        throttled ? 'throttled' : 'failed',
        throttled ? verdict.retryAfterMs : undefined,
      );
      if (!retriesBuiltIn || verdict.kind === 'fatal' || context.abortSignal?.aborted) throw error;
      let delay: number;
      if (verdict.kind === 'throttled') {
        hooks.onThrottled?.();
        throttledSince ??= now();
        const throttledFor = now() - throttledSince;
        if (throttledFor >= options.throttleBudgetMs) {
          throw new ThrottledError(context.host, Math.round(throttledFor / 1000), error);
        }
        // With a gate, the gate makes this request wait for its turn; without one, Retry-After does.
        delay =
          hooks.gate !== undefined
            ? 0
            : (verdict.retryAfterMs ?? backoffDelayMs(attempt, options, hooks.random));
      } else {
        throttledSince = undefined;
        if (++ordinaryFailures >= options.maxAttempts) throw error;
        delay = Math.min(
          options.maxDelayMs,
          verdict.retryAfterMs ?? backoffDelayMs(ordinaryFailures, options, hooks.random),
        );
      }
      tl.debug(`retrying ${context.host} in ${delay} ms after: ${describeForDebug(error)}`);
      if (delay > 0) await sleep(delay, context.abortSignal);
    }
  }
}

/** Name, code and status only: an error's message may quote a response body. */
export function describeForDebug(error: unknown): string {
  if (error === null || typeof error !== 'object') return String(error);
  const e = error as { name?: string; code?: string; statusCode?: number };
  return [e.name, e.code, e.statusCode].filter((part) => part !== undefined).join(' ');
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs one try of `run` under a timeout that covers the whole answer, body included (the SDK's own
 * request timeout stops once headers arrive), on a signal that also follows the caller's.
 */
export async function withTimeout<T>(
  run: (signal: AbortSignal) => Promise<T>,
  host: string,
  timeoutMs: number,
  callerSignal?: AbortSignal,
): Promise<T> {
  const timer = new AbortController();
  let handle: NodeJS.Timeout | undefined;
  // Raced as well as signalled: work that ignores its signal must not outlive its timeout.
  const timedOut = new Promise<never>((_, reject) => {
    handle = setTimeout(() => {
      const timeout = new RequestTimeoutError(host, timeoutMs / 1000);
      recordNetworkFailure(host, timeout);
      timer.abort(timeout);
      reject(timeout);
    }, timeoutMs);
  });
  const signal = callerSignal === undefined ? timer.signal : AbortSignal.any([callerSignal, timer.signal]);
  try {
    const result = await Promise.race([run(signal), timedOut]);
    forgetNetworkFailure(host);
    return result;
  } catch (error: unknown) {
    if (timer.signal.aborted && !callerSignal?.aborted) throw timer.signal.reason as Error;
    throw error;
  } finally {
    clearTimeout(handle);
  }
}

/** Error codes core-client gives a body it could not read or parse (its message quotes the body). */
function isBrokenBody(error: unknown): boolean {
  const e = error as { code?: string; name?: string } | null;
  return e?.code === 'PARSE_ERROR' || (e?.name === 'RestError' && e.code === 'aborted');
}

/**
 * The Azure SDK side of all this, as one pipeline policy placed per call, outside the SDK's
 * deserialisation: each try gets the per-try timeout over headers and body; throttling and
 * transient failures are retried by `withRetries` (the SDK's own retry is switched off, as it gives
 * up on a throttled vault after six tries); a body that cannot be parsed becomes a
 * BrokenResponseError, retried, whose message does not quote the body, as core-client's does.
 */
export function retryPolicy(
  kind: CallKind,
  options: RetryPolicyOptions = DEFAULT_RETRY,
  hooks: RetryHooks = {},
): PipelinePolicy {
  const gated: RetryHooks = { gate: new ThrottleGate(hooks.now, hooks.sleep), ...hooks };
  return {
    name: 'aksDeliveryRetry',
    async sendRequest(request: PipelineRequest, next): Promise<PipelineResponse> {
      const host = new URL(request.url).host;
      // wrapAbortSignalLikePolicy, earlier in the pipeline, has made it a real AbortSignal.
      const callerSignal = request.abortSignal as AbortSignal | undefined;
      try {
        return await withRetries(
          () =>
            withTimeout(
              async (signal) => {
                request.abortSignal = signal;
                try {
                  const response = await next(request);
                  const verdict = verdictForStatus(response.status, response.headers.get('retry-after'));
                  if (verdict !== undefined) throw new ResponseStatusError(response);
                  if (!isWholeJson(response)) throw new BrokenResponseError(host, response.status);
                  return response;
                } catch (error: unknown) {
                  if (isBrokenBody(error))
                    throw new BrokenResponseError(host, (error as { statusCode?: number }).statusCode);
                  throw error;
                }
              },
              host,
              perTryTimeoutMs(kind),
              callerSignal,
            ),
          { host, abortSignal: callerSignal },
          options,
          gated,
        );
      } catch (error: unknown) {
        if (error instanceof ResponseStatusError) return error.response;
        throw error;
      } finally {
        request.abortSignal = callerSignal;
      }
    },
  };
}

/**
 * Whether a JSON body arrived whole. Newer SDK clients (Key Vault's among them) parse the body after
 * the pipeline has returned, out of this policy's reach, and their parse error quotes the body; a
 * body cut off in flight is caught here instead, where it can be retried and is never quoted.
 */
function isWholeJson(response: PipelineResponse): boolean {
  const text = response.bodyAsText;
  if (text === undefined || text === null || text === '') return true;
  if (!/\bjson\b/i.test(response.headers.get('content-type') ?? '')) return true;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A throttled or failing status the client returned rather than threw: carried through withRetries, handed back at the end. */
class ResponseStatusError extends Error {
  readonly statusCode: number;
  constructor(readonly response: PipelineResponse) {
    super(`status ${response.status}`);
    this.statusCode = response.status;
  }
}
