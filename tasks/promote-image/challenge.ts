/**
 * A registry's `WWW-Authenticate` challenge (RFC 7235, with the distribution spec's Bearer
 * parameters) and what to do about it.
 */
export interface AuthChallenge {
  /** Lower-cased scheme: `bearer`, `basic`, … */
  readonly scheme: string;
  /** Parameter names lower-cased, values unquoted. */
  readonly parameters: Readonly<Record<string, string>>;
}

/**
 * Every challenge in a header value. A header may hold several (`Basic realm="a", Bearer realm="b"`),
 * and values are tokens or quoted strings in which commas and `\"` may appear.
 */
export function parseChallenges(value: string | undefined): AuthChallenge[] {
  if (value === undefined) return [];
  const header = value;
  const challenges: { scheme: string; parameters: Record<string, string> }[] = [];
  let position = 0;
  const skip = (pattern: RegExp): void => {
    while (position < header.length && pattern.test(header.charAt(position))) position++;
  };
  const token = (): string => {
    const start = position;
    while (position < header.length && /[!#$%&'*+.^_`|~0-9A-Za-z-]/.test(header.charAt(position))) position++;
    return header.slice(start, position);
  };
  while (position < header.length) {
    skip(/[\s,]/);
    const word = token();
    if (word === '') {
      position++; // a character no grammar rule allows: step over it rather than loop forever
      continue;
    }
    skip(/\s/);
    const current = challenges[challenges.length - 1];
    if (header.charAt(position) === '=' && current !== undefined) {
      position++;
      skip(/\s/);
      current.parameters[word.toLowerCase()] = header.charAt(position) === '"' ? quoted() : bare();
    } else {
      challenges.push({ scheme: word.toLowerCase(), parameters: {} });
    }
  }
  return challenges;

  /** An unquoted value; RFC 7235 allows only a token, but `realm=https://…` is read as meant. */
  function bare(): string {
    const start = position;
    while (position < header.length && !/[\s,]/.test(header.charAt(position))) position++;
    return header.slice(start, position);
  }

  function quoted(): string {
    let value = '';
    position++; // the opening quote
    while (position < header.length && header.charAt(position) !== '"') {
      if (header.charAt(position) === '\\') position++;
      value += header.charAt(position);
      position++;
    }
    position++; // the closing quote
    return value;
  }
}

/** How to authenticate to a registry, decided from its challenge. */
export type AuthMethod =
  /** No challenge: send requests without credentials. */
  | { readonly kind: 'anonymous' }
  /**
   * Azure Container Registry: exchange an Entra ID token for an ACR refresh token at `exchangeUrl`,
   * then ask `realm` for an access token per scope.
   */
  | { readonly kind: 'acr'; readonly realm: string; readonly service: string; readonly exchangeUrl: string }
  /** Another registry's token service (Docker Hub, GHCR, Harbor…): anonymous or with Basic credentials. */
  | { readonly kind: 'bearer'; readonly realm: string; readonly service: string | undefined }
  /** HTTP Basic on every request. */
  | { readonly kind: 'basic' };

/** ACR login server suffixes of the public, China and US Government clouds. */
export const ACR_DNS_SUFFIXES: readonly string[] = ['azurecr.io', 'azurecr.cn', 'azurecr.us'];

/**
 * What to do about the challenges a registry at `registryHost` sent. ACR is recognised by its realm:
 * `https://<login server>/oauth2/token` on a login server under an ACR suffix. Other registries'
 * realms live elsewhere (`auth.docker.io/token`, `ghcr.io/token`), and their token services know
 * nothing of Entra ID. Bearer is preferred when a registry offers both.
 */
export function chooseAuthMethod(
  challenges: readonly AuthChallenge[],
  registryHost: string,
  acrSuffixes: readonly string[] = ACR_DNS_SUFFIXES,
): AuthMethod {
  const bearer = challenges.find((c) => c.scheme === 'bearer' && c.parameters['realm'] !== undefined);
  if (bearer !== undefined) {
    const realm = bearer.parameters['realm'] ?? '';
    const service = bearer.parameters['service'];
    const realmUrl = parseUrl(realm);
    const host = hostWithoutPort(registryHost);
    if (
      realmUrl !== undefined &&
      realmUrl.protocol === 'https:' &&
      realmUrl.pathname === '/oauth2/token' &&
      realmUrl.hostname === host &&
      acrSuffixes.some((suffix) => host.endsWith(`.${suffix.toLowerCase()}`))
    ) {
      return {
        kind: 'acr',
        realm,
        service: service ?? realmUrl.host,
        exchangeUrl: new URL('/oauth2/exchange', realmUrl).href,
      };
    }
    return { kind: 'bearer', realm, service };
  }
  if (challenges.some((c) => c.scheme === 'basic')) return { kind: 'basic' };
  return { kind: 'anonymous' };
}

/** The scopes a Bearer challenge asks for (space-separated in one parameter). */
export function challengeScopes(challenges: readonly AuthChallenge[]): string[] {
  const scope = challenges.find((c) => c.scheme === 'bearer')?.parameters['scope'];
  return scope === undefined ? [] : scope.split(' ').filter((s) => s !== '');
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function hostWithoutPort(host: string): string {
  return host.toLowerCase().replace(/:\d+$/, '');
}
