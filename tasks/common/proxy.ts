import * as fs from 'node:fs';
import * as http from 'node:http';
import type * as net from 'node:net';
import * as tls from 'node:tls';
import * as tl from 'azure-pipelines-task-lib/task';
import type { PipelinePolicy, ProxySettings } from '@azure/core-rest-pipeline';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { recordNetworkFailure } from './networkFailures';
import { registerSecret } from './secrets';

/**
 * The agent's proxy, resolved once per task: its URL and credentials (Agent.ProxyUrl,
 * Agent.ProxyUsername, Agent.ProxyPassword), its bypass list (Agent.ProxyBypassList: regular
 * expressions matched against the request URL, as the agent matches them) and the agent's extra CA
 * (Agent.CAInfo). Undefined fields mean "not configured on the agent": the adapters then leave
 * HTTPS_PROXY / NO_PROXY from the environment to each client, which is what those clients do anyway.
 */
export interface AgentProxy {
  /** Without credentials, fit for messages: `http://proxy.contoso.com:8080`. */
  readonly url: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly bypass: readonly RegExp[];
}

export interface AgentNetwork {
  readonly proxy: AgentProxy | undefined;
  /** Path of a PEM bundle the agent trusts in addition to the system's (Agent.CAInfo). */
  readonly caFile: string | undefined;
}

let resolved: AgentNetwork | undefined;

/** The agent's network settings, read once; proxy credentials are registered as secrets first. */
export function agentNetwork(): AgentNetwork {
  resolved ??= readAgentNetwork();
  return resolved;
}

function readAgentNetwork(): AgentNetwork {
  const config = tl.getHttpProxyConfiguration();
  for (const secret of proxySecrets(config)) registerSecret(secret);
  const caFile = tl.getHttpCertConfiguration()?.caFile || undefined;
  return { proxy: toAgentProxy(config), caFile };
}

/** task-lib's proxy configuration, checked; a bypass entry that is not a valid expression is ignored as the agent ignores it. */
export function toAgentProxy(config: tl.ProxyConfiguration | null): AgentProxy | undefined {
  if (config === null || !config.proxyUrl) return undefined;
  const url = new URL(config.proxyUrl);
  const username = config.proxyUsername || (url.username ? decodeURIComponent(url.username) : undefined);
  const password = config.proxyPassword || (url.password ? decodeURIComponent(url.password) : undefined);
  url.username = '';
  url.password = '';
  const bypass: RegExp[] = [];
  for (const pattern of config.proxyBypassHosts ?? []) {
    try {
      bypass.push(new RegExp(pattern, 'i'));
    } catch {
      // The agent itself would throw on it for every request; skipping it is the kinder reading.
    }
  }
  return { url: url.origin, username, password, bypass };
}

/** The agent's proxy for `url`, or undefined when there is none or `url` bypasses it. */
export function agentProxyFor(url: string, network: AgentNetwork = agentNetwork()): AgentProxy | undefined {
  const proxy = network.proxy;
  if (proxy === undefined || proxy.bypass.some((pattern) => pattern.test(url))) return undefined;
  return proxy;
}

/** `http://user:password@host:port`, for clients that take credentials in the URL. */
function withCredentials(proxy: AgentProxy): string {
  const url = new URL(proxy.url);
  if (proxy.username !== undefined) url.username = encodeURIComponent(proxy.username);
  if (proxy.password !== undefined) url.password = encodeURIComponent(proxy.password);
  return url.href.replace(/\/$/, '');
}

// ---------------------------------------------------------------------------------------------
// Adapter 1: Azure SDK clients

/** The agent's proxy for `url` as Azure SDK proxy settings; undefined lets the SDK follow HTTPS_PROXY/NO_PROXY. */
export function azureSdkProxySettings(url: string, network?: AgentNetwork): ProxySettings | undefined {
  const proxy = agentProxyFor(url, network);
  if (proxy === undefined) return undefined;
  const parsed = new URL(proxy.url);
  return {
    host: `${parsed.protocol}//${parsed.hostname}`,
    port: Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80)),
    username: proxy.username,
    password: proxy.password,
  };
}

/** Codes on the errors a proxy's refusal becomes; azureErrors.ts explains them. */
export const PROXY_REFUSED = 'AKS_DELIVERY_PROXY_REFUSED';
export const PROXY_NOT_A_TUNNEL = 'AKS_DELIVERY_PROXY_NOT_A_TUNNEL';

