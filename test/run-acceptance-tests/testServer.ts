import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the test server saw: requests per path, sockets opened, the most requests in flight at once. */
export interface ServerLog {
  readonly requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[];
  connections: number;
  inFlight: number;
  maxInFlight: number;
}

export interface TestServer {
  readonly baseUrl: string;
  readonly log: ServerLog;
  close(): Promise<void>;
}

/**
 * A local server with the endpoints the acceptance checks meet in real life:
 * `/ok` (JSON), `/slow/<ms>`, `/flaky/<key>` (503 twice per key, then 200), `/fail` (500, echoes the
 * Authorization header like a debug page would), `/hang` (never answers), `/echo` (the request as JSON),
 * `/ready-after/<n>` (503 until the n-th request).
 */
export async function startTestServer(): Promise<TestServer> {
  const log: ServerLog = { requests: [], connections: 0, inFlight: 0, maxInFlight: 0 };
  const hits = new Map<string, number>();
  const server = http.createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      log.requests.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body,
      });
      log.inFlight++;
      log.maxInFlight = Math.max(log.maxInFlight, log.inFlight);
      const done = (status: number, text: string, type = 'text/plain'): void => {
        log.inFlight--;
        response.writeHead(status, { 'content-type': type }).end(text);
      };
      const url = request.url ?? '/';
      const hit = (hits.get(url) ?? 0) + 1;
      hits.set(url, hit);
      const [, route, argument] = url.split(/[/?]/);
      switch (route) {
        case 'ok':
          return done(
            200,
            JSON.stringify({ status: 'ok', items: [{ id: 1 }, { id: 2 }] }),
            'application/json',
          );
        case 'slow':
          return void setTimeout(() => done(200, 'slow but fine'), Number(argument));
        case 'flaky':
          return hit <= 2 ? done(503, 'warming up') : done(200, 'ok now');
        case 'ready-after':
          return hit < Number(argument) ? done(503, 'not yet') : done(200, 'ready');
        case 'fail':
          return done(
            500,
            `<html>Internal error. Request had Authorization: ${request.headers.authorization ?? ''}</html>`,
          );
        case 'hang':
          log.inFlight--;
          return;
        case 'echo':
          return done(
            200,
            JSON.stringify({ method: request.method, url, headers: request.headers, body }),
            'application/json',
          );
        default:
          return done(404, 'not found');
      }
    });
  });
  server.on('connection', () => log.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    log,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
