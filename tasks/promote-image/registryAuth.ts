import { chooseAuthMethod, challengeScopes, parseChallenges, type AuthMethod } from './challenge';
import { readWhole, send, statusError, type HttpSettings } from './registryHttp';
import { registerSecret } from '../common/secrets';

/** What one side of a promotion may authenticate with. */
export interface RegistryCredentials {
  /**
   * An Entra ID access token for `scope`, for ACR's token exchange. The task wires the connection's
   * TokenCredential here; absent, ACR is tried anonymously (anonymous pull).
   */
  readonly entraAccessToken?: (scope: string) => Promise<string>;
  /** Sent to ACR's exchange so it checks the token's tenant. */
  readonly tenantId?: string;
  /** The Entra scope ACR's exchange accepts; default ACR's own audience. */
  readonly acrEntraScope?: string;
  /** User name and password for a non-ACR registry's token service or Basic challenge. */
  readonly basic?: { readonly username: string; readonly password: string };
}

export const ACR_ENTRA_SCOPE = 'https://containerregistry.azure.net/.default';

/** Which step of signing in failed. */
export type AuthStage = 'exchange' | 'token' | 'anonymous' | 'basic';

/** The registry refused to issue a token or turned down our credentials. */
export class RegistryAuthError extends Error {
  constructor(
    readonly registry: string,
    readonly stage: AuthStage,
    readonly statusCode: number | undefined,
    readonly scopes: readonly string[],
  ) {
    super(`${registry}: ${AUTH_FAILURE[stage]}${statusCode === undefined ? '' : ` (HTTP ${statusCode})`}`);
    this.name = 'RegistryAuthError';
  }
}

const AUTH_FAILURE: Record<AuthStage, string> = {
  exchange: "ACR's token exchange refused the Entra ID token",
  token: 'the token service refused a token',
  anonymous: 'the token service refused an anonymous token',
  basic: 'the registry asks for a user name and password, and none was given',
};

interface Token {
  readonly value: string;
  /** Epoch milliseconds after which the token must not be sent any more. */
  readonly refreshAfter: number;
}

/** Tokens are renewed this long before they expire, so none runs out in the middle of a request. */
const EXPIRY_MARGIN_MS = 60_000;
/** The distribution spec's token lifetime when the answer names none. */
const DEFAULT_LIFETIME_SECONDS = 60;
const TOKEN_ANSWER_LIMIT = 1024 * 1024;

/**
 * Signs requests to one registry. The first request goes without credentials; the registry's 401
 * challenge says how to authenticate (see challenge.ts), and from then on each request carries a
 * token for its scopes, cached per set of scopes until shortly before it expires. Concurrent
 * requests for the same scopes share one token request.
 */
export class RegistryAuthenticator {
  private method: AuthMethod | undefined;
  private readonly tokens = new Map<string, Promise<Token>>();
  private refreshToken: Promise<Token> | undefined;

  constructor(
    readonly registry: string,
    private readonly credentials: RegistryCredentials,
    private readonly http: HttpSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** How the registry asked to be authenticated; undefined before its first challenge. */
  get authMethod(): AuthMethod | undefined {
    return this.method;
  }

  /** The Authorization header for a request needing `scopes`, or undefined while none is known to be needed. */
  async authorization(scopes: readonly string[]): Promise<string | undefined> {
    const method = this.method;
    if (method === undefined || method.kind === 'anonymous') return undefined;
    if (method.kind === 'basic') return this.basicAuthorization(scopes);
    const key = [...scopes].sort().join(' ');
    let pending = this.tokens.get(key);
    if (pending !== undefined) {
      const token = await pending.catch(() => undefined);
      if (token === undefined || token.refreshAfter <= this.now()) {
        if (this.tokens.get(key) === pending) this.tokens.delete(key);
        pending = undefined;
      }
    }
    if (pending === undefined) {
      pending = this.accessToken(method, scopes);
      this.tokens.set(key, pending);
      pending.catch(() => this.tokens.get(key) === pending && this.tokens.delete(key));
    }
    return `Bearer ${(await pending).value}`;
  }

  /**
   * Takes in a 401's challenge: learns the auth method and forgets the token that was refused. The
   * scopes the challenge names join the request's, so the next token covers what the registry wants.
   */
  challenged(header: string | undefined, scopes: readonly string[]): string[] {
    const challenges = parseChallenges(header);
    this.method = chooseAuthMethod(challenges, this.registry);
    this.tokens.delete([...scopes].sort().join(' '));
    // A challenge's scope the request's scopes already cover (`pull` when `pull,push` is asked for)
    // is left out: the token stays the one every later request for the same scopes uses.
    const added = challengeScopes(challenges).filter((s) => !scopes.some((held) => covers(held, s)));
    return [...new Set([...scopes, ...added])];
  }

  private basicAuthorization(scopes: readonly string[]): string {
    const basic = this.credentials.basic;
    if (basic === undefined) throw new RegistryAuthError(this.registry, 'basic', 401, scopes);
    return `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`;
  }

  private async accessToken(
    method: Extract<AuthMethod, { kind: 'acr' | 'bearer' }>,
    scopes: readonly string[],
  ): Promise<Token> {
    if (method.kind === 'acr' && this.credentials.entraAccessToken !== undefined) {
      const refresh = await this.acrRefreshToken(method);
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        service: method.service,
        refresh_token: refresh.value,
      });
      for (const scope of scopes) form.append('scope', scope);
      const answer = await this.tokenRequest('token', scopes, method.realm, 'POST', form);
      return this.tokenFrom(answer, ['access_token']);
    }
    // Docker's token protocol: GET the realm, anonymously or with Basic credentials.
    const url = new URL(method.realm);
    if (method.service !== undefined) url.searchParams.set('service', method.service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    const stage = this.credentials.basic === undefined ? 'anonymous' : 'token';
    const answer = await this.tokenRequest(stage, scopes, url.href, 'GET');
    return this.tokenFrom(answer, ['token', 'access_token']);
  }

