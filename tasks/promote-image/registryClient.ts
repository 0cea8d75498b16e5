import type { Readable } from 'node:stream';
import LinkHeader from 'http-link-header';
import { MANIFEST_ACCEPT, MEDIA_TYPES, sha256Of, type Descriptor, type RawManifest } from './manifests';
import { BROKEN_RESPONSE } from '../common/retry';
import { RegistryAuthenticator, type RegistryCredentials } from './registryAuth';
import {
  headerOf,
  readWhole,
  send,
  sendOnce,
  statusError,
  type HttpRequest,
  type HttpResponse,
  type HttpSettings,
} from './registryHttp';

/** ACR refuses manifests over 4 MiB; anything larger is not a manifest we can copy. */
const MANIFEST_LIMIT = 4 * 1024 * 1024;

export type RegistryAction = 'pull' | 'push';

/** The registry turned a request down even with a token for its scope: the identity lacks a right. */
export class RegistryAccessError extends Error {
  constructor(
    readonly registry: string,
    readonly repository: string,
    readonly action: RegistryAction,
    readonly statusCode: number,
  ) {
    super(`${registry}: ${action} on ${repository} was refused (HTTP ${statusCode})`);
    this.name = 'RegistryAccessError';
  }
}

/** A digest the registry answered with is not the one asked for or computed. */
export class DigestMismatchError extends Error {
  // retry.ts retries this code: a cut-off or corrupted transfer is worth another try.
  readonly code = 'AKS_DELIVERY_BROKEN_RESPONSE';
  constructor(
    readonly what: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${what}: expected ${expected}, got ${actual}`);
    this.name = 'DigestMismatchError';
  }
}

export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

export function pushScope(repository: string): string {
  return `repository:${repository}:pull,push`;
}

/**
 * A registry answered 200 with a body that is not the JSON asked for: a proxy's or sign-in page, or
 * an answer cut short that still looked whole (asked for again, as retry.ts retries this code).
 */
export class RegistryAnswerError extends Error {
  readonly code = BROKEN_RESPONSE;
  constructor(
    readonly registry: string,
    /** `GET /v2/…`, without the query. */
    readonly request: string,
    readonly contentType: string,
  ) {
    super(`${registry}: ${request} answered with a body that is not JSON (${contentType})`);
    this.name = 'RegistryAnswerError';
  }
}

/** A listing's `Link` header leads back to a page already read: following it would never end. */
export class RegistryPagingError extends Error {
  constructor(
    readonly registry: string,
    readonly path: string,
  ) {
    super(`${registry}: the pages of ${path} lead back to one already read, or name the next one unreadably`);
    this.name = 'RegistryPagingError';
  }
}

/** Where a manifest's referrers were listed, and what they are. */
export interface ReferrerListing {
  readonly source: 'api' | 'tag';
  readonly manifests: readonly Descriptor[];
}

/**
 * A minimal OCI distribution client for one registry over HTTPS: manifests, blobs (streamed),
 * uploads, cross-repository mounts, referrers and tags. Auth follows the registry's challenge
 * (registryAuth.ts); throttling, 5xx and resets are retried per request (registryHttp.ts).
 */
export class RegistryClient {
  readonly auth: RegistryAuthenticator;
  private readonly origin: string;
  /** Whether the registry serves the OCI referrers API; undefined until it has answered once. */
  private referrersApi: boolean | undefined;

  constructor(
    /** Login server, `host[:port]`. */
    readonly host: string,
    credentials: RegistryCredentials,
    private readonly http: HttpSettings,
  ) {
    this.auth = new RegistryAuthenticator(host, credentials, http);
    this.origin = `https://${host}`;
  }

