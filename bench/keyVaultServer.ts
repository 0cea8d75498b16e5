// The bench's Key Vault, in a process of its own so that the sandbox's TLS work and the client's
// run on separate cores, as they would against the real service. Prints one JSON line with what a
// client needs, then serves until its standard input closes.
import { startSandbox } from '../sandbox';

/**
 * In direct mode the vault and Entra ID listen on port 443 of loopback addresses of their own, so a
 * client that resolves their host names there connects without the proxy and keeps its
 * connections alive, as it would against Azure. Port 443 needs root (or CAP_NET_BIND_SERVICE).
 */
export const DIRECT_ADDRESSES = { vault: '127.0.0.2', entra: '127.0.0.3' } as const;

export interface BenchVault {
  readonly proxyUrl: string;
  readonly caPem: string;
  readonly tenantId: string;
  readonly vaultUrl: string;
  readonly clientId: string;
  readonly secret: string;
}

async function main(): Promise<void> {
  const [secretCount = '500', latencyMs = '30', mode = 'proxy', throttleWindowMs = '0'] =
    process.argv.slice(2);
  const direct = mode === 'direct';
  // Sign-in and the 401 challenge are not what is measured: no latency or throttling on them.
  const measured = (request: { headers: { authorization?: string }; url?: string }): boolean =>
    request.headers.authorization !== undefined && /^\/secrets/.test(request.url ?? '');
  const sandbox = await startSandbox({
    services: ['entra', 'keyvault'],
    // With a throttling window its rule must come first (the first matching rule applies), so the
    // latency rule is added after it below instead of here.
    ...(Number(throttleWindowMs) > 0
      ? {}
      : { latency: { keyvault: { ms: Number(latencyMs), match: measured } } }),
    ...(direct
      ? {
          listen: {
            entra: { host: DIRECT_ADDRESSES.entra, port: 443 },
            keyvault: { host: DIRECT_ADDRESSES.vault, port: 443 },
          },
        }
      : {}),
  });
  const { base, entra, keyVault } = sandbox;
  if (Number(throttleWindowMs) > 0) {
    // Key Vault counts its limits over 10-second windows: a whole window of 429s, Retry-After 1.
    sandbox.faults.keyvault.add({
      match: measured,
      status429: { retryAfterSeconds: 1 },
      windowMs: Number(throttleWindowMs),
      latencyMs: Number(latencyMs),
    });
    sandbox.faults.keyvault.add({ match: measured, latencyMs: Number(latencyMs) });
  }
  entra.registerServicePrincipal({ clientId: 'bench-client', secret: 'bench-secret' });
  keyVault.createVault('bench-kv', { model: 'rbac', allowedPrincipals: ['bench-client'] });
  for (let i = 0; i < Number(secretCount); i++) keyVault.setSecret('bench-kv', `secret-${i}`, `value-${i}`);
  const vault: BenchVault = {
    proxyUrl: base.proxy.url,
    caPem: base.ca.root.certificate,
    tenantId: base.tenantId,
    vaultUrl: 'https://bench-kv.vault.azure.net',
    clientId: 'bench-client',
    secret: 'bench-secret',
  };
  console.log(JSON.stringify(vault));
  process.stdin.resume();
  process.stdin.on('end', () => {
    void sandbox.close();
  });
}

if (require.main === module) void main();
