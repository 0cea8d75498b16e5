import * as crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from '../httpsServer';
import { signJwt, verifyHs256 } from '../jwt';
import {
  ACR_AAD_AUDIENCES,
  ACR_REFRESH_TOKEN_USERNAME,
  UNAUTHORIZED_MESSAGE,
  drain,
  sendAcrError,
  type AcrState,
  type SandboxRegistry,
} from './state';

// ACR's token service: `/oauth2/exchange` (an Entra ID token for an ACR refresh token) and
// `/oauth2/token` (refresh token, admin password or anonymous for a scoped access token).

const OWNER = 'sandbox-owner';
const REFRESH_TOKEN_LIFETIME_SECONDS = 3 * 3600;
const ACCESS_TOKEN_LIFETIME_SECONDS = 75 * 60;

export interface AccessEntry {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

/** Claims of the front's JWTs: refresh tokens (`grant_type: refresh_token`) and access tokens. */
export interface AcrTokenClaims {
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

export function formatScope(entry: AccessEntry): string {
  return `${entry.type}:${entry.name}:${entry.actions.join(',')}`;
}

export function covers(granted: readonly AccessEntry[], needed: AccessEntry): boolean {
  return needed.actions.every((action) =>
    granted.some(
      (g) =>
        g.type === needed.type &&
        (g.name === needed.name || g.name === '*') &&
        (g.actions.includes(action) || g.actions.includes('*')),
    ),
  );
}

/** What a request is known to carry, for the request log. */
export interface SeenCredentials {
  principal?: string;
  scopes?: string[];
}

/** Mints and checks the front's JWTs (HS256 with a per-process secret) and answers the token endpoints. */
export class AcrTokenService {
  private readonly secret = crypto.randomBytes(32);
  private readonly ownerTokens = new Map<SandboxRegistry, string>();

  constructor(private readonly state: AcrState) {}

  /** Refresh and access tokens share one format; `grant_type` tells them apart. */
  private sign(claims: AcrTokenClaims): string {
    return signJwt(claims, { alg: 'HS256', secret: this.secret });
  }

  /** The claims of an unexpired token of that kind for this registry, else undefined. */
  verify(
    token: string,
    registry: SandboxRegistry,
    grantType: AcrTokenClaims['grant_type'],
  ): AcrTokenClaims | undefined {
    const claims = verifyHs256(token, this.secret) as AcrTokenClaims | undefined;
    if (claims?.aud !== registry.loginServer || claims.grant_type !== grantType) return undefined;
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
        tenant: this.state.base.tenantId,
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
      const permissions = this.state.permissionsOf(registry, principal.ids);
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

  private accessToken(
    registry: SandboxRegistry,
    principal: Principal,
    scopes: readonly AccessEntry[],
  ): string {
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

  /** `POST /oauth2/exchange`: an Entra ID access token for an ACR refresh token. */
  async exchange(
    registry: SandboxRegistry,
    request: IncomingMessage,
    response: ServerResponse,
    seen: SeenCredentials,
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
    const aad = this.state.base.tokens.verify(form.get('access_token') ?? undefined, ACR_AAD_AUDIENCES);
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
  async token(
    registry: SandboxRegistry,
    request: IncomingMessage,
    response: ServerResponse,
    query: URLSearchParams,
    seen: SeenCredentials,
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
}
