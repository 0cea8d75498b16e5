import * as crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendResourceNotFound, type ArmProvider, type ArmRequest } from '../arm';
import type { SandboxBase } from '../base';
import { withFaults } from '../faults';
import {
  pathOf,
  queryOf,
  sendJson,
  startHttpsServer,
  type RequestHandler,
  type RunningServer,
} from '../httpsServer';
import type { AccessTokenClaims } from '../entra/accessTokens';
import type { SandboxService, ServiceOptions } from '../service';
import { decodeJwt } from '../jwt';

export const KEY_VAULT_HOST_SUFFIX = 'vault.azure.net';
export const KEY_VAULT_AUDIENCE = 'https://vault.azure.net';
/** The service's page size limit for `maxresults`. */
export const KEY_VAULT_MAX_PAGE_SIZE = 25;

export type VaultPermissionModel = 'rbac' | 'accessPolicy';

export interface VaultOptions {
  readonly model?: VaultPermissionModel;
  /** appids or object ids that may read secrets; everyone else gets 403. Omitted: everyone may. */
  readonly allowedPrincipals?: readonly string[];
  /** Public network access denied: 403 ForbiddenByFirewall for every caller. */
  readonly firewall?: boolean;
  readonly resourceGroup?: string;
  readonly location?: string;
}

/** A vault's state; tests may change `firewall` and `allowedPrincipals` between calls. */
export interface SandboxVault {
  readonly name: string;
  readonly model: VaultPermissionModel;
  readonly resourceGroup: string;
  readonly location: string;
  /** `undefined`: every authenticated caller may read. */
  allowedPrincipals: Set<string> | undefined;
  firewall: boolean;
  readonly uri: string;
  readonly resourceId: string;
}

