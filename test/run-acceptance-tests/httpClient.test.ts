import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import { MAX_BODY_BYTES, send, type HttpResponse } from '../../tasks/run-acceptance-tests/httpClient';

describe('httpClient send', () => {
  let server: http.Server;
  let baseUrl: string;
  /** Bytes the server managed to write of the endless body before the client let go. */
  let endlessWritten = 0;

  before(async () => {
    server = http.createServer((request, response) => {
      switch (request.url) {
        case '/endless': {
          response.writeHead(200, { 'content-type': 'text/plain' });
          const chunk = Buffer.alloc(1024 * 1024, 'a');
          const pump = (): void => {
            while (!response.destroyed && endlessWritten < 1024 * chunk.length) {
              endlessWritten += chunk.length;
              if (!response.write(chunk)) return void response.once('drain', pump);
            }
            response.end();
          };
          response.on('close', () => undefined);
          return pump();
        }
        case '/gzip':
          response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
          return void response.end(zlib.gzipSync(JSON.stringify({ greeting: 'Welcome' })));
        case '/bomb':
          // 64 MiB of zeros, compressed to a few kilobytes.
          response.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
          return void response.end(zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024)));
        case '/gzip-empty':
          response.writeHead(request.method === 'HEAD' ? 200 : 204, { 'content-encoding': 'gzip' });
          return void response.end();
        case '/not-gzip':
          response.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
          return void response.end('plain text, not gzip');
        case '/gzip-then-br':
          response.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip, br' });
          return void response.end(zlib.brotliCompressSync(zlib.gzipSync('twice encoded')));
        case '/bom':
          response.writeHead(200, { 'content-type': 'application/json' });
          return void response.end(
            Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"status":"ok"}')]),
          );
        case '/latin1':
          response.writeHead(200, { 'content-type': 'text/plain; charset=ISO-8859-1' });
          return void response.end(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
        default:
          response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  function get(path: string, method = 'GET'): Promise<HttpResponse> {
    return send({
      url: `${baseUrl}${path}`,
      method,
      headers: {},
      body: undefined,
      timeoutMs: 30_000,
      dispatcher: undefined,
    });
  }

  it('reads at most MAX_BODY_BYTES of an endless body and lets go of the rest', async () => {
    const response = await get('/endless');
    assert.equal(response.bodyTooLarge, true);
    assert.equal(response.bodyText.length, MAX_BODY_BYTES);
    assert.ok(endlessWritten < 1024 * 1024 * 1024, 'the server was stopped well before its gigabyte');
  });

  it('decompresses a gzip body, and stops a compression bomb at the same limit', async () => {
    const json = await get('/gzip');
    assert.deepEqual([JSON.parse(json.bodyText), json.bodyTooLarge], [{ greeting: 'Welcome' }, false]);
    const bomb = await get('/bomb');
    assert.deepEqual([bomb.bodyText.length, bomb.bodyTooLarge], [MAX_BODY_BYTES, true]);
  });

  it('reads no body where HTTP has none, whatever Content-Encoding says (HEAD, 204)', async () => {
    for (const method of ['HEAD', 'GET']) {
      const response = await get('/gzip-empty', method);
      assert.deepEqual([response.bodyText, response.bodyError], ['', undefined], method);
    }
  });

  it('says a body does not decompress instead of failing the request, and undoes codings in reverse order', async () => {
    const broken = await get('/not-gzip');
    assert.equal(broken.status, 200);
    assert.match(broken.bodyError ?? '', /^gzip: /);
    assert.equal((await get('/gzip-then-br')).bodyText, 'twice encoded');
  });

  it('drops a UTF-8 byte-order mark, so the body parses as JSON', async () => {
    assert.deepEqual(JSON.parse((await get('/bom')).bodyText), { status: 'ok' });
  });

  it('decodes the body in the charset its Content-Type names', async () => {
    assert.equal((await get('/latin1')).bodyText, 'café');
  });
});
