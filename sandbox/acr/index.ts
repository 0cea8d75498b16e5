import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import {
  sendArmError,
  sendResourceGroupNotFound,
  sendResourceNotFound,
  type ArmProvider,
  type ArmRequest,
  type ArmServer,
} from '../arm';
import type { SandboxBase } from '../base';
import { queryOf, pathOf, readBody, sendJson, startHttpsServer } from '../httpsServer';
import type { SandboxService, ServiceOptions } from '../service';
import {
  copyArtifact,
  getManifest,
  putManifest,
  sha256Digest,
  startRegistry,
  type RealRegistry,
  type RegistryEndpoint,
  type RegistryStorage,
} from './registry';

/** Audiences of Entra tokens that `/oauth2/exchange` accepts, as ACR does. */
export const ACR_AAD_AUDIENCES = [
  'https://management.azure.com',
  'https://management.core.windows.net',
  'https://containerregistry.azure.net',
];

/** ACR's convention: this user name with an ACR refresh token as the password (docker login, skopeo). */
export const ACR_REFRESH_TOKEN_USERNAME = '00000000-0000-0000-0000-000000000000';

export const ACR_LOGIN_SUFFIX = 'azurecr.io';

/** What `acr.grant` hands out; roughly AcrPull / AcrPush / AcrDelete. */
export type AcrPermission = 'pull' | 'push' | 'delete';

export interface AcrRegistrySpec {
  readonly name: string;
  /** Default `rg-registries`. */
  readonly resourceGroup?: string;
  /** Default `westeurope`. */
  readonly location?: string;
  /** Default `Premium`. */
  readonly sku?: 'Basic' | 'Standard' | 'Premium';
  /** Enables the admin user (`<name>` / this password). */
  readonly adminPassword?: string;
  /** Anyone may pull, read metadata and list repositories without credentials (never push). */
  readonly anonymousPullEnabled?: boolean;
  /**
   * Emulate ACR's OCI referrers API (`GET /v2/<repo>/referrers/<digest>`, `OCI-Subject` on manifest
   * PUT). Default false: docker-registry 2.8 has none, so clients fall back to `sha256-<hex>` tags.
   */
  readonly referrersApi?: boolean;
  readonly tags?: Readonly<Record<string, string>>;
}

/** ACR's changeable attributes of a repository, tag or manifest. */
export interface ChangeableAttributes {
  deleteEnabled: boolean;
  writeEnabled: boolean;
  readEnabled: boolean;
  listEnabled: boolean;
}

export interface SandboxRegistry {
  readonly name: string;
  /** `<name>.azurecr.io` */
  readonly loginServer: string;
  /** ARM resource id. */
  readonly id: string;
  readonly resourceGroup: string;
  readonly location: string;
  readonly sku: string;
  readonly adminPassword: string | undefined;
  readonly anonymousPullEnabled: boolean;
  readonly tags: Readonly<Record<string, string>>;
  readonly createdOn: Date;
  /** The real registry behind the front. */
  readonly backend: RealRegistry;
  /** Whether the front emulates the referrers API; switch it per test. */
  referrersApi: boolean;
}

/** Route templates as recorded (with the method separately). */
export type AcrRoute =
  | '/oauth2/exchange'
  | '/oauth2/token'
  | '/v2/'
  | '/v2/_catalog'
  | '/v2/{repo}/manifests/{reference}'
  | '/v2/{repo}/blobs/{digest}'
  | '/v2/{repo}/blobs/uploads/'
  | '/v2/{repo}/blobs/uploads/{uuid}'
  | '/v2/{repo}/tags/list'
  | '/v2/{repo}/referrers/{digest}'
  | '/acr/v1/_catalog'
  | '/acr/v1/{repo}'
  | '/acr/v1/{repo}/_tags'
  | '/acr/v1/{repo}/_tags/{tag}'
  | '/acr/v1/{repo}/_manifests'
  | '/acr/v1/{repo}/_manifests/{digest}'
  | 'other';

export interface AcrRequestRecord {
  readonly registry: string;
  readonly method: string;
  readonly route: AcrRoute;
  readonly path: string;
  readonly repository?: string;
  readonly status: number;
  /** `sub` of the access token the request carried (oid, `admin`, `anonymous`, `sandbox-owner`). */
  readonly principal?: string;
  /** For token requests: the scopes asked for. */
  readonly scopes?: readonly string[];
}

export interface ImportRecord {
  readonly operationId: string;
  readonly target: string;
  readonly source: string;
  readonly sourceImage: string;
  readonly targetTags: readonly string[];
  readonly untaggedTargetRepositories: readonly string[];
  readonly mode: string;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  digest?: string;
  error?: { code: string; message: string };
}

export interface AcrSandbox extends SandboxService {
  /** The HTTPS front's port; every `<name>.azurecr.io` is routed there. */
  readonly port: number;
  readonly registries: ReadonlyMap<string, SandboxRegistry>;
  /** The registry of that name; throws when there is none. */
  registry(name: string): SandboxRegistry;
  /** Gives an Entra principal (appid or object id) data-plane rights on a registry (replaces earlier grants). */
  grant(registry: string, principalId: string, permissions: readonly AcrPermission[]): void;
  revoke(registry: string, principalId: string): void;
  /** Attributes of a tag, manifest (`sha256:…`) or repository (reference omitted), with defaults. */
  attributes(registry: string, repository: string, reference?: string): ChangeableAttributes;
  setAttributes(
    registry: string,
    repository: string,
    reference: string | undefined,
    changes: Partial<ChangeableAttributes>,
  ): void;
  /** An ACR refresh token for a principal, as `/oauth2/exchange` would return it. */
  issueRefreshToken(registry: string, principalId: string): string;
  /**
   * The front for one registry with a token that may do anything: for fixtures (images.ts). Its
   * requests are recorded with principal `sandbox-owner`.
   */
  ownerEndpoint(registry: string): RegistryEndpoint;
  /** Every request the front received, in order. */
  readonly requests: readonly AcrRequestRecord[];
  /** How many requests matched; `registry` narrows to one registry. */
  requestCount(method: string, route: AcrRoute, registry?: string): number;
  readonly imports: readonly ImportRecord[];
  /** Microsoft.ContainerRegistry routes; already added to the ARM server given in options. */
  readonly armProvider: ArmProvider;
  close(): Promise<void>;
}

export interface AcrOptions extends Pick<ServiceOptions, 'arm'> {
  /** Registries by name (`contosoprod` answers `contosoprod.azurecr.io`), or with their settings. */
  readonly registries: readonly (string | AcrRegistrySpec)[];
}

const DEFAULT_ATTRIBUTES: ChangeableAttributes = {
  deleteEnabled: true,
  writeEnabled: true,
  readEnabled: true,
  listEnabled: true,
};

const OWNER = 'sandbox-owner';
const REFRESH_TOKEN_LIFETIME_SECONDS = 3 * 3600;
const ACCESS_TOKEN_LIFETIME_SECONDS = 75 * 60;
const UNAUTHORIZED_MESSAGE =
  'authentication required, visit https://aka.ms/acr/authorization for more information.';
const DENIED_MESSAGE = 'The operation is disallowed on this registry, repository or image.';
const REPOSITORY_NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/**
 * Azure Container Registry: per registry a real docker-registry behind one HTTPS front that answers
 * `<name>.azurecr.io` (routed on the proxy) with ACR's token auth, ACR's `/acr/v1` metadata API and
 * tag locks, an optional referrers API, plus the ARM side (list, get, importImage).
 */
