import * as zlib from 'node:zlib';
import type { Transform } from 'node:stream';

/**
 * SPDY/3.1 framing, as far as `kubectl port-forward` (client-go over moby/spdystream) uses it.
 * Spec: https://www.chromium.org/spdy/spdy-protocol/spdy-protocol-draft3-1/
 *
 * Every frame starts with 8 bytes. A control frame: 1 bit set, 15 bits version (3), 16 bits type,
 * 8 bits flags, 24 bits length. A data frame: 1 bit clear, 31 bits stream id, 8 bits flags,
 * 24 bits length. Header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are zlib-compressed with a
 * fixed dictionary, and each direction of a connection is one zlib stream: a block can refer to
 * bytes of earlier blocks, so each connection needs its own `HeaderCompression`.
 */

export const SPDY_VERSION = 3;

export const ControlType = {
  synStream: 1,
  synReply: 2,
  rstStream: 3,
  settings: 4,
  ping: 6,
  goAway: 7,
  headers: 8,
  windowUpdate: 9,
} as const;

/** FLAG_FIN on data frames and on SYN_STREAM / SYN_REPLY / HEADERS. */
export const FLAG_FIN = 0x01;
/** FLAG_UNIDIRECTIONAL on SYN_STREAM. */
export const FLAG_UNIDIRECTIONAL = 0x02;

export const RstStatus = {
  protocolError: 1,
  invalidStream: 2,
  refusedStream: 3,
  unsupportedVersion: 4,
  cancel: 5,
  internalError: 6,
  flowControlError: 7,
  streamInUse: 8,
  streamAlreadyClosed: 9,
} as const;

export const GoAwayStatus = { ok: 0, protocolError: 1, internalError: 2 } as const;

/** The largest payload a frame's 24-bit length can announce. */
export const MAX_FRAME_PAYLOAD = 0xffffff;

/** Header names are lower case; a name with several values is sent once, values joined by NUL. */
export type SpdyHeaders = Readonly<Record<string, readonly string[]>>;

export type SpdyFrame =
  | { readonly type: 'data'; readonly streamId: number; readonly fin: boolean; readonly data: Buffer }
  | {
      readonly type: 'synStream';
      readonly streamId: number;
      readonly associatedStreamId: number;
      readonly priority: number;
      readonly fin: boolean;
      readonly unidirectional: boolean;
      readonly headers: SpdyHeaders;
    }
  | {
      readonly type: 'synReply';
      readonly streamId: number;
      readonly fin: boolean;
      readonly headers: SpdyHeaders;
    }
  | { readonly type: 'rstStream'; readonly streamId: number; readonly status: number }
  | {
      readonly type: 'settings';
      readonly clearSettings: boolean;
      readonly entries: readonly { readonly flags: number; readonly id: number; readonly value: number }[];
    }
  | { readonly type: 'ping'; readonly id: number }
  | { readonly type: 'goAway'; readonly lastGoodStreamId: number; readonly status: number }
  | {
      readonly type: 'headers';
      readonly streamId: number;
      readonly fin: boolean;
      readonly headers: SpdyHeaders;
    }
  | { readonly type: 'windowUpdate'; readonly streamId: number; readonly deltaWindowSize: number };

export class SpdyProtocolError extends Error {
  override readonly name = 'SpdyProtocolError';
}

/**
 * The SPDY/3 header dictionary (spec section 2.6.10.1): length-prefixed header names and values,
 * then a run of common value fragments. 1,423 bytes.
 */
export const HEADER_DICTIONARY: Buffer = (() => {
  const words = [
    'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding',
    'accept-language', 'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection',
    'content-base', 'content-encoding', 'content-language', 'content-length', 'content-location',
    'content-md5', 'content-range', 'content-type', 'date', 'etag', 'expect', 'expires', 'from', 'host',
    'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since', 'last-modified',
    'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
    'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via',
    'warning', 'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url',
    'public', 'set-cookie', 'keep-alive', 'origin',
  ]; // prettier-ignore
  const tail = [
    '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505',
    '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request',
    '401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented',
    '503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 ',
    'Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,',
    'application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=',
    'gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.',
  ].join('');
  return Buffer.concat([
    ...words.map((word) => lengthPrefixed(Buffer.from(word, 'latin1'))),
    Buffer.from(tail),
  ]);
})();

function lengthPrefixed(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** The uncompressed name/value block: pair count, then length-prefixed names and NUL-joined values. */
export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const names = Object.keys(headers);
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0]?.writeUInt32BE(names.length);
  for (const name of names) {
    parts.push(lengthPrefixed(Buffer.from(name.toLowerCase(), 'utf8')));
    parts.push(lengthPrefixed(Buffer.from((headers[name] ?? []).join('\0'), 'utf8')));
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  const reader = new ByteReader(block, 'header block');
  const count = reader.uint32();
  const headers = new Map<string, string[]>();
  for (let i = 0; i < count; i++) {
    const name = reader.bytes(reader.uint32()).toString('utf8').toLowerCase();
    const values = reader.bytes(reader.uint32()).toString('utf8').split('\0');
    if (name === '' || headers.has(name)) {
      throw new SpdyProtocolError(`header block: empty or repeated name "${name}"`);
    }
    headers.set(name, values);
  }
  if (!reader.atEnd()) throw new SpdyProtocolError('header block: bytes after the last header');
  // fromEntries defines own properties, so a peer's "__proto__" header stays a plain header.
  return Object.fromEntries(headers);
}

