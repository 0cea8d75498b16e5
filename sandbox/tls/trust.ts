// The default import is the module object itself: `import * as` would give a copy made of
// getters (esModuleInterop), and patching that copy would not reach tls.connect.
import tls from 'node:tls';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import type { SandboxBase } from '../base';

/**
 * Makes in-process TLS clients trust extra certificate authorities.
 *
 * Why not NODE_EXTRA_CA_CERTS: Node reads it once at start-up, and the sandbox CA is created by the
 * test itself. Why not the SDK's `tlsOptions`: @azure/core-rest-pipeline ignores TLS settings when a
 * proxy is in use ("TLS settings are not supported in combination with custom Proxy"), and production
 * code builds its clients without such options anyway.
 *
 * How: a TLS client without a `secureContext` gets one from `tls.createSecureContext`, looked up on
 * the module object at call time (tls.connect, so https.Agent and https-proxy-agent too). We wrap it.
 * For the usual client call, which sets nothing that shapes the context, we hand out one shared
 * context trusting the bundled roots, NODE_EXTRA_CA_CERTS and the extra authorities: building a
 * context from ~300 PEMs costs 35-70 ms, too much per connection, so it is built once per change.
 * Calls that set context options of their own (servers, client certificates) get their own context
 * with the extra authorities added through `SecureContext.context.addCACert`, what Node itself does
 * for the `ca` option; such a context trusts the bundled roots but no longer NODE_EXTRA_CA_CERTS.
 */
const extraAuthorities: string[] = [];
let originalCreateSecureContext: typeof tls.createSecureContext | undefined;
let sharedClientContext: tls.SecureContext | undefined;

/** Options of tls.createSecureContext that change the context; anything else is per connection. */
const CONTEXT_SHAPING_OPTIONS = [
  'ca',
  'cert',
  'key',
  'pfx',
  'passphrase',
  'crl',
  'ciphers',
  'ecdhCurve',
  'dhparam',
  'honorCipherOrder',
  'secureOptions',
  'secureProtocol',
  'minVersion',
  'maxVersion',
  'sigalgs',
  'privateKeyIdentifier',
  'privateKeyEngine',
  'clientCertEngine',
  'ticketKeys',
  'sessionTimeout',
  'sessionIdContext',
] as const;

/** What NODE_EXTRA_CA_CERTS named when this module loaded (the closest we get to Node's start-up value). */
const startupExtraCertificates: string[] = readCertificates(process.env.NODE_EXTRA_CA_CERTS);

function readCertificates(file: string | undefined): string[] {
  if (file === undefined || file === '') return [];
  try {
    return (
      fs.readFileSync(file, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ??
      []
    );
  } catch {
    return [];
  }
}

interface NativeSecureContext {
  addCACert(pem: string): void;
}

function install(): void {
  if (originalCreateSecureContext !== undefined) return;
  const original = tls.createSecureContext;
  originalCreateSecureContext = original;
  tls.createSecureContext = (options) => {
    // tls.connect always passes `ciphers`, filled with the default list.
    const shaped =
      options !== undefined &&
      CONTEXT_SHAPING_OPTIONS.some(
        (name) =>
          options[name] !== undefined && !(name === 'ciphers' && options.ciphers === tls.DEFAULT_CIPHERS),
      );
    if (!shaped) {
      sharedClientContext ??= original({
        ca: [...tls.rootCertificates, ...startupExtraCertificates, ...extraAuthorities],
      });
      return sharedClientContext;
    }
    const context = original(options);
    if (options.ca === undefined) {
      const native = context.context as NativeSecureContext;
      for (const pem of extraAuthorities) native.addCACert(pem);
    }
    return context;
  };
}

function uninstall(): void {
  if (originalCreateSecureContext === undefined) return;
  tls.createSecureContext = originalCreateSecureContext;
  originalCreateSecureContext = undefined;
}

/**
 * Trusts `certificatePem` for new TLS client connections in this process until the returned function
 * is called. Connections already open (kept-alive sockets) keep their context.
 */
export function trustCertificateAuthority(certificatePem: string): () => void {
  extraAuthorities.push(certificatePem);
  sharedClientContext = undefined;
  install();
  return () => {
    const index = extraAuthorities.indexOf(certificatePem);
    if (index >= 0) extraAuthorities.splice(index, 1);
    sharedClientContext = undefined;
    if (extraAuthorities.length === 0) uninstall();
  };
}

const PROXY_VARIABLES = [
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
  'ALL_PROXY',
  'all_proxy',
  'NO_PROXY',
  'no_proxy',
] as const;

/**
 * Points in-process Azure SDK clients at the sandbox: trusts its CA and sets HTTPS_PROXY. Returns a
 * function that restores the previous environment.
 *
 * The SDK reads HTTPS_PROXY when a client (its pipeline) is constructed, so construct clients after
 * this call. It reads NO_PROXY only once per process, when the first client is built, and keeps
 * that list: set here as in `clientEnvironment` (loopback only), it cannot be changed later.
 */
export function useSandboxInProcess(base: SandboxBase): () => void {
  const saved = new Map<string, string | undefined>(PROXY_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of PROXY_VARIABLES) delete process.env[name];
  process.env.HTTPS_PROXY = base.proxy.url;
  process.env.NO_PROXY = base.clientEnvironment.NO_PROXY ?? '127.0.0.1,localhost';
  const untrust = trustCertificateAuthority(base.ca.root.certificate);
  return () => {
    untrust();
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/**
 * One HTTPS request to a sandbox host name through the sandbox proxy, without any SDK: for tests
 * that need to see exact status lines, headers and bodies. Needs the CA trusted (see above).
 */
export async function requestThroughProxy(
  base: SandboxBase,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  const target = new URL(url);
  const port = target.port === '' ? 443 : Number(target.port);
  const tunnel = await new Promise<net.Socket>((resolve, reject) => {
    const connect = http.request({
      host: '127.0.0.1',
      port: base.proxy.port,
      method: 'CONNECT',
      path: `${target.hostname}:${port}`,
    });
    connect.once('connect', (response, socket) => {
      if (response.statusCode === 200) resolve(socket);
      else {
        socket.destroy();
        reject(new Error(`proxy refused CONNECT ${target.hostname}:${port}: ${response.statusCode ?? 0}`));
      }
    });
    connect.once('error', reject);
    connect.end();
  });
  return new Promise<RawResponse>((resolve, reject) => {
    const request = https.request(
      {
        method: init.method ?? 'GET',
        host: target.hostname,
        path: `${target.pathname}${target.search}`,
        headers: init.headers,
        createConnection: () => tls.connect({ socket: tunnel, servername: target.hostname }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          tunnel.destroy();
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        response.on('error', reject);
      },
    );
    request.on('error', (error) => {
      tunnel.destroy();
      reject(error);
    });
    request.end(init.body);
  });
}
