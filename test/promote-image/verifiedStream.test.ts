import * as assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { verifiedStream } from '../../tasks/promote-image/copy';
import { sha256Of } from '../../tasks/promote-image/manifests';
import { DigestMismatchError } from '../../tasks/promote-image/registryClient';

/** Reads in flowing mode, so every chunk the stream passes on is seen before an error discards its buffer. */
function drain(stream: Readable): Promise<{ bytes: Buffer; error: unknown }> {
  const chunks: Buffer[] = [];
  return new Promise((resolve) => {
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve({ bytes: Buffer.concat(chunks), error: undefined }));
    stream.once('error', (error) => resolve({ bytes: Buffer.concat(chunks), error }));
  });
}

const CHUNKS = [Buffer.from('first chunk '), Buffer.from('second chunk '), Buffer.from('last chunk')];
const CONTENT = Buffer.concat(CHUNKS);

describe('PromoteImage blob verification while streaming', () => {
  it('passes every byte of a blob whose digest and size match', async () => {
    const result = await drain(
      verifiedStream(Readable.from(CHUNKS), { digest: sha256Of(CONTENT), size: CONTENT.length }),
    );

    assert.deepEqual(result, { bytes: CONTENT, error: undefined });
  });

  it('fails a corrupted blob before its last chunk is passed on', async () => {
    const corrupted = [CHUNKS[0]!, Buffer.from('SECOND chunk '), CHUNKS[2]!];

    const result = await drain(
      verifiedStream(Readable.from(corrupted), { digest: sha256Of(CONTENT), size: CONTENT.length }),
    );

    assert.ok(result.error instanceof DigestMismatchError);
    assert.equal(result.bytes.length, CONTENT.length - CHUNKS[2]!.length);
  });

  it('fails a blob that is cut short', async () => {
    const result = await drain(
      verifiedStream(Readable.from(CHUNKS.slice(0, 2)), { digest: sha256Of(CONTENT), size: CONTENT.length }),
    );

    assert.ok(result.error instanceof DigestMismatchError);
    assert.equal(result.error.actual, String(CHUNKS[0]!.length + CHUNKS[1]!.length));
  });

  it('fails when the source breaks off mid-stream', async () => {
    const broken = new Readable({ read() {} });
    broken.push(CHUNKS[0]);
    setImmediate(() => broken.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));

    const result = await drain(verifiedStream(broken, { digest: sha256Of(CONTENT), size: CONTENT.length }));

    assert.equal((result.error as { code?: string }).code, 'ECONNRESET');
  });
});
