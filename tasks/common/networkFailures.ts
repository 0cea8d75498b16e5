/**
 * The last failure of our own making (a proxy's refusal, a timeout) on the way to each host.
 * @azure/identity hands MSAL's account of a failed sign-in back as `network_error` with no cause
 * attached, so the reason, which names the proxy or the timeout, is looked up here by host instead.
 */
const lastFailureByHost = new Map<string, Error>();

export function recordNetworkFailure(host: string, error: Error): void {
  lastFailureByHost.set(host.toLowerCase(), error);
}

/** `host` may carry a port (`login.microsoftonline.com:443`); either form finds it. */
export function recentNetworkFailure(host: string): Error | undefined {
  const name = host.toLowerCase();
  return lastFailureByHost.get(name) ?? lastFailureByHost.get(name.replace(/:\d+$/, ''));
}

/** The host answered: an older failure no longer explains anything. */
export function forgetNetworkFailure(host: string): void {
  const name = host.toLowerCase();
  lastFailureByHost.delete(name);
  lastFailureByHost.delete(name.replace(/:\d+$/, ''));
}