export interface SecretOptions {
  readonly enabled?: boolean;
  /**
   * Listed as it is, but fetching it answers as if it had just been disabled (403 SecretDisabled)
   * or deleted (404): the race between a task's listing and its fetches.
   */
  readonly changedAfterListing?: 'disabled' | 'deleted';
  readonly exp?: Date;
  readonly nbf?: Date;
  readonly contentType?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

export interface SecretVersion {
  readonly version: string;
  readonly value: string;
  readonly enabled: boolean;
  readonly exp?: Date;
  readonly nbf?: Date;
  readonly contentType?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly created: Date;
  readonly changedAfterListing?: 'disabled' | 'deleted';
}

/** Route templates as counted in `requestCounts`. */
export type KeyVaultRoute =
  | 'GET /secrets'
  | 'GET /secrets/{name}'
  | 'GET /secrets/{name}/{version}'
  | 'GET /secrets/{name}/versions'
  | 'other';

export interface KeyVaultRequestRecord {
  readonly vault: string;
  readonly route: KeyVaultRoute;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** False when the connection closed before the whole answer was sent. */
  readonly completed: boolean;
  /** appid of the caller when the request carried a valid token. */
  readonly caller?: string;
}

export interface KeyVaultServer extends RunningServer, SandboxService {
  createVault(name: string, options?: VaultOptions): SandboxVault;
  /** Adds a version (the latest wins); returns it. */
  setSecret(vault: string, name: string, value: string, options?: SecretOptions): SecretVersion;
  readonly vaults: ReadonlyMap<string, SandboxVault>;
  /** Every data-plane request, in order. */
  readonly requests: readonly KeyVaultRequestRecord[];
  /** Data-plane requests per route (challenges and rejections included). */
  readonly requestCounts: Readonly<Record<KeyVaultRoute, number>>;
  /** ARM routes listing the vaults (for the pickers); already added to `options.arm`. */
  readonly armProvider: ArmProvider;
}

export type KeyVaultOptions = ServiceOptions;

type Permission = 'get' | 'list';

const RBAC_ACTIONS: Record<Permission, string> = {
  get: 'Microsoft.KeyVault/vaults/secrets/getSecret/action',
  list: 'Microsoft.KeyVault/vaults/secrets/readMetadata/action',
};

/** Key Vault's data-plane error body; `innerCode` goes to `error.innererror.code`. */
function sendVaultError(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  innerCode?: string,
  headers: Record<string, string> = {},
): void {
  const error =
    innerCode === undefined ? { code, message } : { code, message, innererror: { code: innerCode } };
  sendJson(response, status, { error }, headers);
}

/**
 * The Key Vault secrets data plane for any `<name>.vault.azure.net`: the 401 challenge, token
 * audience, firewall, RBAC and access-policy denials, disabled and missing secrets, paging with
 * absolute `nextLink`s, versions. The vault comes from the Host header.
 */
export async function startKeyVault(
  base: SandboxBase,
  options: KeyVaultOptions = {},
): Promise<KeyVaultServer> {
  const vaults = new Map<string, SandboxVault>();
  const secrets = new Map<string, Map<string, SecretVersion[]>>();
  const requests: KeyVaultRequestRecord[] = [];
  const challenge = `Bearer authorization="https://login.microsoftonline.com/${base.tenantId}", resource="${KEY_VAULT_AUDIENCE}"`;

  const callerDescription = (caller: AccessTokenClaims): string =>
    `appid=${caller.appid};oid=${caller.oid};iss=${caller.iss}`;

  /** Sends the 403 a caller without `permission` gets, in the vault's permission model. */
  const sendDenied = (
    response: ServerResponse,
    vault: SandboxVault,
    caller: AccessTokenClaims,
    permission: Permission,
    secretName?: string,
  ): void => {
    if (vault.model === 'rbac') {
      const resource = `${vault.resourceId.toLowerCase()}${secretName === undefined ? '' : `/secrets/${secretName}`}`;
      const message = [
        'Caller is not authorized to perform action on resource.',
        'If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.',
        `Caller: ${callerDescription(caller)}`,
        `Action: '${RBAC_ACTIONS[permission]}'`,
        `Resource: '${resource}'`,
        'Assignment: (not found)',
        'DenyAssignmentId: null',
        "DecisionReason: 'DeniedWithNoValidRBAC' ",
        `Vault: ${vault.name};location=${vault.location}`,
        '',
      ].join('\r\n');
      sendVaultError(response, 403, 'Forbidden', message, 'ForbiddenByRbac');
      return;
    }
    const message =
      `The user, group or application '${callerDescription(caller)}' does not have secrets ${permission} permission on key vault ` +
      `'${vault.name};location=${vault.location}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`;
    sendVaultError(response, 403, 'Forbidden', message, 'AccessDenied');
  };

  const sendFirewallDenied = (
    request: IncomingMessage,
    response: ServerResponse,
    vault: SandboxVault,
    caller: AccessTokenClaims,
  ): void => {
    const message = [
      'Client address is not authorized and caller is not a trusted service.',
      `Client address: ${request.socket.remoteAddress ?? 'unknown'}`,
      `Caller: ${callerDescription(caller)}`,
      `Vault: ${vault.name};location=${vault.location}`,
    ].join('\r\n');
    sendVaultError(response, 403, 'Forbidden', message, 'ForbiddenByFirewall');
  };

  const isAllowed = (vault: SandboxVault, caller: AccessTokenClaims): boolean =>
    vault.allowedPrincipals === undefined ||
    vault.allowedPrincipals.has(caller.appid.toLowerCase()) ||
    vault.allowedPrincipals.has(caller.oid.toLowerCase());

  /** The caller's claims, or undefined after answering 401 the way Key Vault does. */
  const authenticate = (
    request: IncomingMessage,
    response: ServerResponse,
  ): AccessTokenClaims | undefined => {
    const authorization = request.headers.authorization;
    const caller = base.tokens.verify(authorization, [KEY_VAULT_AUDIENCE]);
    if (caller !== undefined) return caller;
    const headers = { 'www-authenticate': challenge };
    if (authorization === undefined || !/^Bearer\s+\S/i.test(authorization)) {
      sendVaultError(
        response,
        401,
        'Unauthorized',
        'AKV10000: Request is missing a Bearer or PoP token.',
        undefined,
        headers,
      );
      return undefined;
    }
    const audience = audienceOf(authorization);
    const message =
      audience !== undefined && audience.replace(/\/+$/, '') !== KEY_VAULT_AUDIENCE
        ? `AKV10022: Invalid audience. Expected ${KEY_VAULT_AUDIENCE}, found: ${audience}.`
        : 'The access token is expired or its signature is invalid.';
    sendVaultError(response, 401, 'Unauthorized', message, undefined, headers);
    return undefined;
  };

  const vaultSecrets = (vault: SandboxVault): Map<string, SecretVersion[]> => {
    let map = secrets.get(vault.name);
    if (map === undefined) {
      map = new Map();
      secrets.set(vault.name, map);
    }
    return map;
  };

  const sendBadPageSize = (response: ServerResponse): void =>
    sendVaultError(
      response,
      400,
      'BadParameter',
      `The value of 'maxresults' must be between 1 and ${KEY_VAULT_MAX_PAGE_SIZE}.`,
    );

  const handleList = (response: ServerResponse, vault: SandboxVault, query: URLSearchParams): void => {
    const page = pageRequest(query);
    if (page === undefined) {
      return sendBadPageSize(response);
    }
    const all = [...vaultSecrets(vault)].sort(([a], [b]) => a.localeCompare(b));
    const slice = all.slice(page.offset, page.offset + page.size);
    const next =
      page.offset + page.size < all.length
        ? nextLink(vault, '/secrets', query, page.offset + page.size, page.size)
        : null;
    sendJson(response, 200, {
      value: slice.flatMap(([name, versions]) => {
        const latest = versions.at(-1);
        return latest === undefined ? [] : [secretItem(`${vault.uri}secrets/${name}`, latest)];
      }),
      nextLink: next,
    });
  };

  const handleVersions = (
    response: ServerResponse,
    vault: SandboxVault,
    name: string,
    query: URLSearchParams,
  ): void => {
    const versions = vaultSecrets(vault).get(name);
    if (versions === undefined) return sendSecretNotFound(response, name);
    const page = pageRequest(query);
    if (page === undefined) {
      return sendBadPageSize(response);
    }
    const slice = versions.slice(page.offset, page.offset + page.size);
    const next =
      page.offset + page.size < versions.length
        ? nextLink(vault, `/secrets/${name}/versions`, query, page.offset + page.size, page.size)
        : null;
    sendJson(response, 200, {
      value: slice.map((v) => secretItem(`${vault.uri}secrets/${name}/${v.version}`, v)),
      nextLink: next,
    });
  };

  const handleGet = (
    response: ServerResponse,
    vault: SandboxVault,
    name: string,
    version: string | undefined,
  ): void => {
    const versions = vaultSecrets(vault).get(name);
    const found = version === undefined ? versions?.at(-1) : versions?.find((v) => v.version === version);
    if (found === undefined || found.changedAfterListing === 'deleted')
      return sendSecretNotFound(response, version === undefined ? name : `${name}/${version}`);
    if (!found.enabled || found.changedAfterListing === 'disabled') {
      sendVaultError(
        response,
        403,
        'Forbidden',
        'Operation get is not allowed on a disabled secret.',
        'SecretDisabled',
      );
      return;
    }
    sendJson(response, 200, {
      value: found.value,
      ...secretItem(`${vault.uri}secrets/${name}/${found.version}`, found),
    });
  };

  const handler: RequestHandler = (request, response) => {
    const host = (request.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    const path = pathOf(request);
    const query = queryOf(request);
    const route = routeOf(request.method ?? '', path);
    const identified: { caller?: AccessTokenClaims } = {};
    // 'close' rather than 'finish': answers cut short by a fault are requests the vault served too.
    response.on('close', () => {
      requests.push({
        vault: host.split('.')[0] ?? '',
        route: route.template,
        method: request.method ?? '',
        path,
        status: response.statusCode,
        completed: response.writableFinished,
        ...(identified.caller === undefined ? {} : { caller: identified.caller.appid }),
      });
    });

    const vault = vaults.get(host.slice(0, -(KEY_VAULT_HOST_SUFFIX.length + 1)));
    if (!host.endsWith(`.${KEY_VAULT_HOST_SUFFIX}`) || vault === undefined) {
      // Real Azure fails earlier, in DNS (getaddrinfo ENOTFOUND): say so rather than pretend.
      sendVaultError(
        response,
        404,
        'VaultNotFound',
        `sandbox: no vault is named '${host}' (in Azure this is a DNS failure: getaddrinfo ENOTFOUND ${host}).`,
      );
      return;
    }
    const caller = authenticate(request, response);
    identified.caller = caller;
    if (caller === undefined) return;
    if (!query.has('api-version')) {
      sendVaultError(response, 400, 'BadParameter', "The 'api-version' query parameter is missing.");
      return;
    }
    if (vault.firewall) return sendFirewallDenied(request, response, vault, caller);
    if (route.template === 'other') {
      sendVaultError(
        response,
        405,
        'MethodNotAllowed',
        `sandbox Key Vault: ${request.method ?? ''} ${path} is not implemented.`,
      );
      return;
    }
    const permission: Permission =
      route.template === 'GET /secrets/{name}' || route.template === 'GET /secrets/{name}/{version}'
        ? 'get'
        : 'list';
    if (!isAllowed(vault, caller)) return sendDenied(response, vault, caller, permission, route.name);
    switch (route.template) {
      case 'GET /secrets':
        return handleList(response, vault, query);
      case 'GET /secrets/{name}/versions':
        return handleVersions(response, vault, route.name ?? '', query);
      case 'GET /secrets/{name}':
      case 'GET /secrets/{name}/{version}':
        return handleGet(response, vault, route.name ?? '', route.version);
    }
  };

  const server = await startHttpsServer(
    base.serverTls,
    options.faults === undefined ? handler : withFaults(options.faults, handler),
    options.listen,
  );
  const routes = [`*.${KEY_VAULT_HOST_SUFFIX}`];
  for (const host of routes) base.proxy.route(host, server.port);
  const armProvider: ArmProvider = (call) => answerArm(call, base, vaults);
  options.arm?.addProvider(armProvider);

  const createVault = (name: string, vaultOptions: VaultOptions = {}): SandboxVault => {
    if (!/^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/.test(name)) {
      throw new Error(
        `'${name}' is not a valid vault name (3-24 letters, digits and dashes, starting with a letter)`,
      );
    }
    const resourceGroup = vaultOptions.resourceGroup ?? 'rg-sandbox';
    const vault: SandboxVault = {
      name: name.toLowerCase(),
      model: vaultOptions.model ?? 'rbac',
      resourceGroup,
      location: vaultOptions.location ?? 'westeurope',
      allowedPrincipals:
        vaultOptions.allowedPrincipals === undefined
          ? undefined
          : new Set(vaultOptions.allowedPrincipals.map((p) => p.toLowerCase())),
      firewall: vaultOptions.firewall ?? false,
      uri: `https://${name.toLowerCase()}.${KEY_VAULT_HOST_SUFFIX}/`,
      resourceId: `/subscriptions/${base.subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.KeyVault/vaults/${name.toLowerCase()}`,
    };
    vaults.set(vault.name, vault);
    return vault;
  };

  const setSecret = (
    vaultName: string,
    name: string,
    value: string,
    secretOptions: SecretOptions = {},
  ): SecretVersion => {
    const vault = vaults.get(vaultName.toLowerCase());
    if (vault === undefined) throw new Error(`no vault named '${vaultName}'; call createVault first`);
    if (!/^[0-9a-zA-Z-]{1,127}$/.test(name))
      throw new Error(`'${name}' is not a valid secret name (1-127 letters, digits and dashes)`);
    const version: SecretVersion = {
      version: crypto.randomBytes(16).toString('hex'),
      value,
      enabled: secretOptions.enabled ?? true,
      created: new Date(),
      ...(secretOptions.exp === undefined ? {} : { exp: secretOptions.exp }),
      ...(secretOptions.nbf === undefined ? {} : { nbf: secretOptions.nbf }),
      ...(secretOptions.contentType === undefined ? {} : { contentType: secretOptions.contentType }),
      ...(secretOptions.tags === undefined ? {} : { tags: { ...secretOptions.tags } }),
      ...(secretOptions.changedAfterListing === undefined
        ? {}
        : { changedAfterListing: secretOptions.changedAfterListing }),
    };
    const byName = vaultSecrets(vault);
    byName.set(name, [...(byName.get(name) ?? []), version]);
    return version;
  };

  return {
    ...server,
    createVault,
    setSecret,
    vaults,
    requests,
    get requestCounts() {
      const counts: Record<KeyVaultRoute, number> = {
        'GET /secrets': 0,
        'GET /secrets/{name}': 0,
        'GET /secrets/{name}/{version}': 0,
        'GET /secrets/{name}/versions': 0,
        other: 0,
      };
      for (const record of requests) counts[record.route] += 1;
      return counts;
    },
    urls: [server.url],
    routes,
    armProvider,
  };
}

// --- routes and paging --------------------------------------------------------------------------

interface Route {
  readonly template: KeyVaultRoute;
  readonly name?: string;
  readonly version?: string;
}

function routeOf(method: string, path: string): Route {
  if (method !== 'GET') return { template: 'other' };
  if (/^\/secrets\/?$/.test(path)) return { template: 'GET /secrets' };
  const versions = /^\/secrets\/([^/]+)\/versions\/?$/.exec(path);
  if (versions?.[1] !== undefined) return { template: 'GET /secrets/{name}/versions', name: versions[1] };
  // The SDK asks for the latest version as `/secrets/<name>/` (empty version segment).
  const secret = /^\/secrets\/([^/]+)(?:\/([^/]*))?$/.exec(path);
  if (secret?.[1] !== undefined) {
    const version = secret[2];
    return version === undefined || version === ''
      ? { template: 'GET /secrets/{name}', name: secret[1] }
      : { template: 'GET /secrets/{name}/{version}', name: secret[1], version };
  }
  return { template: 'other' };
}

/** Offset and size of the page asked for; undefined when `maxresults` is out of range. */
function pageRequest(query: URLSearchParams): { offset: number; size: number } | undefined {
  const requested = query.get('maxresults');
  const size = requested === null || requested === '' ? KEY_VAULT_MAX_PAGE_SIZE : Number(requested);
  if (!Number.isInteger(size) || size < 1 || size > KEY_VAULT_MAX_PAGE_SIZE) return undefined;
  const token = query.get('$skiptoken');
  return { offset: token === null ? 0 : decodeSkipToken(token), size };
}

/** Like the service: an absolute URL on the vault host, with an explicit `:443`, and an opaque `$skiptoken`. */
function nextLink(
  vault: SandboxVault,
  path: string,
  query: URLSearchParams,
  offset: number,
  size: number,
): string {
  const apiVersion = query.get('api-version') ?? '';
  const skipToken = Buffer.from(
    JSON.stringify({ NextMarker: `2!${offset}!sandbox`, TargetLocation: 0 }),
  ).toString('base64url');
  const maxResults = query.has('maxresults') ? `&maxresults=${size}` : '';
  return `https://${vault.name}.${KEY_VAULT_HOST_SUFFIX}:443${path}?api-version=${encodeURIComponent(apiVersion)}&$skiptoken=${skipToken}${maxResults}`;
}

function decodeSkipToken(token: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { NextMarker?: unknown };
    const offset = typeof parsed.NextMarker === 'string' ? Number(parsed.NextMarker.split('!')[1]) : NaN;
    return Number.isInteger(offset) && offset >= 0 ? offset : 0;
  } catch {
    return 0;
  }
}

// --- bodies -----------------------------------------------------------------------------------------

function unixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** A secret's metadata as the list and get operations return it (times in Unix seconds). */
function secretItem(id: string, version: SecretVersion): Record<string, unknown> {
  return {
    id,
    attributes: {
      enabled: version.enabled,
      ...(version.nbf === undefined ? {} : { nbf: unixSeconds(version.nbf) }),
      ...(version.exp === undefined ? {} : { exp: unixSeconds(version.exp) }),
      created: unixSeconds(version.created),
      updated: unixSeconds(version.created),
      recoveryLevel: 'Recoverable+Purgeable',
      recoverableDays: 90,
    },
    ...(version.contentType === undefined ? {} : { contentType: version.contentType }),
    ...(version.tags === undefined ? {} : { tags: version.tags }),
  };
}

function sendSecretNotFound(response: ServerResponse, nameOrId: string): void {
  sendVaultError(
    response,
    404,
    'SecretNotFound',
    `A secret with (name/id) ${nameOrId} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  );
}

function audienceOf(authorization: string): string | undefined {
  const aud = decodeJwt(authorization.replace(/^Bearer\s+/i, ''))?.payload['aud'];
  return typeof aud === 'string' ? aud : undefined;
}

// --- ARM ----------------------------------------------------------------------------------------

function armVault(vault: SandboxVault, tenantId: string): Record<string, unknown> {
  return {
    id: vault.resourceId,
    name: vault.name,
    type: 'Microsoft.KeyVault/vaults',
    location: vault.location,
    tags: {},
    properties: {
      sku: { family: 'A', name: 'standard' },
      tenantId,
      vaultUri: vault.uri,
      enableRbacAuthorization: vault.model === 'rbac',
      publicNetworkAccess: vault.firewall ? 'Disabled' : 'Enabled',
      provisioningState: 'Succeeded',
    },
  };
}

function answerArm(call: ArmRequest, base: SandboxBase, vaults: ReadonlyMap<string, SandboxVault>): boolean {
  if (call.request.method !== 'GET') return false;
  const subscription = `/subscriptions/${base.subscriptionId}`.toLowerCase();
  const path = call.path.toLowerCase().replace(/\/+$/, '');
  const all = [...vaults.values()];
  if (path === `${subscription}/providers/microsoft.keyvault/vaults`) {
    sendJson(call.response, 200, { value: all.map((v) => armVault(v, base.tenantId)) });
    return true;
  }
  if (
    path === `${subscription}/resources` &&
    /resourceType\s+eq\s+'Microsoft\.KeyVault\/vaults'/i.test(call.query.get('$filter') ?? '')
  ) {
    sendJson(call.response, 200, {
      value: all.map((v) => ({
        id: v.resourceId,
        name: v.name,
        type: 'Microsoft.KeyVault/vaults',
        location: v.location,
        tags: {},
      })),
    });
    return true;
  }
  const inGroup =
    /^\/subscriptions\/[^/]+\/resourcegroups\/([^/]+)\/providers\/microsoft\.keyvault\/vaults(?:\/([^/]+))?$/.exec(
      path,
    );
  if (inGroup?.[1] !== undefined && path.startsWith(subscription)) {
    const group = inGroup[1];
    const inThisGroup = all.filter((v) => v.resourceGroup.toLowerCase() === group);
    if (inGroup[2] === undefined) {
      sendJson(call.response, 200, { value: inThisGroup.map((v) => armVault(v, base.tenantId)) });
      return true;
    }
    const vault = inThisGroup.find((v) => v.name === inGroup[2]);
    if (vault === undefined) {
      sendResourceNotFound(call.response, 'Microsoft.KeyVault/vaults', inGroup[2], group);
      return true;
    }
    sendJson(call.response, 200, armVault(vault, base.tenantId));
    return true;
  }
  return false;
}
