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
  const body = await readBody(response.body, headers['content-encoding']);
  return {
    status: response.statusCode,
    headers,
    bodyText: decodeText(body.bytes, headers['content-type']),
    bodyTooLarge: body.tooLarge,
    latencyMs: performance.now() - started,
  };
}

/** At most MAX_BODY_BYTES of the body, decompressed as `content-encoding` says; the rest is not read. */
async function readBody(
  raw: Readable,
  contentEncoding: string | undefined,
): Promise<{ readonly bytes: Buffer; readonly tooLarge: boolean }> {
  const decompress = decompressorFor(contentEncoding);
  // pipeline ends the raw body when the decompressor is ended early, and hands its errors on.
  const decoded = decompress === undefined ? raw : pipeline(raw, decompress, () => undefined);
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
  } finally {
    // Leaving the loop early (too large, or an error) must not leave the connection reading.
    if (!raw.readableEnded) raw.destroy();
  }
  return { bytes: Buffer.concat(chunks), tooLarge: false };
}

function decompressorFor(
  contentEncoding: string | undefined,
): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined {
  switch (contentEncoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
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
  return bytes.toString('utf8');
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