/**
 * One direction's zlib context for header blocks. Each block is written and then sync-flushed,
 * so it ends on a byte boundary and the peer can decode it without the next one; the window and
 * dictionary carry over between blocks. node:zlib has no synchronous API that keeps a context
 * across calls, so this is a stream used in paused mode: write, flush, then read what it made.
 * Callers must not overlap calls (the session queues them).
 */
class ZlibContext {
  constructor(private readonly stream: Transform & { flush(kind: number, callback: () => void): void }) {
    stream.on('error', () => undefined);
  }

  run(input: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void =>
        reject(new SpdyProtocolError(`header compression: ${error.message}`));
      this.stream.once('error', onError);
      this.stream.write(input);
      this.stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.stream.removeListener('error', onError);
        const chunks: Buffer[] = [];
        for (
          let chunk = this.stream.read() as Buffer | null;
          chunk !== null;
          chunk = this.stream.read() as Buffer | null
        ) {
          chunks.push(chunk);
        }
        resolve(Buffer.concat(chunks));
      });
    });
  }

  close(): void {
    this.stream.destroy();
  }
}

/** Both zlib contexts of one SPDY connection (one per direction). */
export class HeaderCompression {
  private readonly deflate = new ZlibContext(zlib.createDeflate({ dictionary: HEADER_DICTIONARY }));
  private readonly inflate = new ZlibContext(zlib.createInflate({ dictionary: HEADER_DICTIONARY }));

  compress(headers: SpdyHeaders): Promise<Buffer> {
    return this.deflate.run(encodeHeaderBlock(headers));
  }

  async decompress(block: Buffer): Promise<SpdyHeaders> {
    return decodeHeaderBlock(await this.inflate.run(block));
  }

  close(): void {
    this.deflate.close();
    this.inflate.close();
  }
}

/** A frame cut out of the byte stream; header blocks still compressed. */
export interface RawFrame {
  readonly control: boolean;
  /** Control frames: the type; data frames: 0. */
  readonly controlType: number;
  /** Control frames: the version; data frames: 0. */
  readonly version: number;
  /** Data frames: the stream id; control frames: 0 (their ids are in the payload). */
  readonly streamId: number;
  readonly flags: number;
  readonly payload: Buffer;
}

/** Cuts a byte stream into frames, whatever the chunking. */
export class FrameSplitter {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): RawFrame[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const frames: RawFrame[] = [];
    while (this.buffered.length >= 8) {
      const length = this.buffered.readUInt32BE(4) & 0xffffff;
      if (this.buffered.length < 8 + length) break;
      const first = this.buffered.readUInt32BE(0);
      const control = (first & 0x80000000) !== 0;
      frames.push({
        control,
        controlType: control ? first & 0xffff : 0,
        version: control ? (first >>> 16) & 0x7fff : 0,
        streamId: control ? 0 : first & 0x7fffffff,
        flags: this.buffered.readUInt8(4),
        payload: this.buffered.subarray(8, 8 + length),
      });
      this.buffered = this.buffered.subarray(8 + length);
    }
    return frames;
  }
}

/** Turns a raw frame into a typed one; unknown control types are a protocol error. */
export async function decodeFrame(raw: RawFrame, compression: HeaderCompression): Promise<SpdyFrame> {
  if (!raw.control) {
    return { type: 'data', streamId: raw.streamId, fin: (raw.flags & FLAG_FIN) !== 0, data: raw.payload };
  }
  if (raw.version !== SPDY_VERSION) {
    throw new SpdyProtocolError(`unsupported SPDY version ${raw.version}`);
  }
  const reader = new ByteReader(raw.payload, `control frame type ${raw.controlType}`);
  const fin = (raw.flags & FLAG_FIN) !== 0;
  switch (raw.controlType) {
    case ControlType.synStream: {
      const streamId = reader.streamId();
      const associatedStreamId = reader.streamId();
      const priority = reader.uint8() >> 5;
      reader.uint8(); // slot, unused in SPDY/3.1
      const headers = await compression.decompress(reader.rest());
      return {
        type: 'synStream',
        streamId,
        associatedStreamId,
        priority,
        fin,
        unidirectional: (raw.flags & FLAG_UNIDIRECTIONAL) !== 0,
        headers,
      };
    }
    case ControlType.synReply:
    case ControlType.headers: {
      const streamId = reader.streamId();
      const headers = await compression.decompress(reader.rest());
      return {
        type: raw.controlType === ControlType.synReply ? 'synReply' : 'headers',
        streamId,
        fin,
        headers,
      };
    }
    case ControlType.rstStream:
      return { type: 'rstStream', streamId: reader.streamId(), status: reader.uint32() };
    case ControlType.settings: {
      const count = reader.uint32();
      const entries = [];
      for (let i = 0; i < count; i++) {
        const flagsAndId = reader.uint32();
        entries.push({ flags: flagsAndId >>> 24, id: flagsAndId & 0xffffff, value: reader.uint32() });
      }
      return { type: 'settings', clearSettings: fin, entries };
    }
    case ControlType.ping:
      return { type: 'ping', id: reader.uint32() };
    case ControlType.goAway:
      return { type: 'goAway', lastGoodStreamId: reader.streamId(), status: reader.uint32() };
    case ControlType.windowUpdate:
      return {
        type: 'windowUpdate',
        streamId: reader.streamId(),
        deltaWindowSize: reader.uint32() & 0x7fffffff,
      };
    default:
      throw new SpdyProtocolError(`unknown control frame type ${raw.controlType}`);
  }
}