/** A proxy answered a CONNECT with something other than a tunnel. Carries no body: a proxy page may echo anything. */
export class ProxyConnectError extends Error {
  constructor(
    readonly code: typeof PROXY_REFUSED | typeof PROXY_NOT_A_TUNNEL,
    /** The proxy, without credentials. */
    readonly proxy: string,
    /** `host:port` the tunnel was asked for. */
    readonly target: string,
    readonly status: number,
    readonly statusText: string,
  ) {
    super(
      code === PROXY_REFUSED
        ? `The proxy ${proxy} refused the connection to ${target}: ${status} ${statusText}`
        : `The proxy ${proxy} answered the connection to ${target} with a page instead of a tunnel: ${status} ${statusText}`,
    );
    this.name = 'ProxyConnectError';
  }
}

/** Bounds the CONNECT exchange itself; the request's own timeout covers the rest. */
const CONNECT_TIMEOUT_MS = 30_000;

/**
 * Opens the CONNECT tunnel itself, so a proxy's refusal is an error that names the proxy.
 * https-proxy-agent replays a refusal to the HTTP client as if the destination had answered it:
 * a 407 or 403 then reads as Key Vault's (a TypeError when the body is not Key Vault JSON), and a
 * refusal whose body is shorter than its Content-Length left a request that never settled with
 * nothing to keep the process alive, so the task ended without a result.
 *
 * It also keeps tunnels alive: the SDK builds its HttpsProxyAgent without keepAlive, and agent-base
 * names a tunnel by https rules while connecting it but by http rules when it is freed unless the
 * endpoint is declared secure, so without `isSecureEndpoint` no tunnel is ever reused.
 */
export class ProxyTunnelAgent extends HttpsProxyAgent<string> {
  /**
   * TLS settings given to the agent (a CA, a client certificate) for the servers behind the proxy:
   * HttpsProxyAgent keeps them only for its connection to the proxy, and Node does not pass an
   * agent's options on to `connect`.
   */
  private readonly endpointTls: tls.ConnectionOptions;

  constructor(proxy: string | URL, options?: http.AgentOptions & tls.ConnectionOptions) {
    super(proxy, options);
    const { ca, cert, key, pfx, passphrase, rejectUnauthorized } = options ?? {};
    this.endpointTls = Object.fromEntries(
      Object.entries({ ca, cert, key, pfx, passphrase, rejectUnauthorized }).filter(
        ([, value]) => value !== undefined,
      ),
    );
  }

  override isSecureEndpoint(): boolean {
    return true;
  }

