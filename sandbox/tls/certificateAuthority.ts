import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A PEM key pair; `certificate` may hold a chain. */
export interface KeyPair {
  readonly key: string;
  readonly certificate: string;
  readonly keyPath: string;
  readonly certificatePath: string;
}

/**
 * The host names every sandbox server answers to. One leaf certificate covers them all, so any
 * server can be routed any of these names by the proxy.
 */
export const SANDBOX_HOST_NAMES: readonly string[] = [
  'localhost',
  'login.microsoftonline.com',
  'management.azure.com',
  '*.vault.azure.net',
  '*.azurecr.io',
  '*.hcp.westeurope.azmk8s.io',
  '*.privatelink.westeurope.azmk8s.io',
  'vstoken.dev.azure.com',
  '*.vstoken.dev.azure.com',
  'dl.k8s.io',
  'cdn.dl.k8s.io',
];

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * A throw-away certificate authority in `directory`. We shell out to openssl because Node's crypto
 * cannot write X.509 certificates and openssl is on every Debian machine.
 */
export class CertificateAuthority {
  readonly root: KeyPair;
  private issued = 0;

  private constructor(
    private readonly directory: string,
    root: KeyPair,
  ) {
    this.root = root;
  }

  static create(directory: string): CertificateAuthority {
    fs.mkdirSync(directory, { recursive: true });
    openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'ca.key',
        '-out',
        'ca.crt',
        '-days',
        '3',
        '-subj',
        '/CN=aks-delivery sandbox CA',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      directory,
    );
    return new CertificateAuthority(directory, readPair(directory, 'ca'));
  }

  /** A server certificate for `hostNames` (DNS names or IP addresses) signed by this CA. */
  issueServerCertificate(hostNames: readonly string[] = SANDBOX_HOST_NAMES): KeyPair {
    const sans = [...hostNames.map((h) => (/^[\d.]+$/.test(h) ? `IP:${h}` : `DNS:${h}`)), 'IP:127.0.0.1'];
    return this.issue(hostNames[0] ?? 'localhost', [
      `subjectAltName=${sans.join(',')}`,
      'extendedKeyUsage=serverAuth',
      'keyUsage=critical,digitalSignature,keyEncipherment',
    ]);
  }

  /** A client certificate (e.g. for a service principal's certificate credential). RSA, as Entra expects. */
  issueClientCertificate(commonName: string): KeyPair {
    return this.issue(
      commonName,
      ['extendedKeyUsage=clientAuth', 'keyUsage=critical,digitalSignature'],
      'rsa',
    );
  }

  private issue(commonName: string, extensions: string[], keyType: 'ec' | 'rsa' = 'ec'): KeyPair {
    const name = `leaf${++this.issued}`;
    const keyArgs =
      keyType === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
    openssl(
      [
        'req',
        ...keyArgs,
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        `/CN=${commonName}`,
      ],
      this.directory,
    );
    fs.writeFileSync(path.join(this.directory, `${name}.ext`), extensions.join('\n') + '\n');
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      ],
      this.directory,
    );
    return readPair(this.directory, name);
  }
}

function readPair(directory: string, name: string): KeyPair {
  const keyPath = path.join(directory, `${name}.key`);
  const certificatePath = path.join(directory, `${name}.crt`);
  return {
    key: fs.readFileSync(keyPath, 'utf8'),
    certificate: fs.readFileSync(certificatePath, 'utf8'),
    keyPath,
    certificatePath,
  };
}
