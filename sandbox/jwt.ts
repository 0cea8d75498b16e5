import * as crypto from 'node:crypto';

/**
 * The sandbox's one JWT module: Entra ID's access tokens and ACR's refresh and access tokens are
 * HS256 with a per-process secret, Entra ID's Azure DevOps OIDC tokens are RS256, and client
 * assertions (RS256 or PS256, from MSAL and the pipeline) are decoded and checked here.
 * Synchronous on purpose: the services mint tokens inside request handlers and state getters.
 */
export type JwtSigningKey =
  | { readonly alg: 'HS256'; readonly secret: Buffer }
  | { readonly alg: 'RS256'; readonly privateKey: crypto.KeyObject };

export interface DecodedJwt {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  /** `<header>.<payload>` as it arrived: what the signature covers. */
  readonly signedPart: string;
  readonly signature: Buffer;
}

/** A compact JWS; `header` adds fields such as `kid` to `{ alg, typ: 'JWT' }`. */
export function signJwt(payload: object, key: JwtSigningKey, header: Record<string, unknown> = {}): string {
  const signedPart = `${base64urlJson({ alg: key.alg, typ: 'JWT', ...header })}.${base64urlJson(payload)}`;
  return `${signedPart}.${signatureOf(signedPart, key)}`;
}

/** Header, payload and signature of a token, or undefined when it is not three base64url JSON parts. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const [header, payload, signature, extra] = token.split('.');
  if (header === undefined || payload === undefined || signature === undefined || extra !== undefined)
    return undefined;
  try {
    const decoded = {
      header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as unknown,
      payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown,
    };
    if (!isObject(decoded.header) || !isObject(decoded.payload)) return undefined;
    return {
      header: decoded.header,
      payload: decoded.payload,
      signedPart: `${header}.${payload}`,
      signature: Buffer.from(signature, 'base64url'),
    };
  } catch {
    return undefined;
  }
}

/**
 * The payload of an HS256 token signed with `secret`, or undefined. The signature is compared as
 * base64url text in constant time, so a non-canonical encoding of the right bytes is refused too.
 * Expiry and audience are the caller's: each service has its own rules.
 */
export function verifyHs256(token: string, secret: Buffer): Record<string, unknown> | undefined {
  const decoded = decodeJwt(token);
  if (decoded === undefined || decoded.header.alg !== 'HS256') return undefined;
  const expected = Buffer.from(signatureOf(decoded.signedPart, { alg: 'HS256', secret }));
  const actual = Buffer.from(token.slice(decoded.signedPart.length + 1));
  if (expected.length !== actual.length || !crypto.timingSafeEqual(expected, actual)) return undefined;
  return decoded.payload;
}

/** RS256 (PKCS#1 v1.5) or PS256 (PSS): MSAL signs with PS256 when it has the SHA-256 thumbprint. */
export function verifyRsaSignature(jwt: DecodedJwt, publicKey: crypto.KeyObject): boolean {
  const data = Buffer.from(jwt.signedPart);
  if (jwt.header.alg === 'RS256') return crypto.verify('sha256', data, publicKey, jwt.signature);
  if (jwt.header.alg === 'PS256') {
    return crypto.verify(
      'sha256',
      data,
      {
        key: publicKey,
        padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
        saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST,
      },
      jwt.signature,
    );
  }
  return false;
}

function signatureOf(signedPart: string, key: JwtSigningKey): string {
  return key.alg === 'HS256'
    ? crypto.createHmac('sha256', key.secret).update(signedPart).digest('base64url')
    : crypto.sign('sha256', Buffer.from(signedPart), key.privateKey).toString('base64url');
}

function base64urlJson(value: object): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
