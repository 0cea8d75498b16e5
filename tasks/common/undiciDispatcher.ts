// The agent's network (proxy.ts) as an undici dispatcher, for the tasks that send their requests with
// undici. A module of its own so that a task without undici requests (DeployAksTemplate) neither
// bundles nor loads undici.
import { Agent as UndiciAgent, Dispatcher, ProxyAgent, EnvHttpProxyAgent } from 'undici';
import { agentCaOptions, agentNetwork, agentProxyFor, type AgentNetwork } from './proxy';

/**
 * An undici dispatcher that sends each request the way the agent would: through the agent's proxy
 * unless the URL is on its bypass list; without an agent proxy, by HTTPS_PROXY / HTTP_PROXY /
 * NO_PROXY from the environment. Connections are kept alive. Agent.CAInfo is trusted.
 */
export function undiciDispatcher(network: AgentNetwork = agentNetwork()): Dispatcher {
  const { ca } = agentCaOptions(network);
  const connect = ca === undefined ? {} : { connect: { ca } };
  if (network.proxy === undefined) return new EnvHttpProxyAgent({ ...connect });
  const direct = new UndiciAgent({ ...connect });
  const proxy = network.proxy;
  const viaProxy = new ProxyAgent({
    uri: proxy.url,
    ...(proxy.username === undefined && proxy.password === undefined
      ? {}
      : {
          token: `Basic ${Buffer.from(`${proxy.username ?? ''}:${proxy.password ?? ''}`).toString('base64')}`,
        }),
    ...(ca === undefined ? {} : { requestTls: { ca }, proxyTls: { ca } }),
  });
  return new BypassAwareDispatcher(network, direct, viaProxy);
}

class BypassAwareDispatcher extends Dispatcher {
  constructor(
    private readonly network: AgentNetwork,
    private readonly direct: Dispatcher,
    private readonly viaProxy: Dispatcher,
  ) {
    super();
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const url = `${String(options.origin ?? '')}${options.path}`;
    const chosen = agentProxyFor(url, this.network) === undefined ? this.direct : this.viaProxy;
    return chosen.dispatch(options, handler);
  }

  override async close(): Promise<void> {
    await Promise.all([this.direct.close(), this.viaProxy.close()]);
  }

  override async destroy(): Promise<void> {
    await Promise.all([this.direct.destroy(), this.viaProxy.destroy()]);
  }
}
