import type { Readable } from 'node:stream';
import * as v8 from 'node:v8';
import { request, interceptors, type Dispatcher } from 'undici';
import { DEFAULT_RETRY, withRetries, type RetryHooks, type RetryPolicyOptions } from '../common/retry';

/** How every registry request is sent: one dispatcher (the agent's proxy), timeouts, retries. */
export interface HttpSettings {
  /** From tasks/common/undiciDispatcher.ts `undiciDispatcher()` in the task; a test's own proxy agent in tests. */
  readonly dispatcher: Dispatcher;
  /**
   * Per try: the wait for response headers, and the longest pause between two body chunks. An idle
   * limit, not a total, so a 1 GB layer on a slow line is not cut off while bytes still flow.
   */
  readonly timeoutMs: number;
  readonly retry: RetryPolicyOptions;
  readonly retryHooks?: RetryHooks;
}

/**
 * Keeps undici's HTTP parser (llhttp, WebAssembly) on V8's baseline compiler. After a few dozen
 * responses V8 starts optimising the parser on a background thread, and Node waits for that
 * compilation to finish before the process exits: up to 80 ms after the task has set its result,
 * a quarter of a whole re-promotion. Bodies pass the parser as spans, not byte by byte, so the
 * baseline code costs a 500 MB copy no measurable CPU. Set before the first request.
 */
export function keepHttpParserAtBaseline(): void {
  v8.setFlagsFromString('--liftoff-only');
}

export function httpSettings(dispatcher: Dispatcher, overrides: Partial<HttpSettings> = {}): HttpSettings {
  return { dispatcher, timeoutMs: 60_000, retry: DEFAULT_RETRY, ...overrides };
}

export type Headers = Readonly<Record<string, string>>;

export interface HttpRequest {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly headers?: Headers;
  /** Opened anew for each try: a stream cannot be sent twice. */
  readonly body?: () => Buffer | Readable | Promise<Buffer | Readable>;
}

export type HttpResponse = Dispatcher.ResponseData;

/** An answer with a status the caller did not expect; `response.headers.get` feeds retry.ts's verdicts. */
export class HttpStatusError extends Error {
  readonly response: { readonly headers: { get(name: string): string | undefined } };
  constructor(
    readonly method: string,
    readonly url: string,
    readonly statusCode: number,
    headers: HttpResponse['headers'],
    /** The registry's `errors[0].code` (MANIFEST_UNKNOWN, DENIED…), when its body said. */
    readonly registryCode: string | undefined,
    /** The registry's `errors[0].message`; registry error bodies carry no secrets. */
    readonly registryMessage: string | undefined,
  ) {
    super(
      `${method} ${url}: HTTP ${statusCode}${registryCode === undefined ? '' : ` ${registryCode}`}${registryMessage === undefined ? '' : `: ${registryMessage}`}`,
    );
    this.name = 'HttpStatusError';
    this.response = { headers: { get: (name) => headerOf(headers, name) } };
  }
}