  /** The manifest by tag or digest, or undefined when the registry has none. Its digest is computed from the bytes. */
  async getManifest(repository: string, reference: string): Promise<RawManifest | undefined> {
    const spec: HttpRequest = {
      method: 'GET',
      url: `${this.origin}/v2/${repository}/manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
    };
    const { response, bytes } = await this.requestWhole(spec, [pullScope(repository)], repository, 'pull');
    if (response.statusCode === 404) {
      await response.body.dump();
      return undefined;
    }
    if (bytes === undefined) throw await statusError(spec, response);
    const digest = sha256Of(bytes);
    const served = headerOf(response.headers, 'docker-content-digest');
    if (served !== undefined && served.startsWith('sha256:') && served !== digest)
      throw new DigestMismatchError(`manifest ${repository}:${reference}`, served, digest);
    if (reference.startsWith('sha256:') && reference !== digest)
      throw new DigestMismatchError(`manifest ${repository}@${reference}`, reference, digest);
    const mediaType = (headerOf(response.headers, 'content-type') ?? '').split(';')[0]?.trim() ?? '';
    return { digest, mediaType: mediaType === 'application/json' ? '' : mediaType, bytes };
  }

  /**
   * The digest a tag (or digest) points at, from a HEAD; undefined when absent. `push` asks with the
   * push scope: a caller about to write saves a token exchange by using the token the writes need.
   */
  async manifestDigest(
    repository: string,
    reference: string,
    action: RegistryAction = 'pull',
  ): Promise<string | undefined> {
    const spec: HttpRequest = {
      method: 'HEAD',
      url: `${this.origin}/v2/${repository}/manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
    };
    const scope = action === 'push' ? pushScope(repository) : pullScope(repository);
    const response = await this.request(spec, [scope], repository, action);
    await response.body.dump();
    if (response.statusCode === 404) return undefined;
    if (response.statusCode !== 200) throw await statusError(spec, response);
    const digest = headerOf(response.headers, 'docker-content-digest');
    // Without the header (some registries omit it on HEAD), read the manifest itself.
    return digest ?? (await this.getManifest(repository, reference))?.digest;
  }

  async blobExists(repository: string, digest: string, action: RegistryAction = 'pull'): Promise<boolean> {
    const spec: HttpRequest = { method: 'HEAD', url: `${this.origin}/v2/${repository}/blobs/${digest}` };
    const scope = action === 'push' ? pushScope(repository) : pullScope(repository);
    const response = await this.request(spec, [scope], repository, action);
    await response.body.dump();
    if (response.statusCode === 200) return true;
    if (response.statusCode === 404) return false;
    throw await statusError(spec, response);
  }

  /** The blob's bytes as a stream (follows the registry's redirect to its storage). The caller must consume it. */
  async openBlob(repository: string, digest: string): Promise<Readable> {
    const spec: HttpRequest = { method: 'GET', url: `${this.origin}/v2/${repository}/blobs/${digest}` };
    const response = await this.request(spec, [pullScope(repository)], repository, 'pull');
    if (response.statusCode !== 200) throw await statusError(spec, response);
    return response.body;
  }

  /**
   * Asks the registry to link a blob it holds in `fromRepository` into `repository`, without
   * sending bytes. False when it would not (it then opened a plain upload, which is cancelled).
   */
  async mountBlob(repository: string, digest: string, fromRepository: string): Promise<boolean> {
    const spec: HttpRequest = {
      method: 'POST',
      url: `${this.origin}/v2/${repository}/blobs/uploads/?mount=${digest}&from=${fromRepository}`,
    };
    const response = await this.request(
      spec,
      [pushScope(repository), pullScope(fromRepository)],
      repository,
      'push',
    );
    if (response.statusCode !== 201 && response.statusCode !== 202) throw await statusError(spec, response);
    await response.body.dump();
    if (response.statusCode === 201) return true;
    await this.cancelUpload(repository, headerOf(response.headers, 'location'));
    return false;
  }

  /**
   * Uploads a blob in one streamed, monolithic PUT (POST opens the upload; PUT `?digest=` sends
   * every byte with its length). One try: the caller retries the whole blob with a fresh stream.
   */
  async uploadBlob(
    repository: string,
    blob: { readonly digest: string; readonly size: number },
    open: () => Promise<Readable> | Readable,
  ): Promise<void> {
    const location = await this.openUpload(repository);
    location.searchParams.set('digest', blob.digest);
    const spec: HttpRequest = {
      method: 'PUT',
      url: location.href,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
      body: open,
    };
    const response = await this.request(spec, [pushScope(repository)], repository, 'push', {
      retries: false,
    });
    if (response.statusCode !== 201) throw await statusError(spec, response);
    await response.body.dump();
    const stored = headerOf(response.headers, 'docker-content-digest');
    if (stored !== undefined && stored !== blob.digest)
      throw new DigestMismatchError(`blob ${repository}@${blob.digest}`, blob.digest, stored);
  }

  /** PUTs a manifest's exact bytes; returns the digest the registry stored and the subject it recorded (referrers API). */
  async putManifest(
    repository: string,
    reference: string,
    manifest: RawManifest,
  ): Promise<{ readonly digest: string; readonly subject: string | undefined }> {
    const spec: HttpRequest = {
      method: 'PUT',
      url: `${this.origin}/v2/${repository}/manifests/${reference}`,
      headers: { 'content-type': manifest.mediaType || MEDIA_TYPES.ociManifest },
      body: () => manifest.bytes,
    };
    const response = await this.request(spec, [pushScope(repository)], repository, 'push');
    if (response.statusCode !== 201) throw await statusError(spec, response);
    await response.body.dump();
    return {
      digest: headerOf(response.headers, 'docker-content-digest') ?? manifest.digest,
      subject: headerOf(response.headers, 'oci-subject'),
    };
  }

