import { performance } from 'node:perf_hooks';
import { pipeline, type Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { request, type Dispatcher } from 'undici';

/**
 * The most of a body that is read (after decompression): a check compares text, and a server that
 * answers with gigabytes, or a compressed bomb, must not take the agent's memory with it.
 */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

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
  /** Decompressed (gzip, deflate, br) and decoded in the declared charset (UTF-8 when none). */
  readonly bodyText: string;
  /** The body was larger than MAX_BODY_BYTES: `bodyText` holds its beginning only. */
  readonly bodyTooLarge: boolean;
  /** Why the body could not be decompressed (`bodyText` is then what was), when it could not. */
  readonly bodyError?: string;
  /** From sending the request to the end of the body (or of what was read of it). */
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
  const headers = flattenHeaders(response.headers);
  // No body to decode, whatever Content-Encoding says (RFC 9110: HEAD, 204, 304).
  const bodiless =
    httpRequest.method.toUpperCase() === 'HEAD' || response.statusCode === 204 || response.statusCode === 304;
  const body = await readBody(response.body, bodiless ? undefined : headers['content-encoding']);
  return {
    status: response.statusCode,
    headers,
    bodyText: decodeText(body.bytes, headers['content-type']),
    bodyTooLarge: body.tooLarge,
    ...(body.error === undefined ? {} : { bodyError: body.error }),
    latencyMs: performance.now() - started,
  };
}

/**
 * At most MAX_BODY_BYTES of the body, decompressed as `content-encoding` says (in reverse order of
 * the codings applied); the rest is not read. A body that does not decompress comes back as far as
 * it did, with the reason: a server's fault to report, not a network error.
 */
async function readBody(
  raw: Readable,
  contentEncoding: string | undefined,
): Promise<{ readonly bytes: Buffer; readonly tooLarge: boolean; readonly error?: string }> {
  const decompressors = decompressorsFor(contentEncoding);
  let networkError: unknown;
  raw.once('error', (error: unknown) => (networkError = error));
  // pipeline ends the raw body when a decompressor is ended early, and hands its errors on.
  const decoded: Readable =
    decompressors.length === 0
      ? raw
      : (pipeline([raw, ...decompressors], () => undefined) as unknown as Readable);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of decoded) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      if (size + buffer.length > MAX_BODY_BYTES) {
        chunks.push(buffer.subarray(0, MAX_BODY_BYTES - size));
        return { bytes: Buffer.concat(chunks), tooLarge: true };
      }
      chunks.push(buffer);
      size += buffer.length;
    }
  } catch (error: unknown) {
    if (decompressors.length === 0 || error === networkError || networkError !== undefined) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    return { bytes: Buffer.concat(chunks), tooLarge: false, error: `${contentEncoding}: ${reason}` };
  } finally {
    // Leaving the loop early (too large, or an error) must not leave the connection reading.
    if (!raw.readableEnded) raw.destroy();
  }
  return { bytes: Buffer.concat(chunks), tooLarge: false };
}

type Decompressor = zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress;

/**
 * Decompressors for the codings of `content-encoding`, last applied first; none when a coding is
 * unknown (the body is then compared as sent). A body cut short decompresses as far as it goes, as
 * browsers and curl do.
 */
function decompressorsFor(contentEncoding: string | undefined): Decompressor[] {
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  const decompressors: Decompressor[] = [];
  for (const coding of codings.reverse()) {
    const decompressor = decompressorFor(coding);
    if (decompressor === undefined) {
      for (const made of decompressors) made.destroy();
      return [];
    }
    decompressors.push(decompressor);
  }
  return decompressors;
}

function decompressorFor(coding: string): Decompressor | undefined {
  const tolerant = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip(tolerant);
    case 'deflate':
      return zlib.createInflate(tolerant);
    case 'br':
      return zlib.createBrotliDecompress({ finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH });
    default:
      return undefined;
  }
}

/** The body as text in the charset its Content-Type names; UTF-8 when it names none or one Node lacks. */
function decodeText(bytes: Buffer, contentType: string | undefined): string {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1];
  if (charset !== undefined) {
    try {
      return new TextDecoder(charset).decode(bytes);
    } catch {
      // An unknown label: read it as UTF-8 below.
    }
  }
  // TextDecoder, not Buffer: it drops a byte-order mark, as JSON.parse needs.
  return new TextDecoder('utf-8').decode(bytes);
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
