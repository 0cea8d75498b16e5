import { Agent, Dispatcher } from 'undici';
import { undiciDispatcher } from '../common/undiciDispatcher';

/** 127.0.0.0/8, ::1 and localhost: addresses on this agent, where a proxy could only get in the way. */
export function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Sends loopback requests (a `kubectl port-forward`) straight to the socket, everything else the way the
 * agent would (its proxy and bypass list, else HTTPS_PROXY / NO_PROXY). A proxy cannot reach the agent's
 * own loopback, and neither the agent's bypass list nor NO_PROXY has to name it.
 */
export class LoopbackDirectDispatcher extends Dispatcher {
  constructor(
    private readonly direct: Dispatcher = new Agent(),
    private readonly agentWay: Dispatcher = undiciDispatcher(),
  ) {
    super();
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const chosen = isLoopback(String(options.origin ?? '')) ? this.direct : this.agentWay;
    return chosen.dispatch(options, handler);
  }

  override async close(): Promise<void> {
    await Promise.all([this.direct.close(), this.agentWay.close()]);
  }

  override async destroy(): Promise<void> {
    await Promise.all([this.direct.destroy(), this.agentWay.destroy()]);
  }
}