  override async connect(
    _request: http.ClientRequest,
    options: tls.ConnectionOptions & { host?: string | null; port: number; servername?: string },
  ): Promise<net.Socket> {
    const host = options.host ?? '';
    const target = `${host.includes(':') ? `[${host}]` : host}:${options.port}`;
    const proxyLabel = this.proxy.origin;
    const headers: http.OutgoingHttpHeaders = { Host: target, 'Proxy-Connection': 'Keep-Alive' };
    if (this.proxy.username || this.proxy.password) {
      const credentials = `${decodeURIComponent(this.proxy.username)}:${decodeURIComponent(this.proxy.password)}`;
      headers['Proxy-Authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
    }
    const socket = await new Promise<net.Socket>((resolve, rejectWith) => {
      const reject = (error: Error): void => {
        recordNetworkFailure(host, error);
        rejectWith(error);
      };
      const connectRequest = (this.proxy.protocol === 'https:' ? httpsRequest : http.request)({
        host: this.proxy.hostname.replace(/^\[|\]$/g, ''),
        port: Number(this.proxy.port || (this.proxy.protocol === 'https:' ? 443 : 80)),
        method: 'CONNECT',
        path: target,
        headers,
        agent: false,
        timeout: CONNECT_TIMEOUT_MS,
      });
      connectRequest.once('connect', (response: http.IncomingMessage, tunnel: net.Socket, head: Buffer) => {
        const status = response.statusCode ?? 0;
        const statusText = response.statusMessage ?? '';
        if (status !== 200) {
          tunnel.destroy();
          reject(new ProxyConnectError(PROXY_REFUSED, proxyLabel, target, status, statusText));
          return;
        }
        // A tunnel has no body. A 200 with content is a captive portal or a firewall's page.
        const contentLength = Number(response.headers['content-length'] ?? 0);
        if (head.length > 0 || contentLength > 0 || response.headers['content-type'] !== undefined) {
          tunnel.destroy();
          reject(new ProxyConnectError(PROXY_NOT_A_TUNNEL, proxyLabel, target, status, statusText));
          return;
        }
        resolve(tunnel);
      });
      connectRequest.once('timeout', () => {
        connectRequest.destroy(
          Object.assign(
            new Error(
              `The proxy ${proxyLabel} did not answer the connection to ${target} within ${CONNECT_TIMEOUT_MS / 1000} s`,
            ),
            { code: 'ETIMEDOUT' },
          ),
        );
      });
      connectRequest.once('error', reject);
      connectRequest.end();
    });
    const servername = options.servername ?? (isIpAddress(host) ? undefined : host);
    // The request's own TLS settings (ca, rejectUnauthorized, a client certificate) apply to the
    // TLS session inside the tunnel, as they would on a direct connection.
    const tlsOptions: Record<string, unknown> = { ...this.endpointTls, ...options };
    for (const routing of ['host', 'port', 'path']) delete tlsOptions[routing];
    return tls.connect({
      ALPNProtocols: ['http/1.1'],
      ...tlsOptions,
      socket,
      ...(servername === undefined ? {} : { servername }),
    });
  }
}

function httpsRequest(options: http.RequestOptions): http.ClientRequest {
  // Imported lazily: only a proxy reached over TLS needs it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:https') as typeof import('node:https')).request(options);
}

function isIpAddress(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

const tunnelAgents = new Map<string, ProxyTunnelAgent>();

/**
 * Runs after the SDK's proxy policy and swaps the agent it chose for our tunnel agent through the
 * same proxy: which proxy, and which hosts bypass it, stay the SDK's decision.
 */
export const proxyTunnelPolicy: PipelinePolicy = {
  name: 'aksDeliveryProxyTunnels',
  sendRequest(request, next) {
    const agent = request.agent;
    if (
      agent instanceof HttpsProxyAgent &&
      !(agent instanceof ProxyTunnelAgent) &&
      request.url.startsWith('https:')
    ) {
      const proxy = agent.proxy.href;
      let tunnelAgent = tunnelAgents.get(proxy);
      if (tunnelAgent === undefined) {
        tunnelAgent = new ProxyTunnelAgent(agent.proxy.href, { keepAlive: true, ...agentCaOptions() });
        tunnelAgents.set(proxy, tunnelAgent);
      }
      request.agent = tunnelAgent;
    }
    return next(request);
  },
};

/** The agent's extra CA (Agent.CAInfo) as TLS options; none when the agent has none. */
export function agentCaOptions(network: AgentNetwork = agentNetwork()): { ca?: string } {
  return network.caFile === undefined ? {} : { ca: fs.readFileSync(network.caFile, 'utf8') };
}

// ---------------------------------------------------------------------------------------------
// Adapter 2: child processes (kubectl)
// (The undici adapter is undiciDispatcher.ts: only the tasks that send requests with undici load it.)

/**
 * The proxy variables for a child process that will reach `urls` (kubectl and the cluster's API
 * server): the agent's proxy with its credentials as HTTPS_PROXY/HTTP_PROXY, and NO_PROXY naming the
 * hosts the agent's bypass list exempts (NO_PROXY takes host names, not the agent's expressions).
 * Without an agent proxy the environment's own variables pass through unchanged.
 */
export function childProcessProxyEnvironment(
  urls: readonly string[],
  network: AgentNetwork = agentNetwork(),
  inherited: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const proxy = network.proxy;
  if (proxy === undefined) return {};
  const bypassed = urls
    .filter((url) => agentProxyFor(url, network) === undefined)
    .map((url) => new URL(url).hostname);
  const existing = (inherited['NO_PROXY'] ?? inherited['no_proxy'] ?? '')
    .split(',')
    .map((host) => host.trim());
  const noProxy = [...new Set([...existing, ...bypassed].filter((host) => host !== ''))].join(',');
  const proxyUrl = withCredentials(proxy);
  return {
    HTTPS_PROXY: proxyUrl,
    https_proxy: proxyUrl,
    HTTP_PROXY: proxyUrl,
    http_proxy: proxyUrl,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
  };
}

/**
 * The agent proxy's password (Agent.ProxyPassword), and one written into the proxy URL itself
 * (`http://user:pass@proxy:8080`), as written and decoded.
 */
export function proxySecrets(
  config: Pick<tl.ProxyConfiguration, 'proxyUrl' | 'proxyPassword'> | null | undefined,
): string[] {
  const secrets = new Set<string>();
  if (config?.proxyPassword) secrets.add(config.proxyPassword);
  const urlPassword = passwordIn(config?.proxyUrl);
  if (urlPassword !== '') {
    secrets.add(urlPassword);
    secrets.add(decodeURIComponentOrAsIs(urlPassword));
  }
  return [...secrets];
}

function passwordIn(url: string | undefined): string {
  try {
    return url === undefined || url === '' ? '' : new URL(url).password;
  } catch {
    return '';
  }
}

function decodeURIComponentOrAsIs(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
