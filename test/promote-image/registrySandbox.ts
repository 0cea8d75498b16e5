import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import type { Dispatcher } from 'undici';
import { undiciDispatcher } from '../../tasks/common/proxy';
import type { RegistryCredentials } from '../../tasks/promote-image/registryAuth';
import { startAcr, type AcrRegistrySpec, type AcrSandbox } from '../../sandbox/acr';
import { startBase, type SandboxBase } from '../../sandbox/base';
import { FaultPlan, withFaults } from '../../sandbox/faults';
import { startHttpsServer, type RunningServer } from '../../sandbox/httpsServer';
import { startRegistry, type RealRegistry, type RegistryEndpoint } from '../../sandbox/acr/registry';
import { SANDBOX_HOST_NAMES } from '../../sandbox/tls/certificateAuthority';

/** A registry that asks for no credentials at all (docker-registry without auth, behind TLS). */
export const PLAIN_REGISTRY = 'registry.contoso.example';

export interface Principal {
  readonly appid: string;
  readonly oid: string;
}

/**
 * What the promotion tests need, and no more: the sandbox base (proxy, CA, Entra token signing),
 * the ACR stand-in with the registries asked for, a plain registry without auth, and a fault front.
 *
 * The fault front is the one hook this folder adds: the ACR stand-in takes no FaultPlan (only Entra
 * and Key Vault do), so every registry host is routed on the sandbox proxy to a TLS front that
 * applies `faults` (test/sandbox/faults.ts) and forwards to the real server. It is routed from the
 * start, not per test: a client keeps its proxy tunnels alive, and a tunnel opened before a
 * re-route would still reach the registry directly, past the faults.
 */
export interface PromoteSandbox {
  readonly base: SandboxBase;
  readonly acr: AcrSandbox;
  readonly plain: RealRegistry;
  readonly faults: FaultPlan;
  /** Requests as they reach the fault front: `METHOD host path`. */
  readonly frontRequests: string[];
  /** The task's own undici adapter, pointed at the sandbox proxy and CA. */
  readonly dispatcher: Dispatcher;
  /** Credentials that exchange a sandbox-minted Entra ID token for `principal`. */
  credentials(principal: Principal): RegistryCredentials;
  /** Pushes to the plain registry go straight to it (no TLS, no auth). */
  readonly plainEndpoint: RegistryEndpoint;
  close(): Promise<void>;
}

export async function startPromoteSandbox(
  registries: readonly (string | AcrRegistrySpec)[],
): Promise<PromoteSandbox> {
  const base = await startBase();
  const closers: (() => Promise<void>)[] = [async () => base.close()];
  try {
    const acr = await startAcr(base, registries);
    closers.unshift(() => acr.close());
    const plain = await startRegistry(path.join(base.directory, 'plain'));
    closers.unshift(() => plain.close());
    const faults = new FaultPlan(7);
    const frontRequests: string[] = [];
    const tls = base.ca.issueServerCertificate([...SANDBOX_HOST_NAMES, PLAIN_REGISTRY]);
    const upstreamAgent = new https.Agent({ keepAlive: true, ca: base.ca.root.certificate });
    const plainAgent = new http.Agent({ keepAlive: true });
    const front: RunningServer = await startHttpsServer(
      tls,
      withFaults(faults, (request, response) => {
        const host = (request.headers.host ?? '').replace(/:\d+$/, '');
        frontRequests.push(`${request.method ?? ''} ${host} ${(request.url ?? '').replace(/\?.*$/, '')}`);
        return forward(
          request,
          response,
          host === PLAIN_REGISTRY
            ? { port: plain.port, agent: plainAgent }
            : { port: acr.port, agent: upstreamAgent, servername: host },
        );
      }),
    );
    closers.unshift(async () => {
      upstreamAgent.destroy();
      plainAgent.destroy();
      await front.close();
    });
    for (const host of [PLAIN_REGISTRY, ...[...acr.registries.values()].map((r) => r.loginServer)])
      base.proxy.route(host, front.port);
    const dispatcher = undiciDispatcher({
      proxy: { url: base.proxy.url, username: undefined, password: undefined, bypass: [] },
      caFile: base.ca.root.certificatePath,
    });
    closers.unshift(() => dispatcher.close());
    return {
      base,
      acr,
      plain,
      faults,
      frontRequests,
      dispatcher,
      credentials: (principal) => ({
        tenantId: base.tenantId,
        entraAccessToken: (scope) =>
          Promise.resolve(
            base.tokens.mint({ aud: scope.replace(/\/\.default$/, ''), tid: base.tenantId, ...principal }),
          ),
      }),
      plainEndpoint: plain.endpoint,
      close: async () => {
        for (const close of closers) await close();
      },
    };
  } catch (error: unknown) {
    for (const close of closers) await close();
    throw error;
  }
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
