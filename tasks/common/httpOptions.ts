import * as tl from 'azure-pipelines-task-lib/task';
import type { PipelinePolicy, ProxySettings } from '@azure/core-rest-pipeline';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { registerSecret } from './secrets';

/** Identifies our requests in Azure's logs. */
export const USER_AGENT_PREFIX = 'aks-delivery';

/**
 * The agent's proxy for `url` as Azure SDK proxy settings, or undefined when the agent has no proxy
 * or bypasses it for `url`. Undefined lets the SDK apply HTTPS_PROXY / NO_PROXY from the
 * environment itself, which is what we want when the agent is not configured.
 */
export function agentProxyFor(url: string): ProxySettings | undefined {
  const config = tl.getHttpProxyConfiguration(url);
  if (config?.proxyPassword) registerSecret(config.proxyPassword);
  return toProxySettings(config);
}

/** task-lib's proxy configuration as Azure SDK proxy settings. */
export function toProxySettings(config: tl.ProxyConfiguration | null): ProxySettings | undefined {
  if (config === null || config.proxyUrl === '') return undefined;
  const proxy = new URL(config.proxyUrl);
  return {
    host: `${proxy.protocol}//${proxy.hostname}`,
    port: Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80)),
    username: config.proxyUsername || undefined,
    password: config.proxyPassword || undefined,
  };
}

/**
 * The SDK tunnels each HTTPS request through a proxy with an HttpsProxyAgent that never reuses a
 * tunnel: a CONNECT and a TLS handshake per request, three times slower for a Key Vault of 500
 * secrets. It is built without keepAlive, and even with keepAlive, agent-base names a tunnel by
 * https rules while connecting it but by http rules when it is freed, unless the request options
 * say the endpoint is secure, and the SDK's do not. This agent is only used for https: URLs.
 */
class PooledTunnelAgent extends HttpsProxyAgent<string> {
  override isSecureEndpoint(): boolean {
    return true;
  }
}

const pooledTunnelAgents = new Map<string, PooledTunnelAgent>();

/**
 * Runs after the SDK's proxy policy and swaps the agent it chose for one that keeps tunnels alive
 * through the same proxy: which proxy, and which hosts bypass it, stay the SDK's decision.
 */
export const pooledProxyTunnelPolicy: PipelinePolicy = {
  name: 'aksDeliveryPooledProxyTunnels',
  sendRequest(request, next) {
    const agent = request.agent;
    if (
      agent instanceof HttpsProxyAgent &&
      !(agent instanceof PooledTunnelAgent) &&
      request.url.startsWith('https:')
    ) {
      const proxy = agent.proxy.href;
      let pooled = pooledTunnelAgents.get(proxy);
      if (pooled === undefined) {
        pooled = new PooledTunnelAgent(agent.proxy, { keepAlive: true });
        pooledTunnelAgents.set(proxy, pooled);
      }
      request.agent = pooled;
    }
    return next(request);
  },
};

/** Options shared by every Azure SDK client we create for `url`: proxy, pooled tunnels, user agent. */
export function azureClientOptions(url: string): {
  proxyOptions?: ProxySettings;
  additionalPolicies: { policy: PipelinePolicy; position: 'perCall' | 'perRetry' }[];
  userAgentOptions: { userAgentPrefix: string };
} {
  const proxyOptions = agentProxyFor(url);
  return {
    ...(proxyOptions === undefined ? {} : { proxyOptions }),
    additionalPolicies: [{ policy: pooledProxyTunnelPolicy, position: 'perRetry' }],
    userAgentOptions: { userAgentPrefix: USER_AGENT_PREFIX },
  };
}