  /** ACR's refresh token for this registry: one exchange per run (they last hours). */
  private async acrRefreshToken(method: Extract<AuthMethod, { kind: 'acr' }>): Promise<Token> {
    const cached =
      this.refreshToken === undefined ? undefined : await this.refreshToken.catch(() => undefined);
    if (cached !== undefined && cached.refreshAfter > this.now()) return cached;
    this.refreshToken = (async () => {
      const entraToken = await this.credentials.entraAccessToken!(
        this.credentials.acrEntraScope ?? ACR_ENTRA_SCOPE,
      );
      const form = new URLSearchParams({
        grant_type: 'access_token',
        service: method.service,
        access_token: entraToken,
      });
      if (this.credentials.tenantId !== undefined) form.set('tenant', this.credentials.tenantId);
      const answer = await this.tokenRequest('exchange', [], method.exchangeUrl, 'POST', form);
      return this.tokenFrom(answer, ['refresh_token']);
    })();
    return this.refreshToken;
  }

  private async tokenRequest(
    stage: AuthStage,
    scopes: readonly string[],
    url: string,
    method: 'GET' | 'POST',
    form?: URLSearchParams,
  ): Promise<Record<string, unknown>> {
    const basic = this.credentials.basic;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (method === 'GET' && basic !== undefined) headers['authorization'] = this.basicAuthorization(scopes);
    if (form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const spec = {
      method,
      url,
      headers,
      ...(form === undefined ? {} : { body: () => Buffer.from(form.toString()) }),
    };
    const { response, bytes } = await readWhole(
      this.http,
      url,
      () => send(this.http, spec),
      TOKEN_ANSWER_LIMIT,
    );
    if (response.statusCode === 401 || response.statusCode === 403) {
      await response.body.dump();
      throw new RegistryAuthError(this.registry, stage, response.statusCode, scopes);
    }
    if (bytes === undefined) throw await statusError(spec, response);
    try {
      return JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    } catch {
      // Not the parser's message: it quotes the start of the body, which may hold a token.
      throw new Error(`${this.registry}: the ${stage} answer of ${new URL(url).host} is not JSON`);
    }
  }

  private tokenFrom(answer: Record<string, unknown>, fields: readonly string[]): Token {
    const value = fields
      .map((field) => answer[field])
      .find((v): v is string => typeof v === 'string' && v !== '');
    if (value === undefined)
      throw new Error(`${this.registry}: the token answer holds no ${fields.join(' or ')}`);
    // Masked before anything could print it: an error that quotes a request, a debug line.
    registerSecret(value);
    const expiresIn = typeof answer['expires_in'] === 'number' ? answer['expires_in'] : undefined;
    const expiresAt = jwtExpiry(value) ?? this.now() + (expiresIn ?? DEFAULT_LIFETIME_SECONDS) * 1000;
    return { value, refreshAfter: expiresAt - Math.min(EXPIRY_MARGIN_MS, (expiresAt - this.now()) / 2) };
  }
}

/** Whether scope `held` (`type:name:actions`) grants every action `wanted` names. */
function covers(held: string, wanted: string): boolean {
  const split = (scope: string): [string, string[]] => {
    const at = scope.lastIndexOf(':');
    return [scope.slice(0, at), scope.slice(at + 1).split(',')];
  };
  const [heldResource, heldActions] = split(held);
  const [wantedResource, wantedActions] = split(wanted);
  return heldResource === wantedResource && wantedActions.every((a) => heldActions.includes(a));
}

/** A JWT's `exp` in epoch milliseconds; undefined for opaque tokens. */
export function jwtExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