export async function startAcr(base: SandboxBase, options: AcrOptions): Promise<AcrSandbox> {
  const specs = options.registries.map((r) => (typeof r === 'string' ? { name: r } : r));
  const state = new AcrState(base, options.arm);
  try {
    const names = specs.map((spec) => spec.name.toLowerCase());
    const duplicate = names.find((name, index) => names.indexOf(name) !== index);
    if (duplicate !== undefined) throw new Error(`registry ${duplicate} is named twice`);
    // Start the real registries side by side (~0.1 s each), keep the order given.
    const started = await Promise.allSettled(specs.map((spec) => state.createRegistry(spec)));
    for (const result of started) {
      if (result.status === 'rejected') throw result.reason;
      state.registries.set(result.value.name, result.value);
    }
    const server = await startHttpsServer(base.serverTls, (request, response) =>
      state.handle(request, response),
    );
    state.closers.push(() => server.close());
    const routes = [...state.registries.values()].map((registry) => registry.loginServer);
    for (const host of routes) base.proxy.route(host, server.port);
    const armProvider: ArmProvider = (call) => state.handleArm(call);
    options.arm?.addProvider(armProvider);
    return {
      port: server.port,
      urls: [server.url],
      routes,
      registries: state.registries,
      registry: (name) => state.registryNamed(name),
      grant: (registry, principalId, permissions) =>
        void state
          .grantsOf(state.registryNamed(registry))
          .set(principalId.toLowerCase(), new Set(permissions)),
      revoke: (registry, principalId) =>
        void state.grantsOf(state.registryNamed(registry)).delete(principalId.toLowerCase()),
      attributes: (registry, repository, reference) =>
        state.attributesOf(state.registryNamed(registry), repository, reference),
      setAttributes: (registry, repository, reference, changes) =>
        state.setAttributes(state.registryNamed(registry), repository, reference, changes),
      issueRefreshToken: (registry, principalId) =>
        state.refreshToken(state.registryNamed(registry), {
          sub: principalId.toLowerCase(),
          ids: [principalId.toLowerCase()],
        }),
      ownerEndpoint: (registry) => {
        const found = state.registryNamed(registry);
        return {
          port: server.port,
          host: found.loginServer,
          tls: { ca: base.ca.root.certificate, servername: found.loginServer },
          authorization: `Bearer ${state.ownerToken(found)}`,
        };
      },
      requests: state.requests,
      requestCount: (method, route, registry) =>
        state.requests.filter(
          (r) =>
            r.method === method && r.route === route && (registry === undefined || r.registry === registry),
        ).length,
      imports: state.imports,
      armProvider,
      close: () => state.close(),
    };
  } catch (error: unknown) {
    await state.close();
    throw error;
  }
}

// --- tokens -------------------------------------------------------------------------------------

interface AccessEntry {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

/** Claims of the front's JWTs: refresh tokens (`grant_type: refresh_token`) and access tokens. */
interface AcrTokenClaims {
  readonly jti: string;
  readonly iss: string;
  /** The registry's login server: a token is good for one registry only. */
  readonly aud: string;
  readonly sub: string;
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
  readonly grant_type: 'refresh_token' | 'access_token';
  /** Refresh tokens: every id grants may name (oid, appid). */
  readonly ids?: readonly string[];
  readonly tenant?: string;
  /** Access tokens: what was granted. */
  readonly access?: readonly AccessEntry[];
  readonly version: '1.0';
}

/** Who is asking for an access token. */
interface Principal {
  /** Recorded as the token's `sub`. */
  readonly sub: string;
  /** Ids that grants may name. */
  readonly ids: readonly string[];
  readonly admin?: boolean;
  readonly anonymous?: boolean;
}

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

/** `repository:app/web:pull,push` → entry; repository names never hold a colon. */
function parseScope(scope: string): AccessEntry | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter((a) => a !== ''),
  };
}

function scopesOf(values: readonly string[]): AccessEntry[] {
  return values
    .flatMap((value) => value.split(' '))
    .filter((s) => s !== '')
    .map(parseScope)
    .filter((e): e is AccessEntry => e !== undefined);
}

function sendAcrError(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(response, status, { errors: [{ code, message, detail: null }] }, headers);
}

// --- routes -------------------------------------------------------------------------------------

interface Route {
  readonly template: AcrRoute;
  readonly repository?: string;
  /** manifests reference, blob digest, tag, referrers subject. */
  readonly reference?: string;
}

function classify(requestPath: string): Route {
  if (requestPath === '/oauth2/exchange') return { template: '/oauth2/exchange' };
  if (requestPath === '/oauth2/token') return { template: '/oauth2/token' };
  if (requestPath === '/v2/' || requestPath === '/v2') return { template: '/v2/' };
  if (requestPath === '/v2/_catalog') return { template: '/v2/_catalog' };
  if (requestPath === '/acr/v1/_catalog') return { template: '/acr/v1/_catalog' };
  const v2 = /^\/v2\/(.+?)\/(manifests|blobs|tags|referrers)\/(.*)$/.exec(requestPath);
  if (v2 !== null) {
    const [, repository = '', kind, rest = ''] = v2;
    if (!REPOSITORY_NAME.test(repository)) return { template: 'other' };
    switch (kind) {
      case 'manifests':
        return { template: '/v2/{repo}/manifests/{reference}', repository, reference: rest };
      case 'tags':
        return rest === 'list' ? { template: '/v2/{repo}/tags/list', repository } : { template: 'other' };
      case 'referrers':
        return { template: '/v2/{repo}/referrers/{digest}', repository, reference: rest };
      default:
        if (rest === 'uploads/' || rest === 'uploads')
          return { template: '/v2/{repo}/blobs/uploads/', repository };
        if (rest.startsWith('uploads/')) return { template: '/v2/{repo}/blobs/uploads/{uuid}', repository };
        return { template: '/v2/{repo}/blobs/{digest}', repository, reference: rest };
    }
  }
  const acr = /^\/acr\/v1\/(.+?)(?:\/(_tags|_manifests)(?:\/([^/]+))?)?\/?$/.exec(requestPath);
  if (acr !== null) {
    const [, repository = '', kind, reference] = acr;
    if (!REPOSITORY_NAME.test(repository)) return { template: 'other' };
    if (kind === undefined) return { template: '/acr/v1/{repo}', repository };
    if (kind === '_tags')
      return reference === undefined
        ? { template: '/acr/v1/{repo}/_tags', repository }
        : { template: '/acr/v1/{repo}/_tags/{tag}', repository, reference };
    return reference === undefined
      ? { template: '/acr/v1/{repo}/_manifests', repository }
      : { template: '/acr/v1/{repo}/_manifests/{digest}', repository, reference };
  }
  return { template: 'other' };
}

/** The scopes ACR's challenge names for a request (what the token must grant). */
function requiredScopes(method: string, route: Route, query: URLSearchParams): AccessEntry[] {
  const repository = route.repository ?? '';
  const on = (...actions: string[]): AccessEntry[] => [{ type: 'repository', name: repository, actions }];
  switch (route.template) {
    case '/v2/':
      return [];
    case '/v2/_catalog':
    case '/acr/v1/_catalog':
      return [{ type: 'registry', name: 'catalog', actions: ['*'] }];
    case '/v2/{repo}/manifests/{reference}':
    case '/v2/{repo}/blobs/{digest}':
      if (method === 'DELETE') return on('delete');
      return method === 'GET' || method === 'HEAD' ? on('pull') : on('pull', 'push');
    case '/v2/{repo}/blobs/uploads/': {
      const from = query.get('from');
      const mount =
        from !== null && query.has('mount') ? [{ type: 'repository', name: from, actions: ['pull'] }] : [];
      return [...on('pull', 'push'), ...mount];
    }
    case '/v2/{repo}/blobs/uploads/{uuid}':
      return on('pull', 'push');
    case '/v2/{repo}/tags/list':
    case '/v2/{repo}/referrers/{digest}':
      return on('pull');
    case '/acr/v1/{repo}':
    case '/acr/v1/{repo}/_tags':
    case '/acr/v1/{repo}/_tags/{tag}':
    case '/acr/v1/{repo}/_manifests':
    case '/acr/v1/{repo}/_manifests/{digest}':
      if (method === 'DELETE') return on('delete');
      return method === 'PATCH' ? on('metadata_write') : on('metadata_read');
    default:
      return [];
  }
}

function formatScope(entry: AccessEntry): string {
  return `${entry.type}:${entry.name}:${entry.actions.join(',')}`;
}

