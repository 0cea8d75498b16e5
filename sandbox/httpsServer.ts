import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { KeyPair } from './tls/certificateAuthority';

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

/** Takes over the socket of an HTTP/1.1 `Connection: Upgrade` request (SPDY, WebSocket). */
export type UpgradeHandler = (request: IncomingMessage, socket: Socket, head: Buffer) => void;

export interface RunningServer {
  readonly port: number;
  /** `https://127.0.0.1:<port>`: for clients that do not go through the proxy. */
  readonly url: string;
  close(): Promise<void>;
}

/** Where a server listens: loopback on an ephemeral port unless a test needs a fixed address. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Starts an HTTPS server on an ephemeral loopback port. `close()` also destroys kept-alive and
 * in-flight connections (watches, slow bodies) so a test run leaves nothing behind.
 */
export async function startHttpsServer(
  tls: KeyPair,
  handler: RequestHandler,
  listen: ListenAddress = { host: '127.0.0.1', port: 0 },
  upgrade?: UpgradeHandler,
): Promise<RunningServer> {
  const sockets = new Set<Socket>();
  const server = https.createServer({ key: tls.key, cert: tls.certificate }, (request, response) => {
    Promise.resolve(handler(request, response)).catch((error: unknown) => {
      if (!response.headersSent) {
        response.writeHead(500, { 'content-type': 'application/json' });
      }
      response.end(JSON.stringify({ error: { code: 'SandboxError', message: String(error) } }));
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket) => socket.on('error', () => undefined));
  server.on('tlsClientError', () => undefined);
  // Without a listener Node closes upgrade requests' sockets, which is also what a server without the feature does.
  if (upgrade !== undefined)
    server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) =>
      upgrade(request, socket, head),
    );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new Error('server has no TCP address');
  }
  return {
    port: address.port,
    url: `https://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) {
          socket.destroy();
        }
      }),
  };
}

/** Reads a whole request body. */
export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

/** Query parameters, percent-decoded in keys too (the Azure SDK sends `api%2Dversion`). */
export function queryOf(request: IncomingMessage): URLSearchParams {
  const url = request.url ?? '/';
  const index = url.indexOf('?');
  const params = new URLSearchParams();
  if (index < 0) {
    return params;
  }
  for (const pair of url.slice(index + 1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    params.append(key, value);
  }
  return params;
}

/** The request path without the query string. */
export function pathOf(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const index = url.indexOf('?');
  return decodeURIComponent(index < 0 ? url : url.slice(0, index));
}
