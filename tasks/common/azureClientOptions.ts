import type { PipelinePolicy, ProxySettings } from '@azure/core-rest-pipeline';
import { agentCaOptions, azureSdkProxySettings, proxyTunnelPolicy } from './proxy';
import { DEFAULT_RETRY, retryPolicy, type CallKind, type RetryHooks } from './retry';

/** Identifies our requests in Azure's logs. */
export const USER_AGENT_PREFIX = 'aks-delivery';

export interface AzureClientOptions {
  proxyOptions?: ProxySettings;
  retryOptions: { maxRetries: number };
  additionalPolicies: { policy: PipelinePolicy; position: 'perCall' | 'perRetry' }[];
  userAgentOptions: { userAgentPrefix: string };
  tlsOptions?: { ca: string };
}

/**
 * Options for every Azure SDK client (and @azure/identity credential) we create for `url`: the
 * agent's proxy with tunnels we open ourselves, our retries and per-try timeout for `kind` in place
 * of the SDK's own retries, and our user agent.
 */
export function azureClientOptions(url: string, kind: CallKind, hooks: RetryHooks = {}): AzureClientOptions {
  const proxyOptions = azureSdkProxySettings(url);
  const { ca } = agentCaOptions();
  return {
    ...(proxyOptions === undefined ? {} : { proxyOptions }),
    // Agent.CAInfo: trusted on direct connections too (through a proxy, the tunnel agent trusts it).
    ...(ca === undefined ? {} : { tlsOptions: { ca } }),
    retryOptions: { maxRetries: 0 },
    additionalPolicies: [
      { policy: retryPolicy(kind, DEFAULT_RETRY, hooks), position: 'perCall' },
      { policy: proxyTunnelPolicy, position: 'perRetry' },
    ],
    userAgentOptions: { userAgentPrefix: USER_AGENT_PREFIX },
  };
}
