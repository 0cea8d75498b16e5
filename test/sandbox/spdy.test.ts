import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import {
  decodeFrame,
  decodeHeaderBlock,
  encodeFrame,
  encodeHeaderBlock,
  FrameSplitter,
  HEADER_DICTIONARY,
  HeaderCompression,
  SpdyProtocolError,
  type RawFrame,
  type SpdyFrame,
  type SpdyHeaders,
} from '../../sandbox/kubernetes/spdy';

/** The headers kubectl puts on a forwarded connection's data stream. */
const DATA_STREAM_HEADERS: SpdyHeaders = { streamtype: ['data'], port: ['80'], requestid: ['0'] };

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

function only(frames: RawFrame[]): RawFrame {
  assert.equal(frames.length, 1);
  return frames[0] as RawFrame;
}

/** Encodes with one connection's context and decodes with the peer's, as two ends of a wire would. */
async function roundTrip(frames: readonly SpdyFrame[]): Promise<{ wire: Buffer[]; decoded: SpdyFrame[] }> {
  const sender = new HeaderCompression();
  const receiver = new HeaderCompression();
  const splitter = new FrameSplitter();
  const wire: Buffer[] = [];
  const decoded: SpdyFrame[] = [];
  try {
    for (const frame of frames) {
      const bytes = await encodeFrame(frame, sender);
      wire.push(bytes);
      decoded.push(await decodeFrame(only(splitter.push(bytes)), receiver));
    }
  } finally {
    sender.close();
    receiver.close();
  }
  return { wire, decoded };
}