/** Serialises a frame; header blocks go through `compression` (so call in send order). */
export async function encodeFrame(frame: SpdyFrame, compression: HeaderCompression): Promise<Buffer> {
  switch (frame.type) {
    case 'data': {
      const header = Buffer.alloc(8);
      header.writeUInt32BE(frame.streamId & 0x7fffffff, 0);
      header.writeUInt32BE(frameLength(frame.data.length, frame.fin ? FLAG_FIN : 0), 4);
      return Buffer.concat([header, frame.data]);
    }
    case 'synStream': {
      const fixed = Buffer.alloc(10);
      fixed.writeUInt32BE(frame.streamId & 0x7fffffff, 0);
      fixed.writeUInt32BE(frame.associatedStreamId & 0x7fffffff, 4);
      fixed.writeUInt8((frame.priority & 0x7) << 5, 8);
      const flags = (frame.fin ? FLAG_FIN : 0) | (frame.unidirectional ? FLAG_UNIDIRECTIONAL : 0);
      return control(ControlType.synStream, flags, [fixed, await compression.compress(frame.headers)]);
    }
    case 'synReply':
    case 'headers': {
      const type = frame.type === 'synReply' ? ControlType.synReply : ControlType.headers;
      const block = await compression.compress(frame.headers);
      return control(type, frame.fin ? FLAG_FIN : 0, [uint32(frame.streamId & 0x7fffffff), block]);
    }
    case 'rstStream':
      return control(ControlType.rstStream, 0, [uint32(frame.streamId & 0x7fffffff), uint32(frame.status)]);
    case 'settings':
      return control(ControlType.settings, frame.clearSettings ? FLAG_FIN : 0, [
        uint32(frame.entries.length),
        ...frame.entries.flatMap((entry) => [
          uint32(((entry.flags & 0xff) << 24) | (entry.id & 0xffffff)),
          uint32(entry.value),
        ]),
      ]);
    case 'ping':
      return control(ControlType.ping, 0, [uint32(frame.id)]);
    case 'goAway':
      return control(ControlType.goAway, 0, [
        uint32(frame.lastGoodStreamId & 0x7fffffff),
        uint32(frame.status),
      ]);
    case 'windowUpdate':
      return control(ControlType.windowUpdate, 0, [
        uint32(frame.streamId & 0x7fffffff),
        uint32(frame.deltaWindowSize & 0x7fffffff),
      ]);
  }
}

function control(type: number, flags: number, parts: Buffer[]): Buffer {
  const payload = Buffer.concat(parts);
  const header = Buffer.alloc(8);
  header.writeUInt32BE((0x8000 | SPDY_VERSION) * 0x10000 + type, 0);
  header.writeUInt32BE(frameLength(payload.length, flags), 4);
  return Buffer.concat([header, payload]);
}

function frameLength(length: number, flags: number): number {
  if (length > MAX_FRAME_PAYLOAD) throw new SpdyProtocolError(`frame payload of ${length} bytes is too long`);
  return (flags & 0xff) * 0x1000000 + length;
}

function uint32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value >>> 0);
  return bytes;
}

class ByteReader {
  private offset = 0;

  constructor(
    private readonly buffer: Buffer,
    private readonly what: string,
  ) {}

  uint8(): number {
    this.need(1);
    return this.buffer.readUInt8(this.offset++);
  }

  uint32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  streamId(): number {
    return this.uint32() & 0x7fffffff;
  }

  bytes(length: number): Buffer {
    this.need(length);
    const slice = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  rest(): Buffer {
    return this.bytes(this.buffer.length - this.offset);
  }

  atEnd(): boolean {
    return this.offset === this.buffer.length;
  }

  private need(length: number): void {
    if (this.offset + length > this.buffer.length) throw new SpdyProtocolError(`${this.what} is too short`);
  }
}
