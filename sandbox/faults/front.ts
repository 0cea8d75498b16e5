import * as http from 'node:http';
import * as https from 'node:https';
import type { SandboxBase } from '../base';
import { startHttpsServer } from '../httpsServer';
import type { SandboxService } from '../service';
import { SANDBOX_HOST_NAMES } from '../tls/certificateAuthority';
import { withFaults, type FaultPlan } from './index';

/** A server a front forwards to: HTTPS under the request's host name (TLS), or plain HTTP. */
export interface FrontUpstream {
  readonly port: number;
  readonly tls: boolean;
}

export interface FaultFront extends SandboxService {
  /** Requests as they reach the front: `METHOD host path`. */
  readonly requests: readonly string[];
}

/**
 * A TLS front that applies `faults` and forwards to each host's upstream: for services that take
 * no FaultPlan themselves (the registries). Its hosts are routed to it from the start, not per
 * test: a client keeps its proxy tunnels alive, and a tunnel opened before a re-route would still
 * reach the upstream directly, past the faults. Requests that go to an upstream's own port (the
 * owner endpoints that seed registries) bypass it.
 */
export async function startFaultFront(
  base: SandboxBase,
  options: { readonly upstreams: ReadonlyMap<string, FrontUpstream>; readonly faults: FaultPlan },
): Promise<FaultFront> {
  const requests: string[] = [];
  const tls = base.ca.issueServerCertificate([...SANDBOX_HOST_NAMES, ...options.upstreams.keys()]);
  const tlsAgent = new https.Agent({ keepAlive: true, ca: base.ca.root.certificate });
  const plainAgent = new http.Agent({ keepAlive: true });
  const server = await startHttpsServer(
    tls,
    withFaults(options.faults, (request, response) => {
      const host = (request.headers.host ?? '').replace(/:\d+$/, '');
      requests.push(`${request.method ?? ''} ${host} ${(request.url ?? '').replace(/\?.*$/, '')}`);
      const upstream = options.upstreams.get(host);
      if (upstream === undefined) {
        response.writeHead(502).end();
        return;
      }
      return forward(request, response, {
        port: upstream.port,
        ...(upstream.tls ? { agent: tlsAgent, servername: host } : { agent: plainAgent }),
      });
    }),
  );
  const routes = [...options.upstreams.keys()];
  for (const host of routes) base.proxy.route(host, server.port);
  return {
    urls: [server.url],
    routes,
    requests,
    close: async () => {
      tlsAgent.destroy();
      plainAgent.destroy();
      await server.close();
    },
  };
}

/** Streams one request to the upstream and its answer back (through response.write/end, which faults intercept). */
function forward(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  upstream: { port: number; agent: http.Agent; servername?: string },
): Promise<void> {
  return new Promise<void>((resolve) => {
    const options = {
      host: '127.0.0.1',
      port: upstream.port,
      method: request.method,
      path: request.url,
      headers: request.headers,
      agent: upstream.agent,
    };
    const outgoing =
      upstream.servername === undefined
        ? http.request(options)
        : https.request({ ...options, servername: upstream.servername });
    outgoing.on('response', (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.on('data', (chunk: Buffer) => response.write(chunk));
      answer.on('end', () => {
        response.end();
        resolve();
      });
      answer.on('error', () => {
        response.destroy();
        resolve();
      });
    });
    outgoing.on('error', () => {
      if (!response.headersSent) response.writeHead(502).end();
      else response.destroy();
      resolve();
    });
    response.on('close', () => {
      if (!response.writableFinished) outgoing.destroy();
      resolve();
    });
    request.pipe(outgoing);
  });
}
