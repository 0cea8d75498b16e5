import * as crypto from 'node:crypto';
import { signJwt, verifyHs256 } from '../jwt';

/** Claims of an access token the sandbox's Entra ID issues. */
export interface AccessTokenClaims {
  readonly aud: string;
  readonly tid: string;
  /** Application (client) id of the service principal or managed identity. */
  readonly appid: string;
  readonly oid: string;
  readonly iat: number;
  readonly exp: number;
  readonly iss: string;
}

/**
 * Mints and verifies the sandbox's access tokens: real JWTs (so clients that decode them, like
 * @azure/identity's expiry handling, work), signed with a key that lives as long as the process.
 */
export class TokenAuthority {
  private readonly key = crypto.randomBytes(32);

  mint(claims: Omit<AccessTokenClaims, 'iat' | 'exp' | 'iss'>, lifetimeSeconds = 3600): string {
    const now = Math.floor(Date.now() / 1000);
    const body: AccessTokenClaims = {
      ...claims,
      iat: now,
      exp: now + lifetimeSeconds,
      iss: `https://sts.windows.net/${claims.tid}/`,
    };
    return signJwt(body, { alg: 'HS256', secret: this.key });
  }

  /**
   * The claims of a valid, unexpired token for one of `audiences` (compared without a trailing
   * slash), else undefined. Accepts a raw token or an `Authorization: Bearer …` header value.
   */
  verify(tokenOrHeader: string | undefined, audiences: readonly string[]): AccessTokenClaims | undefined {
    if (tokenOrHeader === undefined) return undefined;
    const token = tokenOrHeader.replace(/^Bearer\s+/i, '');
    const claims = verifyHs256(token, this.key) as AccessTokenClaims | undefined;
    if (claims === undefined) return undefined;
    const trim = (s: string): string => s.replace(/\/+$/, '').toLowerCase();
    if (!audiences.some((a) => trim(a) === trim(claims.aud))) return undefined;
    if (claims.exp < Date.now() / 1000) return undefined;
    return claims;
  }
}