export function headerOf(headers: HttpResponse['headers'], name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

const redirectingDispatchers = new WeakMap<Dispatcher, Dispatcher>();

/**
 * Registries answer blob GETs with a redirect to their storage (ACR to Azure Blob Storage with a
 * SAS URL). undici's redirect interceptor drops Authorization when the origin changes, as it must:
 * the storage refuses a registry's bearer token.
 */
function redirecting(dispatcher: Dispatcher): Dispatcher {
  let composed = redirectingDispatchers.get(dispatcher);
  if (composed === undefined) {
    composed = dispatcher.compose(interceptors.redirect({ maxRedirections: 5 }));
    redirectingDispatchers.set(dispatcher, composed);
  }
  return composed;
}

/** One try, no retries. The caller must consume or dump the body. */
export async function sendOnce(settings: HttpSettings, spec: HttpRequest): Promise<HttpResponse> {
  const body = spec.body === undefined ? undefined : await spec.body();
  const readOnly = spec.method === 'GET' || spec.method === 'HEAD';
  try {
    return await request(spec.url, {
      method: spec.method,
      headers: { ...spec.headers, ...(body === undefined && !readOnly ? { 'content-length': '0' } : {}) },
      body,
      dispatcher: readOnly ? redirecting(settings.dispatcher) : settings.dispatcher,
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
      // undici closes the connection after a HEAD unless told not to (a guard against servers that
      // send a body anyway); registries do not, and a new connection costs a TLS handshake (and a
      // proxy CONNECT) per HEAD: every blob and manifest check.
      ...(spec.method === 'HEAD' ? { reset: false } : {}),
    });
  } catch (error: unknown) {
    // undici's network errors do not say whom they were talking to; the message must.
    if (typeof error === 'object' && error !== null && !('host' in error))
      Object.assign(error, { host: new URL(spec.url).host });
    throw error;
  } finally {
    // A registry may answer (401, 5xx) before it has read the whole body: the rest of a streamed
    // body is then unwanted, and its source (a download from the other registry) must be let go.
    if (body !== undefined && !Buffer.isBuffer(body) && !body.readableEnded) body.destroy();
  }
}

/**
 * Sends with retries: throttling (429, Retry-After honoured), 408/5xx and resets are tried again by
 * retry.ts's policy; any other status is returned for the caller to judge.
 */
export async function send(settings: HttpSettings, spec: HttpRequest): Promise<HttpResponse> {
  const host = new URL(spec.url).host;
  return withRetries(
    async () => {
      const response = await sendOnce(settings, spec);
      if (response.statusCode === 429 || response.statusCode === 408 || response.statusCode >= 500) {
        throw await statusError(spec, response);
      }
      return response;
    },
    { host },
    settings.retry,
    settings.retryHooks,
  );
}

/** Carries a failure that `send` has already retried past the outer retry loop of readWhole. */
class AlreadyRetried extends Error {
  constructor(readonly original: unknown) {
    super('already retried');
    this.name = 'AlreadyRetried';
  }
}

/**
 * Sends (through `sendIt`, which retries until the headers arrive) and reads a small 200 answer
 * whole: a manifest, a token answer, a referrers index. A body cut off after its headers (a reset,
 * a short read) is not something `send` can see, so the whole exchange is tried again here, with
 * the same policy. Failures of `sendIt` itself are not tried again: its own retries are spent.
 * Answers other than 200 come back unread, for the caller to judge.
 */
export async function readWhole(
  settings: HttpSettings,
  url: string,
  sendIt: () => Promise<HttpResponse>,
  limit: number,
  /** Judges a 200 answer read whole; what it throws with a retryable code is asked for again. */
  check: (response: HttpResponse, bytes: Buffer) => void = () => undefined,
): Promise<{ readonly response: HttpResponse; readonly bytes?: Buffer }> {
  try {
    return await withRetries(
      async () => {
        let response: HttpResponse;
        try {
          response = await sendIt();
        } catch (error: unknown) {
          // No code and no status: retry.ts judges it fatal and rethrows it at once.
          throw new AlreadyRetried(error);
        }
        if (response.statusCode !== 200) return { response };
        const bytes = await readLimited(response.body, limit);
        check(response, bytes);
        return { response, bytes };
      },
      { host: new URL(url).host },
      settings.retry,
      settings.retryHooks,
    );
  } catch (error: unknown) {
    throw error instanceof AlreadyRetried ? error.original : error;
  }
}

/** Reads (at most 64 KiB of) an error answer into an HttpStatusError. */
export async function statusError(spec: HttpRequest, response: HttpResponse): Promise<HttpStatusError> {
  let code: string | undefined;
  let message: string | undefined;
  try {
    const text = spec.method === 'HEAD' ? '' : (await readLimited(response.body, 65_536)).toString('utf8');
    const parsed = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = parsed.errors?.[0];
    if (typeof first?.code === 'string') code = first.code;
    if (typeof first?.message === 'string') message = first.message;
  } catch {
    // Not the registry's JSON error body (a proxy page, a cut-off answer): the status says enough.
  }
  return new HttpStatusError(
    spec.method,
    spec.url.replace(/\?.*$/, ''),
    response.statusCode,
    response.headers,
    code,
    message,
  );
}

/** A whole small body (manifests, token answers); refuses more than `limit` bytes. */
export async function readLimited(body: HttpResponse['body'], limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      body.destroy();
      throw new Error(`the answer is larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