  /**
   * Manifests that refer to `digest`: the OCI referrers API (every page of it), else (a 404: the
   * registry has no such API) the `sha256-<hex>` tag schema. Empty when there are none. A registry
   * that has answered 404 once is not asked again: the spec forbids a 404 from a registry with the API.
   */
  async referrers(repository: string, digest: string): Promise<ReferrerListing> {
    if (this.referrersApi !== false) {
      const manifests: Descriptor[] = [];
      const first = `${this.origin}/v2/${repository}/referrers/${digest}`;
      const visited = new Set<string>();
      let next: string | undefined = first;
      while (next !== undefined) {
        visited.add(next);
        const spec: HttpRequest = { method: 'GET', url: next, headers: { accept: MEDIA_TYPES.ociIndex } };
        const { response, value: page } = await this.requestJson<{ manifests?: Descriptor[] | null }>(
          spec,
          repository,
        );
        if (page === undefined) {
          if (response.statusCode !== 404 || next !== first) throw await statusError(spec, response);
          await response.body.dump();
          this.referrersApi = false;
          break;
        }
        this.referrersApi = true;
        manifests.push(...(page.manifests ?? []));
        next = this.nextPage(response, next, visited);
      }
      if (this.referrersApi) return { source: 'api', manifests };
    }
    const tag = digest.replace(':', '-');
    const fallback = await this.getManifest(repository, tag);
    if (fallback === undefined) return { source: 'tag', manifests: [] };
    // Read by tag, so no digest vouches for it; what does not parse is not an index of referrers.
    const index = parsedObject<{ manifests?: Descriptor[] | null }>(fallback.bytes);
    if (index === undefined)
      throw new RegistryAnswerError(
        this.host,
        `GET /v2/${repository}/manifests/${tag}`,
        fallback.mediaType || 'no content type',
      );
    return { source: 'tag', manifests: index.manifests ?? [] };
  }

  /** Every tag of a repository (following `Link` pages); empty when the repository does not exist. */
  async tags(repository: string): Promise<string[]> {
    const tags: string[] = [];
    const visited = new Set<string>();
    let next: string | undefined = `${this.origin}/v2/${repository}/tags/list?n=1000`;
    while (next !== undefined) {
      visited.add(next);
      const spec: HttpRequest = { method: 'GET', url: next };
      const { response, value: page } = await this.requestJson<{ tags?: string[] | null }>(spec, repository);
      if (response.statusCode === 404) {
        await response.body.dump();
        return tags;
      }
      if (page === undefined) throw await statusError(spec, response);
      tags.push(...(page.tags ?? []));
      next = this.nextPage(response, next, visited);
    }
    return tags;
  }

  /** The page after `current` (see nextPageUrl), refusing one already read: either would lose pages. */
  private nextPage(
    response: HttpResponse,
    current: string,
    visited: ReadonlySet<string>,
  ): string | undefined {
    let next: string | undefined;
    try {
      next = nextPageUrl(headerOf(response.headers, 'link'), current);
    } catch {
      throw new RegistryPagingError(this.host, new URL(current).pathname);
    }
    if (next !== undefined && visited.has(next))
      throw new RegistryPagingError(this.host, new URL(current).pathname);
    return next;
  }

  /**
   * A pull request for a JSON object: its 200 answer parsed (`value`), else the answer unread for
   * the caller to judge. An answer that is not a JSON object is asked for again, then refused
   * without the parser's own message: it quotes the body.
   */
  private async requestJson<T>(
    spec: HttpRequest,
    repository: string,
  ): Promise<{ readonly response: HttpResponse; readonly value?: T }> {
    let value: T | undefined;
    const { response } = await readWhole(
      this.http,
      spec.url,
      () => this.request(spec, [pullScope(repository)], repository, 'pull'),
      MANIFEST_LIMIT,
      (answer, bytes) => {
        value = parsedObject<T>(bytes);
        if (value !== undefined) return;
        const contentType = headerOf(answer.headers, 'content-type')?.split(';')[0]?.trim();
        throw new RegistryAnswerError(
          this.host,
          `${spec.method} ${new URL(spec.url).pathname}`,
          contentType || 'no content type',
        );
      },
    );
    return response.statusCode === 200 ? { response, value } : { response };
  }

