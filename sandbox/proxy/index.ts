import * as http from 'node:http';
import * as net from 'node:net';

export interface ProxyRoute {
  /** An exact host name, or `*.suffix` for any name that ends in `.suffix`. */
  readonly host: string;
  readonly port: number;
}

/**
 * How the proxy turns a CONNECT down, the ways real proxies and firewalls were seen to:
 * - `status`: an error status (403, 502, 503…) with a body; `truncated` declares a Content-Length
 *   longer than the body it sends before closing (a client that waits for the rest never gets it);
 * - `authenticationRequired`: 407 with `Proxy-Authenticate: Basic realm=…`;
 * - `captivePortal`: `200 OK` with an HTML page and a close, no tunnel and no TLS behind it.
 */
export type ProxyRefusal =
  | { readonly kind: 'status'; readonly status: number; readonly truncated?: boolean }
  | { readonly kind: 'authenticationRequired'; readonly realm: string }
  | { readonly kind: 'captivePortal' };

/** A refusal rule as added: how many CONNECTs it turned down, and how to lift it. */
export interface ActiveRefusal {
  readonly refusal: ProxyRefusal;
  readonly applied: number;
  remove(): void;
}

export interface RunningProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>`: the value for HTTPS_PROXY. */
  readonly url: string;
  /** Adds or replaces the route for a host pattern. */
  route(host: string, port: number): void;
  /**
   * Turns down every CONNECT to a host matching `hostPattern` (as in `route`) the way `refusal`
   * says, until removed or `times` CONNECTs were refused. The latest rule for a host wins.
   */
  refuse(hostPattern: string, refusal: ProxyRefusal, options?: { readonly times?: number }): ActiveRefusal;
  /** Every CONNECT target the proxy refused for want of a route (a test can assert none leaked out). */
  readonly refused: readonly string[];
  /** Every CONNECT target turned down by a `refuse` rule, in order. */
  readonly refusedByRule: readonly string[];
  /** Every CONNECT target, in order. */
  readonly connects: readonly string[];
  close(): Promise<void>;
}

class RefusalRule implements ActiveRefusal {
  applied = 0;
  constructor(
    readonly pattern: string,
    readonly refusal: ProxyRefusal,
    private readonly times: number | undefined,
    private readonly onRemove: (rule: RefusalRule) => void,
  ) {}

  get exhausted(): boolean {
    return this.times !== undefined && this.applied >= this.times;
  }

  remove(): void {
    this.onRemove(this);
  }
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
  const refusedByRule: string[] = [];
  const connects: string[] = [];
  const refusals: RefusalRule[] = [];
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
    const refusal = [...refusals]
      .reverse()
      .find((rule) => !rule.exhausted && matchesHost(rule.pattern, host));
    if (refusal !== undefined) {
      refusal.applied += 1;
      refusedByRule.push(target);
      clientSocket.end(refusalAnswer(refusal.refusal));
      return;
    }
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
    refuse: (hostPattern, refusal, options = {}) => {
      const rule = new RefusalRule(hostPattern, refusal, options.times, (removed) => {
        const index = refusals.indexOf(removed);
        if (index >= 0) refusals.splice(index, 1);
      });
      refusals.push(rule);
      return rule;
    },
    refused,
    refusedByRule,
    connects,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  403: 'Forbidden',
  407: 'Proxy Authentication Required',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** The raw bytes a refusing proxy sends before it closes the connection. */
export function refusalAnswer(refusal: ProxyRefusal): string {
  switch (refusal.kind) {
    case 'status': {
      const reason = STATUS_TEXT[refusal.status] ?? 'Error';
      const body = `<html><body><h1>${refusal.status} ${reason}</h1><p>sandbox proxy: access denied by policy</p></body></html>\n`;
      // The length a proxy announced before it gave up: more than it sends.
      const declared = Buffer.byteLength(body) + (refusal.truncated === true ? 512 : 0);
      return `HTTP/1.1 ${refusal.status} ${reason}\r\ncontent-type: text/html\r\ncontent-length: ${declared}\r\nconnection: close\r\n\r\n${body}`;
    }
    case 'authenticationRequired': {
      const body = 'sandbox proxy: authentication required\n';
      return `HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic realm="${refusal.realm}"\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
    }
    case 'captivePortal': {
      const body =
        '<!DOCTYPE html><html><head><title>Guest Wi-Fi</title></head><body><form action="/accept">Accept the terms to continue <button>Accept</button></form></body></html>\n';
      return `HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
    }
  }
}