function covers(granted: readonly AccessEntry[], needed: AccessEntry): boolean {
  return needed.actions.every((action) =>
    granted.some(
      (g) =>
        g.type === needed.type &&
        (g.name === needed.name || g.name === '*') &&
        (g.actions.includes(action) || g.actions.includes('*')),
    ),
  );
}

function isDigest(reference: string): boolean {
  return /^sha256:[0-9a-f]{64}$/.test(reference);
}

// --- state and handlers -------------------------------------------------------------------------

interface ParsedManifest {
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly config?: { readonly mediaType?: string; readonly digest: string; readonly size: number };
  readonly layers?: readonly { readonly digest: string; readonly size: number }[];
  readonly manifests?: readonly {
    readonly mediaType?: string;
    readonly digest: string;
    readonly size: number;
    readonly platform?: { readonly architecture?: string; readonly os?: string };
  }[];
  readonly subject?: { readonly digest: string };
  readonly annotations?: Readonly<Record<string, string>>;
}

interface Operation {
  readonly record: ImportRecord;
  readonly startTime: Date;
  endTime?: Date;
  readonly done: Promise<void>;
}

class ImportFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

class AcrState {
  readonly registries = new Map<string, SandboxRegistry>();
  readonly requests: AcrRequestRecord[] = [];
  readonly imports: ImportRecord[] = [];
  readonly closers: (() => Promise<void>)[] = [];
  private readonly grants = new Map<SandboxRegistry, Map<string, Set<AcrPermission>>>();
  private readonly attributeTable = new Map<string, ChangeableAttributes>();
  private readonly operations = new Map<string, Operation>();
  private readonly key = crypto.randomBytes(32);
  private readonly ownerTokens = new Map<SandboxRegistry, string>();
  /** Kept-alive connections to the real registries. */
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

  constructor(
    private readonly base: SandboxBase,
    private readonly arm: ArmServer | undefined,
  ) {}

  async createRegistry(spec: AcrRegistrySpec): Promise<SandboxRegistry> {
    const name = spec.name.toLowerCase();
    if (!/^[a-z0-9]{5,50}$/.test(name))
      throw new Error(`invalid registry name '${spec.name}' (5-50 letters and digits)`);
    const directory = path.join(this.base.directory, 'acr', name);
    fs.mkdirSync(directory, { recursive: true });
    const backend = await startRegistry(directory);
    this.closers.push(() => backend.close());
    const resourceGroup = spec.resourceGroup ?? 'rg-registries';
    this.arm?.resourceGroups.add(resourceGroup);
    return {
      name,
      loginServer: `${name}.${ACR_LOGIN_SUFFIX}`,
      id: `/subscriptions/${this.base.subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${name}`,
      resourceGroup,
      location: spec.location ?? 'westeurope',
      sku: spec.sku ?? 'Premium',
      adminPassword: spec.adminPassword,
      anonymousPullEnabled: spec.anonymousPullEnabled === true,
      tags: spec.tags ?? {},
      createdOn: new Date(),
      backend,
      referrersApi: spec.referrersApi === true,
    };
  }

  registryNamed(name: string): SandboxRegistry {
    const found = this.registries.get(name.toLowerCase().replace(`.${ACR_LOGIN_SUFFIX}`, ''));
    if (found === undefined) throw new Error(`no sandbox registry named ${name}`);
    return found;
  }

  grantsOf(registry: SandboxRegistry): Map<string, Set<AcrPermission>> {
    let table = this.grants.get(registry);
    if (table === undefined) {
      table = new Map();
      this.grants.set(registry, table);
    }
    return table;
  }

  private permissionsOf(registry: SandboxRegistry, ids: readonly string[]): Set<AcrPermission> {
    const table = this.grantsOf(registry);
    return new Set(ids.flatMap((id) => [...(table.get(id.toLowerCase()) ?? [])]));
  }

  attributesOf(registry: SandboxRegistry, repository: string, reference?: string): ChangeableAttributes {
    return {
      ...(this.attributeTable.get(attributeKey(registry, repository, reference)) ?? DEFAULT_ATTRIBUTES),
    };
  }

  setAttributes(
    registry: SandboxRegistry,
    repository: string,
    reference: string | undefined,
    changes: Partial<ChangeableAttributes>,
  ): ChangeableAttributes {
    const merged = { ...this.attributesOf(registry, repository, reference) };
    for (const name of ['deleteEnabled', 'writeEnabled', 'readEnabled', 'listEnabled'] as const) {
      const value = changes[name];
      if (typeof value === 'boolean') merged[name] = value;
    }
    this.attributeTable.set(attributeKey(registry, repository, reference), merged);
    return merged;
  }

  private forgetAttributes(registry: SandboxRegistry, repository: string, reference: string): void {
    this.attributeTable.delete(attributeKey(registry, repository, reference));
  }

  // JWTs signed by the front: the same format for refresh and access tokens.
  private sign(claims: AcrTokenClaims): string {
    const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const payload = base64url(JSON.stringify(claims));
    const signature = crypto
      .createHmac('sha256', this.key)
      .update(`${header}.${payload}`)
      .digest('base64url');
    return `${header}.${payload}.${signature}`;
  }

