import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SandboxBase } from '../base';
import { pathOf, startHttpsServer } from '../httpsServer';
import type { SandboxService } from '../service';

export interface KubectlDownloadsOptions {
  /** What `/release/stable.txt` answers. Default `v1.32.4`. */
  readonly stableVersion?: string;
  /** The file served as every kubectl version. Default: `kubectl` on PATH, else /usr/bin/kubectl. */
  readonly binaryPath?: string;
  /**
   * dl.k8s.io answers 302 to the same path on cdn.dl.k8s.io, as the real one does, so clients must
   * follow redirects. Default true; false serves the files on dl.k8s.io directly.
   */
  readonly redirectToCdn?: boolean;
}

export interface DownloadRequestRecord {
  readonly method: string;
  readonly host: string;
  readonly path: string;
  status: number;
}

export interface KubectlDownloads extends SandboxService {
  /** `v1.32.4`; change it with setStableVersion. */
  readonly stableVersion: string;
  setStableVersion(version: string): void;
  readonly binaryPath: string;
  /** Hex SHA-256 of the served binary (what the `.sha256` files contain). */
  readonly binarySha256: string;
  /** `linux/amd64` on this machine: the only platform served. */
  readonly platform: string;
  readonly requests: readonly DownloadRequestRecord[];
  readonly port: number;
  close(): Promise<void>;
}

/** Where a kubectl binary lives on this machine. */
export function findLocalKubectl(): string {
  for (const directory of (process.env.PATH ?? '').split(path.delimiter)) {
    if (directory === '') continue;
    const candidate = path.join(directory, 'kubectl');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return '/usr/bin/kubectl';
}

function goArch(): string {
  const arch = os.arch();
  return arch === 'x64' ? 'amd64' : arch === 'arm64' ? 'arm64' : arch;
}

/**
 * A stand-in for the Kubernetes release download site: `dl.k8s.io` and `cdn.dl.k8s.io` routed on
 * the sandbox proxy. Any requested version gets this machine's kubectl binary (the bytes do not
 * change with the version in the URL); other platforms get 404, like a version that does not exist.
 */
export async function startKubectlDownloads(
  base: SandboxBase,
  options: KubectlDownloadsOptions = {},
): Promise<KubectlDownloads> {
  let stableVersion = options.stableVersion ?? 'v1.32.4';
  const binaryPath = options.binaryPath ?? findLocalKubectl();
  const redirect = options.redirectToCdn ?? true;
  const platform = `${process.platform}/${goArch()}`;
  const binarySha256 = await new Promise<string>((resolve, reject) => {
    const hash = crypto.createHash('sha256');
    fs.createReadStream(binaryPath)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
  const binarySize = fs.statSync(binaryPath).size;
  const requests: DownloadRequestRecord[] = [];

  const server = await startHttpsServer(base.serverTls, (request, response) => {
    const host = (request.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    const urlPath = pathOf(request);
    const record: DownloadRequestRecord = { method: request.method ?? 'GET', host, path: urlPath, status: 0 };
    requests.push(record);
    response.on('close', () => {
      record.status = response.statusCode;
    });
    const text = (status: number, body: string, type = 'text/plain'): void => {
      response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      response.end(request.method === 'HEAD' ? undefined : body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'Method Not Allowed\n');
    if (redirect && host === 'dl.k8s.io') {
      response.writeHead(302, {
        location: `https://cdn.dl.k8s.io${request.url ?? '/'}`,
        'content-length': 0,
      });
      response.end();
      return;
    }
    const marker = /^\/release\/(stable|latest)(?:-(\d+)\.(\d+))?\.txt$/.exec(urlPath);
    if (marker !== null) {
      // The real files have no trailing newline.
      // stable-1.31.txt: the stable version when it is on that minor, else the minor's .0 release.
      const wanted = marker[2] === undefined ? undefined : `v${marker[2]}.${marker[3] ?? '0'}`;
      return text(
        200,
        wanted === undefined || stableVersion.startsWith(`${wanted}.`) ? stableVersion : `${wanted}.0`,
      );
    }
    const binary =
      /^\/release\/(v\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)\/bin\/([^/]+)\/([^/]+)\/kubectl(\.sha256|\.sha512)?$/.exec(
        urlPath,
      );
    if (binary === null || `${binary[2] ?? ''}/${binary[3] ?? ''}` !== platform) {
      // What the real bucket answers for a missing object.
      return text(
        404,
        "<?xml version='1.0' encoding='UTF-8'?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>",
        'application/xml; charset=UTF-8',
      );
    }
    if (binary[4] === '.sha256') return text(200, binarySha256);
    if (binary[4] === '.sha512') {
      return text(200, crypto.createHash('sha512').update(fs.readFileSync(binaryPath)).digest('hex'));
    }
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': binarySize });
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    const stream = fs.createReadStream(binaryPath);
    stream.on('error', () => response.destroy());
    stream.pipe(response);
  });
  const routes = ['dl.k8s.io', 'cdn.dl.k8s.io'];
  for (const host of routes) base.proxy.route(host, server.port);

  return {
    get stableVersion() {
      return stableVersion;
    },
    setStableVersion: (version) => {
      stableVersion = version;
    },
    binaryPath,
    binarySha256,
    platform,
    requests,
    urls: [server.url],
    routes,
    port: server.port,
    close: () => server.close(),
  };
}
