import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startProxy, type RunningProxy } from './proxy';
import { CertificateAuthority, type KeyPair } from './tls/certificateAuthority';
import { TokenAuthority } from './entra/accessTokens';

/** What every sandbox part needs: a temp folder, the CA and server certificate, the proxy, the token key. */
export interface SandboxBase {
  readonly directory: string;
  readonly ca: CertificateAuthority;
  /** One certificate for all sandbox host names (see SANDBOX_HOST_NAMES). */
  readonly serverTls: KeyPair;
  readonly proxy: RunningProxy;
  readonly tokens: TokenAuthority;
  readonly tenantId: string;
  readonly subscriptionId: string;
  /** Environment a client process needs to reach the sandbox: HTTPS_PROXY, NODE_EXTRA_CA_CERTS, … */
  readonly clientEnvironment: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

export const SANDBOX_TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const SANDBOX_SUBSCRIPTION_ID = 'c3a5e8f0-1d2b-4c6a-9e7f-0a1b2c3d4e5f';

export async function startBase(): Promise<SandboxBase> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'aks-delivery-sandbox-'));
  const ca = CertificateAuthority.create(path.join(directory, 'pki'));
  const serverTls = ca.issueServerCertificate();
  const proxy = await startProxy();
  return {
    directory,
    ca,
    serverTls,
    proxy,
    tokens: new TokenAuthority(),
    tenantId: SANDBOX_TENANT_ID,
    subscriptionId: SANDBOX_SUBSCRIPTION_ID,
    clientEnvironment: {
      HTTPS_PROXY: proxy.url,
      https_proxy: proxy.url,
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
      NODE_EXTRA_CA_CERTS: ca.root.certificatePath,
      SSL_CERT_FILE: ca.root.certificatePath,
    },
    close: async () => {
      await proxy.close();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