describe('SPDY/3.1 framing', () => {
  describe('the header dictionary', () => {
    it('is the 1,423 bytes of the SPDY/3 spec (and of moby/spdystream)', () => {
      assert.equal(HEADER_DICTIONARY.length, 1423);
      assert.equal(
        crypto.createHash('sha256').update(HEADER_DICTIONARY).digest('hex'),
        '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02',
      );
    });
  });

  describe('frames without header blocks', () => {
    const cases: readonly [string, SpdyFrame, string][] = [
      ['PING', { type: 'ping', id: 7 }, '80030006 00000004 00000007'],
      ['a DATA frame with FIN', { type: 'data', streamId: 5, fin: true, data: Buffer.from('abc') }, '00000005 01000003 616263'],
      ['an empty DATA frame without FIN', { type: 'data', streamId: 3, fin: false, data: Buffer.alloc(0) }, '00000003 00000000'],
      ['RST_STREAM CANCEL', { type: 'rstStream', streamId: 3, status: 5 }, '80030003 00000008 00000003 00000005'],
      ['GOAWAY OK', { type: 'goAway', lastGoodStreamId: 9, status: 0 }, '80030007 00000008 00000009 00000000'],
      ['WINDOW_UPDATE', { type: 'windowUpdate', streamId: 1, deltaWindowSize: 65536 }, '80030009 00000008 00000001 00010000'],
      [
        'SETTINGS with one persisted entry',
        { type: 'settings', clearSettings: false, entries: [{ flags: 1, id: 7, value: 65536 }] },
        '80030004 0000000c 00000001 01000007 00010000',
      ],
    ]; // prettier-ignore

    for (const [name, frame, bytes] of cases) {
      it(`encodes ${name} to its spec bytes and decodes them back`, async () => {
        const { wire, decoded } = await roundTrip([frame]);
        assert.deepEqual(wire[0], hex(bytes));
        assert.deepEqual(decoded[0], frame);
      });
    }

    it('refuses a DATA payload longer than the 24-bit length field', async () => {
      const compression = new HeaderCompression();
      const frame: SpdyFrame = { type: 'data', streamId: 1, fin: false, data: Buffer.alloc(0x1000000) };
      await assert.rejects(encodeFrame(frame, compression), SpdyProtocolError);
      compression.close();
    });
  });

  describe('header blocks', () => {
    it('lays out the count, length-prefixed lower-case names and NUL-joined values', () => {
      const block = encodeHeaderBlock({ Port: ['80', '81'] });
      assert.deepEqual(block, hex('00000001 00000004 706f7274 00000005 3830003831'));
      assert.deepEqual(decodeHeaderBlock(block), { port: ['80', '81'] });
    });

    it('rejects a truncated block and a repeated name', () => {
      assert.throws(() => decodeHeaderBlock(hex('00000001 00000004 706f')), SpdyProtocolError);
      const twice = Buffer.concat([
        hex('00000002'),
        encodeHeaderBlock({ a: ['1'] }).subarray(4),
        encodeHeaderBlock({ a: ['2'] }).subarray(4),
      ]);
      assert.throws(() => decodeHeaderBlock(twice), /repeated name "a"/);
    });

    it('compresses as a zlib stream with the dictionary, one context per connection direction', async () => {
      const compression = new HeaderCompression();
      const first = await compression.compress(DATA_STREAM_HEADERS);
      const second = await compression.compress(DATA_STREAM_HEADERS);
      compression.close();
      const options = { dictionary: HEADER_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH };
      // Any zlib with the dictionary reads the first block; the second only makes sense after it.
      assert.deepEqual(zlib.inflateSync(first, options), encodeHeaderBlock(DATA_STREAM_HEADERS));
      assert.throws(() => zlib.inflateSync(second, options));
      const both = zlib.inflateSync(Buffer.concat([first, second]), options);
      assert.deepEqual(
        both,
        Buffer.concat([encodeHeaderBlock(DATA_STREAM_HEADERS), encodeHeaderBlock(DATA_STREAM_HEADERS)]),
      );
      assert.ok(second.length < first.length, 'a repeated block refers back to the previous one');
    });

    it('reads a block compressed by another zlib (as the Go peer does)', async () => {
      const foreign = zlib.deflateSync(encodeHeaderBlock(DATA_STREAM_HEADERS), {
        dictionary: HEADER_DICTIONARY,
        level: zlib.constants.Z_BEST_COMPRESSION,
        finishFlush: zlib.constants.Z_SYNC_FLUSH,
      });
      const compression = new HeaderCompression();
      assert.deepEqual(await compression.decompress(foreign), DATA_STREAM_HEADERS);
      compression.close();
    });

    it('fails with a protocol error on a block that is not zlib', async () => {
      const compression = new HeaderCompression();
      await assert.rejects(compression.decompress(Buffer.from('not zlib at all')), SpdyProtocolError);
      compression.close();
    });
  });

  describe('SYN_STREAM, SYN_REPLY and HEADERS', () => {
    it('round-trip a sequence the way kubectl and the server exchange them', async () => {
      const frames: SpdyFrame[] = [
        { type: 'synStream', streamId: 1, associatedStreamId: 0, priority: 0, fin: false, unidirectional: false, headers: { ...DATA_STREAM_HEADERS, streamtype: ['error'] } },
        { type: 'synStream', streamId: 3, associatedStreamId: 0, priority: 0, fin: false, unidirectional: false, headers: DATA_STREAM_HEADERS },
        { type: 'synReply', streamId: 3, fin: false, headers: {} },
        { type: 'headers', streamId: 3, fin: true, headers: { 'x-note': ['a', 'b'] } },
        { type: 'synStream', streamId: 5, associatedStreamId: 1, priority: 7, fin: true, unidirectional: true, headers: { port: ['8080'] } },
      ]; // prettier-ignore
      const { wire, decoded } = await roundTrip(frames);
      assert.deepEqual(decoded, frames);
      assert.deepEqual(wire[1]?.subarray(0, 4), hex('80030001'));
      assert.deepEqual(wire[2]?.subarray(0, 4), hex('80030002'));
      assert.equal(wire[4]?.readUInt8(4), 0x03, 'FIN and UNIDIRECTIONAL flags');
    });

    it('round-trip any lower-case header set, block after block', async () => {
      const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
      const value = fc.string({ maxLength: 40 }).filter((text) => !text.includes('\0'));
      const headers = fc.dictionary(name, fc.array(value, { minLength: 1, maxLength: 3 }), { maxKeys: 6 });
      await fc.assert(
        fc.asyncProperty(fc.array(headers, { minLength: 1, maxLength: 5 }), async (blocks) => {
          const frames: SpdyFrame[] = blocks.map((block, index) => ({
            type: 'synReply',
            streamId: 2 * index + 1,
            fin: false,
            headers: { ...block }, // fast-check's dictionaries have no prototype
          }));
          assert.deepEqual((await roundTrip(frames)).decoded, frames);
        }),
        { numRuns: 50 },
      );
    });
  });

  describe('the frame splitter', () => {
    it('finds the same frames whether bytes arrive at once or one at a time', () => {
      const wire = Buffer.concat([
        hex('80030006 00000004 00000001'),
        hex('00000003 00000002 6869'),
        hex('80030007 00000008 00000003 00000000'),
      ]);
      const atOnce = new FrameSplitter().push(wire);
      const splitter = new FrameSplitter();
      const byteByByte: RawFrame[] = [];
      for (const byte of wire) byteByByte.push(...splitter.push(Buffer.from([byte])));
      assert.deepEqual(byteByByte, atOnce);
      assert.deepEqual(
        atOnce.map((frame) => [
          frame.control,
          frame.controlType,
          frame.streamId,
          frame.payload.toString('hex'),
        ]),
        [
          [true, 6, 0, '00000001'],
          [false, 0, 3, '6869'],
          [true, 7, 0, '0000000300000000'],
        ],
      );
    });

    it('rejects a control frame of another SPDY version or an unknown type', async () => {
      const compression = new HeaderCompression();
      const version2 = only(new FrameSplitter().push(hex('80020006 00000004 00000001')));
      await assert.rejects(decodeFrame(version2, compression), /unsupported SPDY version 2/);
      const unknown = only(new FrameSplitter().push(hex('8003000a 00000000')));
      await assert.rejects(decodeFrame(unknown, compression), /unknown control frame type 10/);
      compression.close();
    });
  });
});
