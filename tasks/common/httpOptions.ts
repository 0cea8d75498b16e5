import * as tl from 'azure-pipelines-task-lib/task';
import type { ProxySettings } from '@azure/core-rest-pipeline';
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

/** Options shared by every Azure SDK client we create for `url`: proxy and user agent. */
export function azureClientOptions(url: string): {
  proxyOptions?: ProxySettings;
  userAgentOptions: { userAgentPrefix: string };
} {
  const proxyOptions = agentProxyFor(url);
  return {
    ...(proxyOptions === undefined ? {} : { proxyOptions }),
    userAgentOptions: { userAgentPrefix: USER_AGENT_PREFIX },
  };
}