  private verify(
    token: string,
    registry: SandboxRegistry,
    grantType: AcrTokenClaims['grant_type'],
  ): AcrTokenClaims | undefined {
    const [header, payload, signature] = token.split('.');
    if (header === undefined || payload === undefined || signature === undefined) return undefined;
    const expected = Buffer.from(
      crypto.createHmac('sha256', this.key).update(`${header}.${payload}`).digest('base64url'),
    );
    const actual = Buffer.from(signature);
    if (expected.length !== actual.length || !crypto.timingSafeEqual(expected, actual)) return undefined;
    let claims: AcrTokenClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as AcrTokenClaims;
    } catch {
      return undefined;
    }
    if (claims.aud !== registry.loginServer || claims.grant_type !== grantType) return undefined;
    return claims.exp > Date.now() / 1000 ? claims : undefined;
  }

  private claims(
    registry: SandboxRegistry,
    sub: string,
    grantType: AcrTokenClaims['grant_type'],
    lifetimeSeconds: number,
    extra: Partial<AcrTokenClaims>,
  ): AcrTokenClaims {
    const now = Math.floor(Date.now() / 1000);
    return {
      jti: crypto.randomUUID(),
      iss: 'Azure Container Registry',
      aud: registry.loginServer,
      sub,
      iat: now,
      nbf: now,
      exp: now + lifetimeSeconds,
      grant_type: grantType,
      version: '1.0',
      ...extra,
    };
  }

  refreshToken(registry: SandboxRegistry, principal: { sub: string; ids: readonly string[] }): string {
    return this.sign(
      this.claims(registry, principal.sub, 'refresh_token', REFRESH_TOKEN_LIFETIME_SECONDS, {
        ids: principal.ids,
        tenant: this.base.tenantId,
      }),
    );
  }

  ownerToken(registry: SandboxRegistry): string {
    let token = this.ownerTokens.get(registry);
    if (token === undefined) {
      token = this.sign(
        this.claims(registry, OWNER, 'access_token', 24 * 3600, {
          access: [
            { type: 'repository', name: '*', actions: ['*'] },
            { type: 'registry', name: 'catalog', actions: ['*'] },
          ],
        }),
      );
      this.ownerTokens.set(registry, token);
    }
    return token;
  }

  /** What a principal may do on one scope entry: the requested actions it holds. */
  private grantedActions(registry: SandboxRegistry, principal: Principal, wanted: AccessEntry): string[] {
    const allowed = new Set<string>();
    if (principal.admin === true) {
      for (const a of ['pull', 'push', 'delete', 'metadata_read', 'metadata_write', '*']) allowed.add(a);
    } else if (principal.anonymous === true) {
      // What the SDK's anonymous client relies on: pull, read metadata, list the catalog.
      if (registry.anonymousPullEnabled) for (const a of ['pull', 'metadata_read', '*']) allowed.add(a);
    } else {
      const permissions = this.permissionsOf(registry, principal.ids);
      if (permissions.has('pull')) for (const a of ['pull', 'metadata_read']) allowed.add(a);
      if (permissions.has('push')) for (const a of ['push', 'metadata_write']) allowed.add(a);
      if (permissions.has('delete')) allowed.add('delete');
      if (wanted.type === 'registry' && permissions.has('pull')) allowed.add('*');
    }
    if (wanted.type === 'registry' && wanted.name !== 'catalog') return [];
    if (wanted.type !== 'registry' && wanted.type !== 'repository') return [];
    // `*` is the catalog's action only: on a repository it would smuggle in push.
    return wanted.actions.filter((a) => allowed.has(a) && (a !== '*' || wanted.type === 'registry'));
  }

  accessToken(registry: SandboxRegistry, principal: Principal, scopes: readonly AccessEntry[]): string {
    const access = scopes
      .map((scope) => ({
        type: scope.type,
        name: scope.name,
        actions: this.grantedActions(registry, principal, scope),
      }))
      .filter((entry) => entry.actions.length > 0);
    return this.sign(
      this.claims(registry, principal.sub, 'access_token', ACCESS_TOKEN_LIFETIME_SECONDS, { access }),
    );
  }

  // --- the HTTPS front ----------------------------------------------------------------------

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const host = (request.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    const method = request.method ?? 'GET';
    const requestPath = pathOf(request);
    const query = queryOf(request);
    const route = classify(requestPath);
    const registry = host.endsWith(`.${ACR_LOGIN_SUFFIX}`)
      ? this.registries.get(host.slice(0, -ACR_LOGIN_SUFFIX.length - 1))
      : undefined;
    const seen: { principal?: string; scopes?: string[] } = {};
    response.on('close', () => {
      this.requests.push({
        registry: registry?.name ?? host,
        method,
        route: route.template,
        path: requestPath,
        ...(route.repository === undefined ? {} : { repository: route.repository }),
        status: response.statusCode,
        ...(seen.principal === undefined ? {} : { principal: seen.principal }),
        ...(seen.scopes === undefined ? {} : { scopes: seen.scopes }),
      });
    });
    if (registry === undefined) {
      sendAcrError(response, 404, 'NAME_UNKNOWN', `registry ${host} is not part of the sandbox`);
      return;
    }
    if (route.template === '/oauth2/exchange') return this.exchange(registry, request, response, seen);
    if (route.template === '/oauth2/token') return this.token(registry, request, response, query, seen);

    const needed = requiredScopes(method, route, query);
    const challenge = (): Record<string, string> => ({
      'www-authenticate':
        `Bearer realm="https://${registry.loginServer}/oauth2/token",service="${registry.loginServer}"` +
        (needed.length > 0 ? `,scope="${needed.map(formatScope).join(' ')}"` : ''),
    });
    const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const claims = bearer === undefined ? undefined : this.verify(bearer, registry, 'access_token');
    if (claims !== undefined) seen.principal = claims.sub;
    // A mount from a repository the token cannot pull from becomes a plain upload, not a refusal.
    const mountRefused =
      route.template === '/v2/{repo}/blobs/uploads/' &&
      needed.length > 1 &&
      claims !== undefined &&
      !needed.slice(1).every((n) => covers(claims.access ?? [], n));
    const mustCover = mountRefused ? needed.slice(0, 1) : needed;
    if (claims === undefined || !mustCover.every((n) => covers(claims.access ?? [], n))) {
      await drain(request);
      sendAcrError(response, 401, 'UNAUTHORIZED', UNAUTHORIZED_MESSAGE, challenge());
      return;
    }
    if (route.template === 'other') {
      await drain(request);
      sendAcrError(response, 404, 'NOT_FOUND', `${requestPath} is not an ACR route the sandbox knows`);
      return;
    }
    if (requestPath.startsWith('/acr/v1/'))
      return this.metadata(registry, route, method, query, request, response);
    const repository = route.repository ?? '';
    if (route.template === '/v2/{repo}/referrers/{digest}' && registry.referrersApi) {
      this.referrers(registry, repository, route.reference ?? '', query, response);
      return;
    }
    if (route.template === '/v2/{repo}/manifests/{reference}' && method === 'PUT') {
      return this.putManifest(registry, repository, route.reference ?? '', request, response);
    }
    if (route.template === '/v2/{repo}/manifests/{reference}' && method === 'DELETE') {
      const refusal = this.deleteRefusal(registry, repository, route.reference ?? '');
      if (refusal !== undefined) {
        sendAcrError(response, 405, 'DENIED', refusal);
        return;
      }
    }
    const upstreamUrl = mountRefused ? stripMount(request.url ?? '/') : (request.url ?? '/');
    await this.forward(registry, request, response, upstreamUrl);
  }

  private async exchange(
    registry: SandboxRegistry,
    request: IncomingMessage,
    response: ServerResponse,
    seen: { principal?: string },
  ): Promise<void> {
    if (request.method !== 'POST') {
      await drain(request);
      sendAcrError(response, 405, 'UNSUPPORTED', 'The operation is unsupported.');
      return;
    }
    const form = new URLSearchParams((await readBody(request)).toString('utf8'));
    const grantType = form.get('grant_type');
    if (grantType !== 'access_token') {
      sendAcrError(
        response,
        400,
        'UNSUPPORTED',
        `grant_type '${grantType ?? ''}' is not supported by the sandbox`,
      );
      return;
    }
    const service = form.get('service');
    if (service !== registry.loginServer) {
      sendAcrError(
        response,
        400,
        'BAD_REQUEST',
        `service '${service ?? ''}' does not match ${registry.loginServer}`,
      );
      return;
    }
    const aad = this.base.tokens.verify(form.get('access_token') ?? undefined, ACR_AAD_AUDIENCES);
    const tenant = form.get('tenant');
    if (
      aad === undefined ||
      (tenant !== null && tenant !== '' && tenant.toLowerCase() !== aad.tid.toLowerCase())
    ) {
      sendAcrError(
        response,
        401,
        'UNAUTHORIZED',
        'The access token is invalid or expired, or its audience or tenant does not match.',
      );
      return;
    }
    seen.principal = aad.oid;
    sendJson(response, 200, {
      refresh_token: this.refreshToken(registry, {
        sub: aad.oid,
        ids: [aad.oid.toLowerCase(), aad.appid.toLowerCase()],
      }),
    });
  }

  /** `POST /oauth2/token` (refresh token or password grant) and `GET /oauth2/token` (Basic auth or anonymous). */
  private async token(
    registry: SandboxRegistry,
    request: IncomingMessage,
    response: ServerResponse,
    query: URLSearchParams,
    seen: { principal?: string; scopes?: string[] },
  ): Promise<void> {
    let params: URLSearchParams;
    let principal: Principal | undefined;
    if (request.method === 'POST') {
      params = new URLSearchParams((await readBody(request)).toString('utf8'));
      const grantType = params.get('grant_type');
      if (grantType === 'refresh_token') {
        principal = this.principalFromRefreshToken(registry, params.get('refresh_token') ?? '');
      } else if (grantType === 'password') {
        const username = params.get('username');
        // The SDK's anonymous form: grant_type=password without credentials.
        principal =
          username === null || username === ''
            ? { sub: 'anonymous', ids: [], anonymous: true }
            : this.principalFromPassword(registry, username, params.get('password') ?? '');
      } else {
        sendAcrError(response, 400, 'UNSUPPORTED', `grant_type '${grantType ?? ''}' is not supported`);
        return;
      }
    } else if (request.method === 'GET') {
      await drain(request);
      params = query;
      const basic = /^Basic\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
      if (basic === undefined) principal = { sub: 'anonymous', ids: [], anonymous: true };
      else {
        const decoded = Buffer.from(basic, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        principal =
          colon < 0
            ? undefined
            : this.principalFromPassword(registry, decoded.slice(0, colon), decoded.slice(colon + 1));
      }
    } else {
      await drain(request);
      sendAcrError(response, 405, 'UNSUPPORTED', 'The operation is unsupported.');
      return;
    }
    const service = params.get('service');
    if (service !== null && service !== registry.loginServer) {
      sendAcrError(
        response,
        400,
        'BAD_REQUEST',
        `service '${service}' does not match ${registry.loginServer}`,
      );
      return;
    }
    const requested = params.getAll('scope');
    seen.scopes = requested;
    if (principal === undefined || (principal.anonymous === true && !registry.anonymousPullEnabled)) {
      sendAcrError(response, 401, 'UNAUTHORIZED', UNAUTHORIZED_MESSAGE);
      return;
    }
    seen.principal = principal.sub;
    sendJson(response, 200, { access_token: this.accessToken(registry, principal, scopesOf(requested)) });
  }

  private principalFromRefreshToken(registry: SandboxRegistry, token: string): Principal | undefined {
    const claims = this.verify(token, registry, 'refresh_token');
    return claims === undefined ? undefined : { sub: claims.sub, ids: claims.ids ?? [claims.sub] };
  }

  private principalFromPassword(
    registry: SandboxRegistry,
    username: string,
    password: string,
  ): Principal | undefined {
    if (username === ACR_REFRESH_TOKEN_USERNAME) return this.principalFromRefreshToken(registry, password);
    if (
      registry.adminPassword !== undefined &&
      username.toLowerCase() === registry.name &&
      password === registry.adminPassword
    ) {
      return { sub: 'admin', ids: [], admin: true };
    }
    return undefined;
  }

  // --- data plane ---------------------------------------------------------------------------

  /** Why a write to `reference` (tag or digest) of a repository is refused, or undefined. */
  private writeRefusal(registry: SandboxRegistry, repository: string, reference: string): string | undefined {
    if (!this.attributesOf(registry, repository).writeEnabled) return DENIED_MESSAGE;
    if (!isDigest(reference) && !this.attributesOf(registry, repository, reference).writeEnabled)
      return DENIED_MESSAGE;
    return undefined;
  }

  private deleteRefusal(
    registry: SandboxRegistry,
    repository: string,
    reference: string,
  ): string | undefined {
    const locked = (a: ChangeableAttributes): boolean => !a.deleteEnabled || !a.writeEnabled;
    if (locked(this.attributesOf(registry, repository))) return DENIED_MESSAGE;
    if (locked(this.attributesOf(registry, repository, reference))) return DENIED_MESSAGE;
    if (isDigest(reference)) {
      // Deleting a manifest deletes its tags too: a locked tag protects it.
      for (const tag of registry.backend.storage.tags(repository)) {
        if (tag.digest === reference && locked(this.attributesOf(registry, repository, tag.name)))
          return DENIED_MESSAGE;
      }
    }
    return undefined;
  }

  private async putManifest(
    registry: SandboxRegistry,
    repository: string,
    reference: string,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    // Manifests are small (ACR caps them at 4 MiB): buffering one lets the front read `subject`.
    const body = await readBody(request);
    const refusal = this.writeRefusal(registry, repository, reference);
    if (refusal !== undefined) {
      sendAcrError(response, 405, 'DENIED', refusal);
      return;
    }
    let subject: string | undefined;
    try {
      subject = (JSON.parse(body.toString('utf8')) as ParsedManifest).subject?.digest;
    } catch {
      subject = undefined; // the registry answers MANIFEST_INVALID itself
    }
    const extra: Record<string, string> =
      registry.referrersApi && subject !== undefined ? { 'oci-subject': subject } : {};
    await this.forward(registry, request, response, request.url ?? '/', body, extra);
  }

  /** Streams a request to the real registry and its answer back. */
  private forward(
    registry: SandboxRegistry,
    request: IncomingMessage,
    response: ServerResponse,
    url: string,
    body?: Buffer,
    extraHeaders: Record<string, string> = {},
  ): Promise<void> {
    return new Promise<void>((resolve) => {
      const headers: http.OutgoingHttpHeaders = { ...request.headers };
      for (const name of ['authorization', 'connection', 'keep-alive', 'proxy-connection', 'upgrade'])
        delete headers[name];
      if (body !== undefined) {
        delete headers['transfer-encoding'];
        headers['content-length'] = body.length;
      }
      const upstream = http.request({
        host: '127.0.0.1',
        port: registry.backend.port,
        method: request.method,
        path: url,
        headers,
        agent: this.agent,
      });
      upstream.on('response', (answer) => {
        const answerHeaders: http.OutgoingHttpHeaders = { ...answer.headers, ...extraHeaders };
        for (const name of ['connection', 'keep-alive']) delete answerHeaders[name];
        const location = answer.headers.location;
        if (location !== undefined && /^https?:\/\//i.test(location)) {
          // relativeurls keeps Locations relative; should one be absolute, point it at the front's path.
          const parsed = new URL(location);
          answerHeaders.location = `${parsed.pathname}${parsed.search}`;
        }
        response.writeHead(answer.statusCode ?? 502, answerHeaders);
        answer.pipe(response);
        answer.on('end', resolve);
        answer.on('error', () => {
          response.destroy();
          resolve();
        });
      });
      upstream.on('error', (error) => {
        if (!response.headersSent)
          sendAcrError(response, 502, 'UNKNOWN', `registry backend failed: ${error.message}`);
        else response.destroy();
        resolve();
      });
      response.on('close', () => {
        if (!response.writableFinished) upstream.destroy();
        resolve();
      });
      if (body !== undefined) upstream.end(body);
      else request.pipe(upstream);
    });
  }

  /** ACR's referrers API, from the manifests the registry stores. */
  private referrers(
    registry: SandboxRegistry,
    repository: string,
    subject: string,
    query: URLSearchParams,
    response: ServerResponse,
  ): void {
    if (!isDigest(subject)) {
      sendAcrError(response, 400, 'DIGEST_INVALID', 'provided digest did not match uploaded content');
      return;
    }
    const storage = registry.backend.storage;
    const artifactType = query.get('artifactType');
    const manifests = storage.manifests(repository).flatMap((stored) => {
      const content = storage.readBlob(stored.digest);
      if (content === undefined) return [];
      const parsed = parseManifest(content);
      if (parsed?.subject?.digest !== subject) return [];
      const type = parsed.artifactType ?? parsed.config?.mediaType;
      if (artifactType !== null && type !== artifactType) return [];
      return [
        {
          mediaType: parsed.mediaType ?? OCI_MANIFEST,
          digest: stored.digest,
          size: content.length,
          ...(type === undefined ? {} : { artifactType: type }),
          ...(parsed.annotations === undefined ? {} : { annotations: parsed.annotations }),
        },
      ];
    });
    const text = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests });
    response.writeHead(200, {
      'content-type': OCI_INDEX,
      'content-length': Buffer.byteLength(text),
      'docker-distribution-api-version': 'registry/2.0',
      ...(artifactType === null ? {} : { 'oci-filters-applied': 'artifactType' }),
    });
    response.end(text);
  }

  // --- /acr/v1 metadata ---------------------------------------------------------------------

  private async metadata(
    registry: SandboxRegistry,
    route: Route,
    method: string,
    query: URLSearchParams,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    const body = await readBody(request);
    const storage = registry.backend.storage;
    const repository = route.repository ?? '';
    const header = { registry: registry.loginServer, imageName: repository };
    if (route.template === '/acr/v1/_catalog' && method === 'GET') {
      const page = paginate(storage.repositories(), (r) => r, query);
      const link: Record<string, string> =
        page.next === undefined
          ? {}
          : { link: `</acr/v1/_catalog?last=${encodeURIComponent(page.next)}&n=${page.size}>; rel="next"` };
      sendJson(response, 200, { repositories: page.items }, link);
      return;
    }
    const manifests = storage.manifests(repository);
    if (manifests.length === 0) {
      sendAcrError(response, 404, 'NAME_UNKNOWN', 'repository name not known to registry');
      return;
    }
    const changes = parseChanges(body);
    switch (route.template) {
      case '/acr/v1/{repo}': {
        if (method === 'DELETE') return this.deleteRepository(registry, repository, response);
        if (method === 'PATCH') this.setAttributes(registry, repository, undefined, changes);
        else if (method !== 'GET') break;
        const tags = storage.tags(repository);
        const times = [...manifests.map((m) => m.lastUpdatedOn), ...tags.map((t) => t.lastUpdatedOn)].map(
          (d) => d.getTime(),
        );
        sendJson(response, 200, {
          ...header,
          createdTime: manifests[0]?.createdOn.toISOString(),
          lastUpdateTime: new Date(Math.max(...times)).toISOString(),
          manifestCount: manifests.length,
          tagCount: tags.length,
          changeableAttributes: { ...this.attributesOf(registry, repository), teleportEnabled: false },
        });
        return;
      }
      case '/acr/v1/{repo}/_tags': {
        if (method !== 'GET') break;
        const digest = query.get('digest');
        const tags = sortByTime(
          storage.tags(repository).filter((t) => digest === null || t.digest === digest),
          query.get('orderby'),
        );
        const page = paginate(tags, (t) => t.name, query);
        const link: Record<string, string> =
          page.next === undefined
            ? {}
            : {
                link: `</acr/v1/${repository}/_tags?last=${encodeURIComponent(page.next)}&n=${page.size}${orderbyParam(query)}>; rel="next"`,
              };
        sendJson(
          response,
          200,
          { ...header, tags: page.items.map((t) => this.tagJson(registry, repository, t)) },
          link,
        );
        return;
      }
      case '/acr/v1/{repo}/_tags/{tag}': {
        const name = route.reference ?? '';
        const tag = storage.tag(repository, name);
        if (tag === undefined) {
          sendAcrError(response, 404, 'TAG_UNKNOWN', 'the specified tag does not exist');
          return;
        }
        if (method === 'DELETE') {
          const refusal = this.deleteRefusal(registry, repository, name);
          if (refusal !== undefined) {
            sendAcrError(response, 405, 'DENIED', refusal);
            return;
          }
          storage.deleteTag(repository, name);
          this.forgetAttributes(registry, repository, name);
          response.writeHead(202, { 'content-length': 0 }).end();
          return;
        }
        if (method === 'PATCH') this.setAttributes(registry, repository, name, changes);
        else if (method !== 'GET') break;
        sendJson(response, 200, { ...header, tag: this.tagJson(registry, repository, tag) });
        return;
      }
      case '/acr/v1/{repo}/_manifests': {
        if (method !== 'GET') break;
        const sorted = sortByTime(manifests, query.get('orderby'));
        const page = paginate(sorted, (m) => m.digest, query);
        const link: Record<string, string> =
          page.next === undefined
            ? {}
            : {
                link: `</acr/v1/${repository}/_manifests?last=${encodeURIComponent(page.next)}&n=${page.size}${orderbyParam(query)}>; rel="next"`,
              };
        sendJson(
          response,
          200,
          {
            ...header,
            manifests: page.items.map((m) => this.manifestJson(registry, repository, m.digest, m)),
          },
          link,
        );
        return;
      }
      case '/acr/v1/{repo}/_manifests/{digest}': {
        const digest = route.reference ?? '';
        const stored = manifests.find((m) => m.digest === digest);
        if (stored === undefined) {
          sendAcrError(response, 404, 'MANIFEST_UNKNOWN', `manifest ${digest} is not found`);
          return;
        }
        if (method === 'PATCH') this.setAttributes(registry, repository, digest, changes);
        else if (method !== 'GET') break;
        sendJson(response, 200, {
          ...header,
          manifest: this.manifestJson(registry, repository, digest, stored),
        });
        return;
      }
      default:
        break;
    }
    sendAcrError(response, 405, 'UNSUPPORTED', 'The operation is unsupported.');
  }

  private tagJson(
    registry: SandboxRegistry,
    repository: string,
    tag: { name: string; digest: string; createdOn: Date; lastUpdatedOn: Date },
  ): Record<string, unknown> {
    return {
      name: tag.name,
      digest: tag.digest,
      createdTime: tag.createdOn.toISOString(),
      lastUpdateTime: tag.lastUpdatedOn.toISOString(),
      signed: false,
      changeableAttributes: this.attributesOf(registry, repository, tag.name),
    };
  }

  private manifestJson(
    registry: SandboxRegistry,
    repository: string,
    digest: string,
    stored: { createdOn: Date; lastUpdatedOn: Date },
  ): Record<string, unknown> {
    const storage = registry.backend.storage;
    const content = storage.readBlob(digest) ?? Buffer.alloc(0);
    const parsed = parseManifest(content) ?? {};
    const platform = platformOf(storage, parsed);
    const imageSize =
      parsed.manifests !== undefined
        ? parsed.manifests.reduce((sum, m) => sum + m.size, content.length)
        : (parsed.config?.size ?? 0) + (parsed.layers ?? []).reduce((sum, l) => sum + l.size, 0);
    return {
      digest,
      imageSize,
      createdTime: stored.createdOn.toISOString(),
      lastUpdateTime: stored.lastUpdatedOn.toISOString(),
      mediaType: parsed.mediaType ?? OCI_MANIFEST,
      ...(platform.architecture === undefined ? {} : { architecture: platform.architecture }),
      ...(platform.os === undefined ? {} : { os: platform.os }),
      ...(parsed.manifests === undefined
        ? {}
        : {
            references: parsed.manifests.map((m) => ({
              digest: m.digest,
              ...(m.platform?.architecture === undefined ? {} : { architecture: m.platform.architecture }),
              ...(m.platform?.os === undefined ? {} : { os: m.platform.os }),
            })),
          }),
      ...(parsed.config?.mediaType === undefined ? {} : { configMediaType: parsed.config.mediaType }),
      tags: storage
        .tags(repository)
        .filter((t) => t.digest === digest)
        .map((t) => t.name),
      changeableAttributes: this.attributesOf(registry, repository, digest),
    };
  }

  private async deleteRepository(
    registry: SandboxRegistry,
    repository: string,
    response: ServerResponse,
  ): Promise<void> {
    const storage = registry.backend.storage;
    const manifests = storage.manifests(repository);
    const tags = storage.tags(repository);
    const refused = [
      this.deleteRefusal(registry, repository, ''),
      ...manifests.map((m) => this.deleteRefusal(registry, repository, m.digest)),
    ].find((r) => r !== undefined);
    if (refused !== undefined) {
      sendAcrError(response, 405, 'DENIED', refused);
      return;
    }
    for (const manifest of manifests) {
      await this.backendRequest(registry, 'DELETE', `/v2/${repository}/manifests/${manifest.digest}`);
    }
    for (const tag of tags) storage.deleteTag(repository, tag.name);
    sendJson(response, 202, {
      manifestsDeleted: manifests.map((m) => m.digest),
      tagsDeleted: tags.map((t) => t.name),
    });
  }

  private backendRequest(registry: SandboxRegistry, method: string, requestPath: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const request = http.request(
        { host: '127.0.0.1', port: registry.backend.port, method, path: requestPath, agent: this.agent },
        (answer) => {
          answer.resume();
          answer.on('end', () => resolve(answer.statusCode ?? 0));
        },
      );
      request.on('error', reject);
      request.end();
    });
  }

  // --- ARM: Microsoft.ContainerRegistry/registries ------------------------------------------

  async handleArm(call: ArmRequest): Promise<boolean> {
    const { request, response } = call;
    const subscriptionPrefix = `/subscriptions/${this.base.subscriptionId}/`.toLowerCase();
    const requestPath = call.path.replace(/\/+$/, '');
    const lower = requestPath.toLowerCase();
    const provider = 'providers/microsoft.containerregistry/registries';
    if (!lower.startsWith(subscriptionPrefix) || !lower.includes(provider)) return false;
    const rest = requestPath.slice(subscriptionPrefix.length);
    const all = [...this.registries.values()];
    if (request.method === 'GET' && new RegExp(`^${provider}$`, 'i').test(rest)) {
      sendJson(response, 200, { value: all.map((r) => this.registryResource(r)) });
      return true;
    }
    const match = new RegExp(`^resourcegroups/([^/]+)/${provider}(?:/([^/]+)(?:/(.+))?)?$`, 'i').exec(rest);
    if (match === null) return false;
    const [, resourceGroup = '', name, action] = match;
    const inGroup = all.filter((r) => r.resourceGroup.toLowerCase() === resourceGroup.toLowerCase());
    const groupExists = [...(this.arm?.resourceGroups ?? []), ...all.map((r) => r.resourceGroup)].some(
      (g) => g.toLowerCase() === resourceGroup.toLowerCase(),
    );
    if (!groupExists) {
      sendResourceGroupNotFound(response, resourceGroup);
      return true;
    }
    if (name === undefined) {
      if (request.method !== 'GET') return false;
      sendJson(response, 200, { value: inGroup.map((r) => this.registryResource(r)) });
      return true;
    }
    const registry = inGroup.find((r) => r.name === name.toLowerCase());
    if (registry === undefined) {
      sendResourceNotFound(response, 'Microsoft.ContainerRegistry/registries', name, resourceGroup);
      return true;
    }
    if (action === undefined) {
      if (request.method !== 'GET') return false;
      sendJson(response, 200, this.registryResource(registry));
      return true;
    }
    if (request.method === 'POST' && action.toLowerCase() === 'importimage') {
      await this.startImport(registry, call);
      return true;
    }
    if (request.method === 'POST' && action.toLowerCase() === 'listcredentials') {
      if (registry.adminPassword === undefined) {
        sendArmError(response, 400, 'AdminUserDisabled', 'Admin user is disabled.');
        return true;
      }
      sendJson(response, 200, {
        username: registry.name,
        passwords: [
          { name: 'password', value: registry.adminPassword },
          { name: 'password2', value: `${registry.adminPassword}2` },
        ],
      });
      return true;
    }
    const operation = /^operation(statuses|results)\/([^/]+)$/i.exec(action);
    if (request.method === 'GET' && operation !== null) {
      await this.operationAnswer(operation[1]?.toLowerCase() === 'statuses', operation[2] ?? '', response);
      return true;
    }
    return false;
  }

  private registryResource(registry: SandboxRegistry): Record<string, unknown> {
    return {
      id: registry.id,
      name: registry.name,
      type: 'Microsoft.ContainerRegistry/registries',
      location: registry.location,
      tags: registry.tags,
      sku: { name: registry.sku, tier: registry.sku },
      properties: {
        loginServer: registry.loginServer,
        creationDate: registry.createdOn.toISOString(),
        provisioningState: 'Succeeded',
        adminUserEnabled: registry.adminPassword !== undefined,
        anonymousPullEnabled: registry.anonymousPullEnabled,
        dataEndpointEnabled: false,
        dataEndpointHostNames: [],
        publicNetworkAccess: 'Enabled',
        networkRuleBypassOptions: 'AzureServices',
        zoneRedundancy: 'Disabled',
        privateEndpointConnections: [],
        encryption: { status: 'disabled' },
        policies: {
          quarantinePolicy: { status: 'disabled' },
          trustPolicy: { type: 'Notary', status: 'disabled' },
          retentionPolicy: { days: 7, status: 'disabled' },
          exportPolicy: { status: 'enabled' },
        },
      },
    };
  }

  private async startImport(target: SandboxRegistry, call: ArmRequest): Promise<void> {
    const { request, response, query, caller } = call;
    let body: {
      source?: { resourceId?: string; registryUri?: string; sourceImage?: string };
      targetTags?: string[];
      untaggedTargetRepositories?: string[];
      mode?: string;
    };
    try {
      body = JSON.parse((await readBody(request)).toString('utf8')) as typeof body;
    } catch {
      sendArmError(
        response,
        400,
        'InvalidRequestContent',
        'The request content was invalid and could not be deserialized.',
      );
      return;
    }
    const sourceImage = body.source?.sourceImage;
    if (sourceImage === undefined || sourceImage === '') {
      sendArmError(response, 400, 'InvalidParameters', 'The source image is required.');
      return;
    }
    const source = this.importSource(body.source ?? {});
    if (source === undefined) {
      sendArmError(
        response,
        400,
        'InvalidParameters',
        'The source container registry can not be found. Please provide a valid address or credentials and try again.',
      );
      return;
    }
    const callerIds = [caller.oid, caller.appid].map((id) => id.toLowerCase());
    for (const [registry, needed, action] of [
      [target, 'push', 'Microsoft.ContainerRegistry/registries/importImage/action'],
      [source, 'pull', 'Microsoft.ContainerRegistry/registries/pull/read'],
    ] as const) {
      if (!this.permissionsOf(registry, callerIds).has(needed)) {
        sendArmError(
          response,
          403,
          'AuthorizationFailed',
          `The client '${caller.appid}' with object id '${caller.oid}' does not have authorization to perform action '${action}' over scope '${registry.id}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
        );
        return;
      }
    }
    const operationId = `registries-${crypto.randomUUID()}`;
    const record: ImportRecord = {
      operationId,
      target: target.name,
      source: source.name,
      sourceImage,
      targetTags: body.targetTags ?? [],
      untaggedTargetRepositories: body.untaggedTargetRepositories ?? [],
      mode: body.mode ?? 'NoForce',
      status: 'InProgress',
    };
    this.imports.push(record);
    const operation: Operation = {
      record,
      startTime: new Date(),
      done: this.runImport(source, target, record).then(
        (digest) => {
          record.digest = digest;
          record.status = 'Succeeded';
        },
        (error: unknown) => {
          record.status = 'Failed';
          record.error =
            error instanceof ImportFailure
              ? { code: error.code, message: error.message }
              : { code: 'InternalServerError', message: String(error) };
        },
      ),
    };
    void operation.done.then(() => (operation.endTime = new Date()));
    this.operations.set(operationId, operation);
    const apiVersion = query.get('api-version') ?? '';
    const operationBase = `https://management.azure.com${target.id}`;
    response.writeHead(202, {
      'azure-asyncoperation': `${operationBase}/operationStatuses/${operationId}?api-version=${apiVersion}`,
      location: `${operationBase}/operationResults/${operationId}?api-version=${apiVersion}`,
      'retry-after': '1',
      'content-length': 0,
    });
    response.end();
  }

  private importSource(source: { resourceId?: string; registryUri?: string }): SandboxRegistry | undefined {
    const all = [...this.registries.values()];
    if (source.resourceId !== undefined && source.resourceId !== '') {
      return all.find((r) => r.id.toLowerCase() === source.resourceId?.toLowerCase());
    }
    const host = (source.registryUri ?? '')
      .replace(/^https?:\/\//i, '')
      .replace(/\/.*$/, '')
      .toLowerCase();
    return all.find((r) => r.loginServer === host);
  }

  /** The import itself: resolve once, check every target before copying, copy, then tag. */
  private async runImport(
    source: SandboxRegistry,
    target: SandboxRegistry,
    record: ImportRecord,
  ): Promise<string> {
    const image = parseImageReference(record.sourceImage);
    if (image === undefined)
      throw new ImportFailure('InvalidParameters', `The source image '${record.sourceImage}' is invalid.`);
    const sourceStorage = source.backend.storage;
    const digest =
      image.digest !== undefined
        ? sourceStorage.hasManifest(image.repository, image.digest)
          ? image.digest
          : undefined
        : sourceStorage.tag(image.repository, image.tag ?? 'latest')?.digest;
    if (digest === undefined) {
      throw new ImportFailure(
        'ImportSourceNotFound',
        `Source image ${source.loginServer}/${record.sourceImage} not found. Please provide a valid image and source registry or a fully qualified source.`,
      );
    }
    const targetTags = [...record.targetTags];
    const untagged = [...record.untaggedTargetRepositories];
    if (targetTags.length === 0 && untagged.length === 0) {
      if (image.digest === undefined) targetTags.push(`${image.repository}:${image.tag ?? 'latest'}`);
      else untagged.push(image.repository);
    }
    const tags = targetTags.map((t) => {
      const colon = t.lastIndexOf(':');
      return colon > 0 && !t.slice(colon).includes('/')
        ? { repository: t.slice(0, colon), tag: t.slice(colon + 1) }
        : { repository: t, tag: image.tag ?? 'latest' };
    });
    for (const { repository, tag } of tags) {
      if (!REPOSITORY_NAME.test(repository) || !/^\w[\w.-]{0,127}$/.test(tag)) {
        throw new ImportFailure('InvalidParameters', `The target tag '${repository}:${tag}' is invalid.`);
      }
      if (this.writeRefusal(target, repository, tag) !== undefined) {
        throw new ImportFailure(
          'DENIED',
          `${DENIED_MESSAGE} Tag ${repository}:${tag} is locked in target registry.`,
        );
      }
      const existing = target.backend.storage.tag(repository, tag);
      if (record.mode !== 'Force' && existing !== undefined && existing.digest !== digest) {
        throw new ImportFailure(
          'TagAlreadyExists',
          `Tag ${repository}:${tag} already exists in target registry.`,
        );
      }
    }
    const sourceEndpoint = source.backend.endpoint;
    const targetEndpoint = target.backend.endpoint;
    const repositories = [...new Set([...tags.map((t) => t.repository), ...untagged])];
    for (const repository of repositories) {
      await copyArtifact(sourceEndpoint, image.repository, targetEndpoint, repository, digest);
    }
    for (const { repository, tag } of tags) {
      const manifest = await getManifest(targetEndpoint, repository, digest);
      if (manifest === undefined)
        throw new ImportFailure('InternalServerError', `copied manifest ${digest} vanished`);
      await putManifest(targetEndpoint, repository, tag, manifest.mediaType, manifest.body);
    }
    const copied = await getManifest(targetEndpoint, repositories[0] ?? image.repository, digest);
    if (copied === undefined || sha256Digest(copied.body) !== digest) {
      throw new ImportFailure('InternalServerError', `the copy of ${digest} does not match its digest`);
    }
    return digest;
  }

  /**
   * Azure-AsyncOperation (status) and Location (result) of an import. A status request waits up to
   * 3 s for the copy to finish: the poller asks once at once, then only every Retry-After seconds.
   */
  private async operationAnswer(
    status: boolean,
    operationId: string,
    response: ServerResponse,
  ): Promise<void> {
    const operation = this.operations.get(operationId);
    if (operation === undefined) {
      sendArmError(response, 404, 'OperationNotFound', `The operation '${operationId}' was not found.`);
      return;
    }
    await Promise.race([operation.done, new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
    const { record } = operation;
    if (!status) {
      if (record.status === 'InProgress') {
        response.writeHead(202, { 'retry-after': '1', 'content-length': 0 }).end();
      } else if (record.status === 'Failed') {
        sendArmError(
          response,
          400,
          record.error?.code ?? 'Failed',
          record.error?.message ?? 'The import failed.',
        );
      } else {
        // 200 with no body: the SDK's final GET accepts 200/201/202 only (204 would throw).
        response.writeHead(200, { 'content-length': 0 }).end();
      }
      return;
    }
    sendJson(
      response,
      200,
      {
        id: `${this.registryNamed(record.target).id}/operationStatuses/${operationId}`,
        name: operationId,
        status: record.status,
        startTime: operation.startTime.toISOString(),
        ...(operation.endTime === undefined ? {} : { endTime: operation.endTime.toISOString() }),
        ...(record.error === undefined ? {} : { error: record.error }),
      },
      record.status === 'InProgress' ? { 'retry-after': '1' } : {},
    );
  }

  async close(): Promise<void> {
    // Let running imports finish so no copy writes into a registry being torn down.
    await Promise.all([...this.operations.values()].map((o) => o.done));
    const closers = this.closers.splice(0);
    await Promise.all(closers.map((close) => close()));
    this.agent.destroy();
  }
}

function attributeKey(registry: SandboxRegistry, repository: string, reference?: string): string {
  return `${registry.name}/${repository}${reference === undefined ? '' : isDigest(reference) ? `@${reference}` : `:${reference}`}`;
}

function parseManifest(content: Buffer): ParsedManifest | undefined {
  try {
    return JSON.parse(content.toString('utf8')) as ParsedManifest;
  } catch {
    return undefined;
  }
}

/** Architecture and OS of an image manifest, from its config blob. */
function platformOf(
  storage: RegistryStorage,
  manifest: ParsedManifest,
): { architecture?: string; os?: string } {
  const config = manifest.config;
  if (config === undefined || manifest.manifests !== undefined) return {};
  if (!/container\.image\.v1\+json|image\.config\.v1\+json/.test(config.mediaType ?? '')) return {};
  const content = storage.readBlob(config.digest);
  if (content === undefined) return {};
  try {
    const parsed = JSON.parse(content.toString('utf8')) as { architecture?: string; os?: string };
    return {
      ...(parsed.architecture === undefined ? {} : { architecture: parsed.architecture }),
      ...(parsed.os === undefined ? {} : { os: parsed.os }),
    };
  } catch {
    return {};
  }
}

function parseChanges(body: Buffer): Partial<ChangeableAttributes> {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8')) as Partial<ChangeableAttributes>;
  } catch {
    return {};
  }
}

/** `repo:tag`, `repo@sha256:…`, or `repo` (latest). */
export function parseImageReference(
  reference: string,
): { repository: string; tag?: string; digest?: string } | undefined {
  const at = reference.indexOf('@');
  if (at > 0) {
    const repository = reference.slice(0, at);
    const digest = reference.slice(at + 1);
    return REPOSITORY_NAME.test(repository) && isDigest(digest) ? { repository, digest } : undefined;
  }
  const colon = reference.lastIndexOf(':');
  const repository = colon > 0 ? reference.slice(0, colon) : reference;
  const tag = colon > 0 ? reference.slice(colon + 1) : 'latest';
  return REPOSITORY_NAME.test(repository) && /^\w[\w.-]{0,127}$/.test(tag) ? { repository, tag } : undefined;
}

function sortByTime<T extends { lastUpdatedOn: Date }>(items: readonly T[], orderby: string | null): T[] {
  const sorted = [...items];
  if (orderby === 'timedesc') sorted.sort((a, b) => b.lastUpdatedOn.getTime() - a.lastUpdatedOn.getTime());
  else if (orderby === 'timeasc')
    sorted.sort((a, b) => a.lastUpdatedOn.getTime() - b.lastUpdatedOn.getTime());
  return sorted;
}

function orderbyParam(query: URLSearchParams): string {
  const orderby = query.get('orderby');
  return orderby === null ? '' : `&orderby=${encodeURIComponent(orderby)}`;
}

/** ACR paging: `n` items after the one whose key is `last`; `next` is the key to continue from. */
function paginate<T>(
  items: readonly T[],
  key: (item: T) => string,
  query: URLSearchParams,
): { items: T[]; next?: string; size: number } {
  const last = query.get('last');
  const size = Math.max(1, Math.min(Number(query.get('n') ?? '100') || 100, 1000));
  const start = last === null ? 0 : items.findIndex((item) => key(item) === last) + 1;
  const page = items.slice(start, start + size);
  const lastItem = page[page.length - 1];
  return start + size < items.length && lastItem !== undefined
    ? { items: page, next: key(lastItem), size }
    : { items: page, size };
}

function stripMount(url: string): string {
  const [pathname = '/', search = ''] = url.split('?');
  const params = new URLSearchParams(search);
  params.delete('mount');
  params.delete('from');
  const rest = params.toString();
  return rest === '' ? pathname : `${pathname}?${rest}`;
}

async function drain(request: IncomingMessage): Promise<void> {
  for await (const chunk of request) void chunk;
}
