import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Readable } from 'node:stream';

/**
 * A real Debian `docker-registry` (distribution 2.8) on a loopback port.
 *
 * It listens on plain HTTP: the ACR front (acr.ts) terminates TLS for `<name>.azurecr.io` and must
 * read every request anyway (ACR's token auth, tag locks, request records), so a second TLS hop
 * would only cost time and one more trust set-up. The port is bound to 127.0.0.1 and never routed
 * by the sandbox proxy, so nothing but the front (and server-side import) reaches it.
 */
export interface RealRegistry {
  /** The docker-registry process id (for tests that check it is gone after close). */
  readonly pid: number;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The registry's storage root (`storage.filesystem.rootdirectory`). */
  readonly storageDirectory: string;
  /** Read-only view of what the registry stored, for ACR's metadata API. */
  readonly storage: RegistryStorage;
  /** Its own endpoint, for the distribution-API helpers below. */
  readonly endpoint: RegistryEndpoint;
  /** Stops the process (SIGTERM, then SIGKILL) and waits for it to exit. Storage is left in place. */
  close(): Promise<void>;
}

const INSTALL_HINT = "install Debian's docker-registry (apt-get install docker-registry)";

/** The `docker-registry` executable on `searchPath`, or an error that says how to get it. */
export function findDockerRegistry(searchPath: string = process.env.PATH ?? '/usr/bin:/bin'): string {
  for (const directory of searchPath.split(path.delimiter).filter((d) => d !== '')) {
    const candidate = path.join(directory, 'docker-registry');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // try the next PATH entry
    }
  }
  throw new Error(`docker-registry was not found on PATH: ${INSTALL_HINT}`);
}

/** A free loopback port. Another process may take it before we bind it: startRegistry retries. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function configYaml(storageDirectory: string, port: number): string {
  // JSON is YAML: no quoting surprises with temp paths.
  return JSON.stringify(
    {
      version: 0.1,
      log: { level: 'error', accesslog: { disabled: true } },
      storage: {
        filesystem: { rootdirectory: storageDirectory },
        delete: { enabled: true },
        // The purge would remove uploads a slow test still uses; no blob-descriptor cache, so a
        // blob deleted by a test is really gone for the next HEAD.
        maintenance: { uploadpurging: { enabled: false } },
      },
      http: {
        addr: `127.0.0.1:${port}`,
        // @azure/container-registry does `location.substring(1)` on upload Locations: they must be
        // relative. It also keeps Location headers right behind the front without rewriting.
        relativeurls: true,
        secret: crypto.randomBytes(16).toString('hex'),
      },
    },
    null,
    2,
  );
}

/**
 * Starts `docker-registry serve` with storage in `directory` (created), on a free loopback port, and
 * waits until `GET /v2/` answers.
 */
export async function startRegistry(directory: string): Promise<RealRegistry> {
  const executable = findDockerRegistry();
  const storageDirectory = path.join(directory, 'storage');
  fs.mkdirSync(storageDirectory, { recursive: true });
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const configPath = path.join(directory, 'config.yml');
    fs.writeFileSync(configPath, configYaml(storageDirectory, port));
    try {
      const child = await launch(executable, configPath, port);
      return registryHandle(child, port, storageDirectory);
    } catch (error: unknown) {
      lastError = error;
      // Only a lost race for the port is worth another try.
      if (!/address already in use/i.test(String(error))) break;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

async function launch(executable: string, configPath: string, port: number): Promise<ChildProcess> {
  const child = spawn(executable, ['serve', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    // Keep the tail only: a long-running registry must not grow this forever.
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) =>
      resolve(`docker-registry exited (${code ?? signal ?? '?'}): ${stderr.trim()}`),
    );
    child.once('error', (error: NodeJS.ErrnoException) =>
      resolve(
        error.code === 'ENOENT' ? `docker-registry could not be started: ${INSTALL_HINT}` : String(error),
      ),
    );
  });
  let failure: string | undefined;
  void exited.then((message) => (failure = message));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (failure !== undefined) throw new Error(failure);
    if (await answers(port)) return child;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill('SIGKILL');
  throw new Error(`docker-registry did not answer on 127.0.0.1:${port} within 10 s: ${stderr.trim()}`);
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/v2/', agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('error', () => resolve(false));
    request.setTimeout(1000, () => request.destroy());
  });
}

/**
 * Registries still running. Should the test process end without close() (a crash, process.exit),
 * one 'exit' listener takes them along: such listeners run synchronously, and kill() is synchronous.
 */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function registryHandle(child: ChildProcess, port: number, storageDirectory: string): RealRegistry {
  const exit = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  running.add(child);
  void exit.then(() => running.delete(child));
  const endpoint: RegistryEndpoint = { port, host: `127.0.0.1:${port}` };
  return {
    pid: child.pid ?? 0,
    port,
    url: `http://127.0.0.1:${port}`,
    storageDirectory,
    storage: new RegistryStorage(storageDirectory),
    endpoint,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exit;
        clearTimeout(killer);
      }
    },
  };
}

