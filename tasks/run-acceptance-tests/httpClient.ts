import { performance } from 'node:perf_hooks';
import { request, type Dispatcher } from 'undici';

export interface HttpRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
  readonly timeoutMs: number;
  /** Undefined: undici's global keep-alive agent. The task passes one that goes through the agent's proxy. */
  readonly dispatcher: Dispatcher | undefined;
}

export interface HttpResponse {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly bodyText: string;
  /** From sending the request to the end of the body. */
  readonly latencyMs: number;
}

/** Sends one request and reads the whole body; rejects on network errors and on the timeout. */
export async function send(httpRequest: HttpRequest): Promise<HttpResponse> {
  const started = performance.now();
  const response = await request(httpRequest.url, {
    method: httpRequest.method,
    headers: httpRequest.headers,
    body: httpRequest.body,
    dispatcher: httpRequest.dispatcher,
    // One signal for the headers and the body: a server that stalls mid-body times out too.
    signal: AbortSignal.timeout(httpRequest.timeoutMs),
  });
  const bodyText = await response.body.text();
  return {
    status: response.statusCode,
    headers: flattenHeaders(response.headers),
    bodyText,
    latencyMs: performance.now() - started,
  };
}

export function flattenHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/** A failed request in a few words: `no answer within 30 s`, `ECONNREFUSED (connect ECONNREFUSED 10.0.0.1:80)`. */
export function describeRequestError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error || (typeof error === 'object' && error !== null)) {
    const { name, code, message } = error as { name?: unknown; code?: unknown; message?: unknown };
    if (name === 'TimeoutError') return `no answer within ${formatSeconds(timeoutMs)}`;
    const text = typeof message === 'string' ? message.replace(/\s+/g, ' ').trim() : '';
    if (typeof code === 'string' && code !== '' && !text.includes(code))
      return text === '' ? code : `${code} (${text})`;
    if (text !== '') return text;
  }
  return String(error);
}

export function formatSeconds(milliseconds: number): string {
  return `${Number((milliseconds / 1000).toFixed(3))} s`;
}