  /**
   * A JSON request to ACR's metadata API (`/acr/v1/…`, see acrMetadata.ts), signed like every other
   * request: the token exchange and the challenge's scope (`metadata_write` for a PATCH) apply.
   * Returns the status of an answer the caller judges (200, 404); a refusal is a RegistryAccessError.
   */
  async acrMetadata(request: {
    readonly method: 'GET' | 'PATCH';
    readonly path: string;
    readonly repository: string;
    readonly scope: string;
    readonly body?: unknown;
  }): Promise<number> {
    const body = request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body));
    const spec: HttpRequest = {
      method: request.method,
      url: `${this.origin}${request.path}`,
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: () => body }),
    };
    // metadata_write comes with AcrPush, metadata_read with AcrPull.
    const action = request.method === 'PATCH' ? 'push' : 'pull';
    const response = await this.request(spec, [request.scope], request.repository, action);
    if (response.statusCode === 200 || response.statusCode === 404) {
      await response.body.dump();
      return response.statusCode;
    }
    throw await statusError(spec, response);
  }

  private async openUpload(repository: string): Promise<URL> {
    const spec: HttpRequest = { method: 'POST', url: `${this.origin}/v2/${repository}/blobs/uploads/` };
    const response = await this.request(spec, [pushScope(repository)], repository, 'push');
    const location = headerOf(response.headers, 'location');
    if (response.statusCode !== 202 || location === undefined) throw await statusError(spec, response);
    await response.body.dump();
    // Registries answer with a path (`http.relativeurls`, ACR) or a full URL: both resolve here.
    return new URL(location, this.origin);
  }

  private async cancelUpload(repository: string, location: string | undefined): Promise<void> {
    if (location === undefined) return;
    const spec: HttpRequest = { method: 'DELETE', url: new URL(location, this.origin).href };
    // Best effort: an abandoned upload is purged by the registry anyway.
    try {
      const response = await this.request(spec, [pushScope(repository)], repository, 'push');
      await response.body.dump();
    } catch {
      // nothing to do
    }
  }

  /** `request`, then a 200 answer read whole; a body cut off mid-way is asked for again (readWhole). */
  private requestWhole(
    spec: HttpRequest,
    scopes: readonly string[],
    repository: string,
    action: RegistryAction,
  ): Promise<{ readonly response: HttpResponse; readonly bytes?: Buffer }> {
    return readWhole(
      this.http,
      spec.url,
      () => this.request(spec, scopes, repository, action),
      MANIFEST_LIMIT,
    );
  }

  /**
   * Sends with the token for `scopes`. A 401 is the registry's challenge: learn it, get a token,
   * try once more; a second 401 (or a 403) means the identity lacks the right.
   */
  private async request(
    spec: HttpRequest,
    scopes: readonly string[],
    repository: string,
    action: RegistryAction,
    options: { readonly retries?: boolean } = {},
  ): Promise<HttpResponse> {
    let wanted = scopes;
    for (let attempt = 1; ; attempt++) {
      const authorization = sameOrigin(spec.url, this.origin)
        ? await this.auth.authorization(wanted)
        : undefined;
      const signed: HttpRequest = {
        ...spec,
        headers: { ...spec.headers, ...(authorization === undefined ? {} : { authorization }) },
      };
      const response =
        options.retries === false ? await sendOnce(this.http, signed) : await send(this.http, signed);
      if (response.statusCode === 401 && attempt === 1) {
        await response.body.dump();
        wanted = this.auth.challenged(headerOf(response.headers, 'www-authenticate'), wanted);
        continue;
      }
      if (response.statusCode === 401 || response.statusCode === 403) {
        await response.body.dump();
        throw new RegistryAccessError(this.host, repository, action, response.statusCode);
      }
      return response;
    }
  }
}

function sameOrigin(url: string, origin: string): boolean {
  return new URL(url).origin === new URL(origin).origin;
}

/** `bytes` as a JSON object, or undefined when they are not one. */
function parsedObject<T>(bytes: Buffer): T | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as T) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The URL of the next page a listing's `Link` header names (`rel="next"` among any relations and
 * parameters, RFC 8288), resolved against the page's own URL; undefined on the last page. Throws
 * when the header does not parse.
 */
export function nextPageUrl(header: string | undefined, current: string): string | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const target = LinkHeader.parse(header).rel('next')[0]?.uri;
  if (target === undefined) return undefined;
  const next = new URL(target, current);
  // `sha256:…?page=2` reads as a URL of scheme `sha256`: a registry meant a path relative to the page.
  return next.protocol === 'https:' || next.protocol === 'http:'
    ? next.href
    : new URL(`./${target}`, current).href;
}
