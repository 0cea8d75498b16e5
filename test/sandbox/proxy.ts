import * as http from 'node:http';
import * as net from 'node:net';

export interface ProxyRoute {
  /** An exact host name, or `*.suffix` for any name that ends in `.suffix`. */
  readonly host: string;
  readonly port: number;
}

export interface RunningProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>`: the value for HTTPS_PROXY. */
  readonly url: string;
  /** Adds or replaces the route for a host pattern. */
  route(host: string, port: number): void;
  /** Every CONNECT target the proxy refused (a test can assert none leaked out). */
  readonly refused: readonly string[];
  /** Every CONNECT target, in order. */
  readonly connects: readonly string[];
  close(): Promise<void>;
}

export function matchesHost(pattern: string, host: string): boolean {
  const name = host.toLowerCase();
  const wanted = pattern.toLowerCase();
  if (wanted.startsWith('*.')) {
    return name.endsWith(wanted.slice(1)) && name.length > wanted.length - 1;
  }
  return name === wanted;
}

/**
 * An HTTP CONNECT proxy that sends the real Azure host names to local servers and refuses every
 * other destination, so a test can never reach the internet by mistake.
 */
export async function startProxy(initialRoutes: readonly ProxyRoute[] = []): Promise<RunningProxy> {
  const routes = new Map<string, number>(initialRoutes.map((r) => [r.host.toLowerCase(), r.port]));
  const refused: string[] = [];
  const connects: string[] = [];
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  };

  const lookup = (host: string): number | undefined => {
    const exact = routes.get(host.toLowerCase());
    if (exact !== undefined) return exact;
    let best: { length: number; port: number } | undefined;
    for (const [pattern, port] of routes) {
      if (
        pattern.startsWith('*.') &&
        matchesHost(pattern, host) &&
        (best === undefined || pattern.length > best.length)
      ) {
        best = { length: pattern.length, port };
      }
    }
    return best?.port;
  };

  const server = http.createServer((request, response) => {
    refused.push(request.url ?? '');
    response.writeHead(403, { 'content-type': 'text/plain' });
    response.end('sandbox proxy: only CONNECT to routed hosts is allowed\n');
  });
  server.on('connection', track);
  server.on('connect', (request: http.IncomingMessage, clientSocket: net.Socket, head: Buffer) => {
    track(clientSocket);
    const target = request.url ?? '';
    connects.push(target);
    const host = target.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    const port = lookup(host);
    if (port === undefined) {
      refused.push(target);
      clientSocket.end(
        'HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\nsandbox proxy: no route\r\n',
      );
      return;
    }
    const upstream = net.connect(port, '127.0.0.1', () => {
      clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(clientSocket);
      clientSocket.pipe(upstream);
    });
    track(upstream);
    upstream.on('error', () => clientSocket.destroy());
    clientSocket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    route: (host, port) => void routes.set(host.toLowerCase(), port),
    refused,
    connects,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