// --- the registry's storage, read directly ------------------------------------------------------

export interface StoredTag {
  readonly name: string;
  readonly digest: string;
  readonly createdOn: Date;
  readonly lastUpdatedOn: Date;
}

export interface StoredManifest {
  readonly digest: string;
  readonly createdOn: Date;
  readonly lastUpdatedOn: Date;
}

/**
 * What docker-registry keeps on disk (distribution's `docker/registry/v2` layout), read directly.
 * The distribution API cannot list a repository's manifests or say when a tag was set, and ACR's
 * `/acr/v1/...` metadata API needs both; reading the registry's own files keeps one source of truth.
 */
export class RegistryStorage {
  private readonly root: string;

  constructor(storageDirectory: string) {
    this.root = path.join(storageDirectory, 'docker', 'registry', 'v2');
  }

  /** Repositories holding at least one manifest, sorted (blob-only upload leftovers do not count). */
  repositories(): string[] {
    const found: string[] = [];
    const walk = (relative: string): void => {
      const absolute = path.join(this.root, 'repositories', relative);
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(absolute, { withFileTypes: true });
      } catch {
        return;
      }
      if (relative !== '' && this.manifests(relative).length > 0) found.push(relative);
      for (const entry of entries) {
        if (entry.isDirectory() && !entry.name.startsWith('_'))
          walk(relative === '' ? entry.name : `${relative}/${entry.name}`);
      }
    };
    walk('');
    return found.sort();
  }

  /** Manifests of a repository (its revision links), oldest first. */
  manifests(repository: string): StoredManifest[] {
    const directory = path.join(this.repositoryDirectory(repository), '_manifests', 'revisions', 'sha256');
    const manifests: StoredManifest[] = [];
    for (const hex of listDirectory(directory)) {
      // A deleted manifest leaves its directory behind without the link.
      const stat = statOrUndefined(path.join(directory, hex, 'link'));
      if (stat !== undefined)
        manifests.push({ digest: `sha256:${hex}`, createdOn: stat.mtime, lastUpdatedOn: stat.mtime });
    }
    return manifests.sort((a, b) => a.createdOn.getTime() - b.createdOn.getTime());
  }

  hasManifest(repository: string, digest: string): boolean {
    const hex = hexOf(digest);
    return (
      hex !== undefined &&
      statOrUndefined(
        path.join(this.repositoryDirectory(repository), '_manifests', 'revisions', 'sha256', hex, 'link'),
      ) !== undefined
    );
  }

  /** Tags of a repository, sorted by name. */
  tags(repository: string): StoredTag[] {
    const directory = path.join(this.repositoryDirectory(repository), '_manifests', 'tags');
    const tags: StoredTag[] = [];
    for (const name of listDirectory(directory)) {
      const tag = this.tag(repository, name);
      if (tag !== undefined) tags.push(tag);
    }
    return tags.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  tag(repository: string, name: string): StoredTag | undefined {
    if (name.includes('/') || name.startsWith('.')) return undefined;
    const tagDirectory = path.join(this.repositoryDirectory(repository), '_manifests', 'tags', name);
    const current = path.join(tagDirectory, 'current', 'link');
    const stat = statOrUndefined(current);
    if (stat === undefined) return undefined;
    const digest = fs.readFileSync(current, 'utf8').trim();
    // Every digest the tag ever pointed at has an index link: the oldest is when the tag was born.
    const indexDirectory = path.join(tagDirectory, 'index', 'sha256');
    const born = listDirectory(indexDirectory)
      .map((hex) => statOrUndefined(path.join(indexDirectory, hex, 'link'))?.mtime.getTime() ?? Infinity)
      .reduce((a, b) => Math.min(a, b), stat.mtime.getTime());
    return { name, digest, createdOn: new Date(born), lastUpdatedOn: stat.mtime };
  }

  /**
   * Removes a tag the way distribution's own untag does (the tag folder). The distribution API
   * cannot delete a tag without deleting its manifest; ACR's `DELETE /acr/v1/<repo>/_tags/<tag>` can.
   */
  deleteTag(repository: string, name: string): boolean {
    if (this.tag(repository, name) === undefined) return false;
    fs.rmSync(path.join(this.repositoryDirectory(repository), '_manifests', 'tags', name), {
      recursive: true,
      force: true,
    });
    return true;
  }

  /** A blob's bytes (manifests are blobs too), or undefined. */
  readBlob(digest: string): Buffer | undefined {
    const file = this.blobPath(digest);
    if (file === undefined) return undefined;
    try {
      return fs.readFileSync(file);
    } catch {
      return undefined;
    }
  }

  blobSize(digest: string): number | undefined {
    const file = this.blobPath(digest);
    return file === undefined ? undefined : statOrUndefined(file)?.size;
  }

  private blobPath(digest: string): string | undefined {
    const hex = hexOf(digest);
    return hex === undefined
      ? undefined
      : path.join(this.root, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
  }

  private repositoryDirectory(repository: string): string {
    // Repository names were validated by the caller's route regex; refuse anything that walks out.
    if (
      repository
        .split('/')
        .some((part) => part === '' || part === '.' || part === '..' || part.startsWith('_'))
    ) {
      return path.join(this.root, 'repositories', '_invalid_');
    }
    return path.join(this.root, 'repositories', ...repository.split('/'));
  }
}

function hexOf(digest: string): string | undefined {
  return /^sha256:([0-9a-f]{64})$/.exec(digest)?.[1];
}

function listDirectory(directory: string): string[] {
  try {
    return fs.readdirSync(directory);
  } catch {
    return [];
  }
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}

// --- a minimal distribution-API client ----------------------------------------------------------

/** Where to send distribution-API requests: a real registry directly, or the ACR front. */
export interface RegistryEndpoint {
  readonly port: number;
  /** The Host header, e.g. `contosoprod.azurecr.io` or `127.0.0.1:<port>`. */
  readonly host: string;
  /** HTTPS with this CA and SNI name; plain HTTP when absent. */
  readonly tls?: { readonly ca: string; readonly servername: string };
  /** Sent as the Authorization header. */
  readonly authorization?: string;
}

export interface RegistryResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface RegistryRequestOptions {
  readonly headers?: Readonly<Record<string, string | number>>;
  /** A Buffer, or a stream (then give `content-length` in headers to avoid chunked uploads). */
  readonly body?: Buffer | Readable;
}

/** One request; the response stays a stream (for blobs). */
export function registryStream(
  endpoint: RegistryEndpoint,
  method: string,
  requestPath: string,
  options: RegistryRequestOptions = {},
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { host: endpoint.host, ...options.headers };
    if (endpoint.authorization !== undefined) headers.authorization = endpoint.authorization;
    if (Buffer.isBuffer(options.body)) headers['content-length'] = options.body.length;
    else if (options.body === undefined && ['PUT', 'POST', 'PATCH'].includes(method))
      headers['content-length'] = 0;
    const common = { host: '127.0.0.1', port: endpoint.port, method, path: requestPath, headers };
    const request =
      endpoint.tls === undefined
        ? http.request(common)
        : https.request({ ...common, ca: endpoint.tls.ca, servername: endpoint.tls.servername });
    request.once('response', resolve);
    request.once('error', reject);
    const body = options.body;
    if (body === undefined) request.end();
    else if (Buffer.isBuffer(body)) request.end(body);
    else {
      body.once('error', (error) => request.destroy(error));
      body.pipe(request);
    }
  });
}

/** One request with the whole response body read. */
export async function registryRequest(
  endpoint: RegistryEndpoint,
  method: string,
  requestPath: string,
  options: RegistryRequestOptions = {},
): Promise<RegistryResponse> {
  const response = await registryStream(endpoint, method, requestPath, options);
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return { status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) };
}

function expectStatus(response: RegistryResponse, expected: number[], what: string): void {
  if (!expected.includes(response.status)) {
    throw new Error(`${what}: HTTP ${response.status} ${response.body.toString('utf8').slice(0, 500)}`);
  }
}

/** Every manifest media type the sandbox deals in: ask for all, or docker-registry answers 404. */
export const MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
] as const;

export function sha256Digest(data: Buffer): string {
  return `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
}

export async function blobExists(
  endpoint: RegistryEndpoint,
  repository: string,
  digest: string,
): Promise<boolean> {
  const response = await registryRequest(endpoint, 'HEAD', `/v2/${repository}/blobs/${digest}`);
  return response.status === 200;
}

/**
 * Uploads a blob in one monolithic PUT (POST to open the upload, PUT with `?digest=`). A stream
 * body needs its size. Skips blobs the repository already has (one HEAD), unless told not to look.
 */
export async function uploadBlob(
  endpoint: RegistryEndpoint,
  repository: string,
  blob: {
    readonly digest: string;
    readonly size: number;
    readonly content: Buffer | (() => Promise<Readable>);
  },
  options: { readonly skipExisting?: boolean } = {},
): Promise<void> {
  if (options.skipExisting !== false && (await blobExists(endpoint, repository, blob.digest))) return;
  const opened = await registryRequest(endpoint, 'POST', `/v2/${repository}/blobs/uploads/`);
  expectStatus(opened, [202], `opening an upload in ${repository}`);
  const location = String(opened.headers.location ?? '');
  const target = new URL(location, 'http://registry.invalid');
  target.searchParams.set('digest', blob.digest);
  const body = Buffer.isBuffer(blob.content) ? blob.content : await blob.content();
  const put = await registryRequest(endpoint, 'PUT', `${target.pathname}${target.search}`, {
    headers: { 'content-type': 'application/octet-stream', 'content-length': blob.size },
    body,
  });
  expectStatus(put, [201], `uploading ${blob.digest} to ${repository}`);
}

export interface FetchedManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly body: Buffer;
}

export async function getManifest(
  endpoint: RegistryEndpoint,
  repository: string,
  reference: string,
): Promise<FetchedManifest | undefined> {
  const response = await registryRequest(endpoint, 'GET', `/v2/${repository}/manifests/${reference}`, {
    headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') },
  });
  if (response.status === 404) return undefined;
  expectStatus(response, [200], `getting manifest ${repository}:${reference}`);
  return {
    digest: sha256Digest(response.body),
    mediaType: String(response.headers['content-type'] ?? '').split(';')[0] ?? '',
    body: response.body,
  };
}

/** PUTs a manifest by tag or digest; returns the digest and the response headers (OCI-Subject…). */
export async function putManifest(
  endpoint: RegistryEndpoint,
  repository: string,
  reference: string,
  mediaType: string,
  body: Buffer,
): Promise<{ digest: string; headers: http.IncomingHttpHeaders }> {
  const response = await registryRequest(endpoint, 'PUT', `/v2/${repository}/manifests/${reference}`, {
    headers: { 'content-type': mediaType },
    body,
  });
  expectStatus(response, [201], `putting manifest ${repository}:${reference}`);
  return {
    digest: String(response.headers['docker-content-digest'] ?? sha256Digest(body)),
    headers: response.headers,
  };
}

interface DescriptorLike {
  readonly mediaType?: string;
  readonly digest: string;
  readonly size: number;
}

interface ManifestLike {
  readonly mediaType?: string;
  readonly manifests?: readonly DescriptorLike[];
  readonly config?: DescriptorLike;
  readonly layers?: readonly DescriptorLike[];
}

/**
 * Copies one artifact by digest with everything it references (every platform of an index; config
 * and layers), blobs before manifests, children before parents. Streams blobs; within one registry
 * it mounts them across repositories instead. Returns the digests of the manifests copied.
 */
export async function copyArtifact(
  source: RegistryEndpoint,
  sourceRepository: string,
  target: RegistryEndpoint,
  targetRepository: string,
  digest: string,
): Promise<string[]> {
  const manifest = await getManifest(source, sourceRepository, digest);
  if (manifest === undefined) throw new Error(`manifest ${sourceRepository}@${digest} not found`);
  const parsed = JSON.parse(manifest.body.toString('utf8')) as ManifestLike;
  const copied: string[] = [];
  if (parsed.manifests !== undefined) {
    for (const child of parsed.manifests) {
      copied.push(...(await copyArtifact(source, sourceRepository, target, targetRepository, child.digest)));
    }
  } else {
    const blobs = [...(parsed.config === undefined ? [] : [parsed.config]), ...(parsed.layers ?? [])];
    const sameRegistry = source.port === target.port && source.host === target.host;
    for (const blob of blobs) {
      if (await blobExists(target, targetRepository, blob.digest)) continue;
      if (sameRegistry) {
        const mounted = await registryRequest(
          target,
          'POST',
          `/v2/${targetRepository}/blobs/uploads/?mount=${blob.digest}&from=${sourceRepository}`,
        );
        if (mounted.status === 201) continue;
        // Not mountable: the registry opened a plain upload instead; cancel it, upload below.
        const opened = mounted.headers.location;
        if (mounted.status === 202 && opened !== undefined) await registryRequest(target, 'DELETE', opened);
      }
      await uploadBlob(
        target,
        targetRepository,
        {
          digest: blob.digest,
          size: blob.size,
          content: async () => {
            const response = await registryStream(
              source,
              'GET',
              `/v2/${sourceRepository}/blobs/${blob.digest}`,
            );
            if (response.statusCode !== 200) {
              response.resume();
              throw new Error(`blob ${sourceRepository}@${blob.digest}: HTTP ${response.statusCode ?? 0}`);
            }
            return response;
          },
        },
        { skipExisting: false },
      );
    }
  }
  await putManifest(target, targetRepository, digest, manifest.mediaType, manifest.body);
  copied.push(digest);
  return copied;
}
