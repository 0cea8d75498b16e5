import type { AzureConnection } from './azureConnection';
import { UserError, firstLine } from './errors';
import { loc, userError } from './messages';
import { recentNetworkFailure } from './networkFailures';
import { PROXY_NOT_A_TUNNEL, ProxyConnectError } from './proxy';
import { BROKEN_RESPONSE, RequestTimeoutError, ThrottledError } from './retry';

/**
 * Turning what Azure, Entra ID, a proxy or the network answered into one line that says what to do.
 * Nothing here quotes a response body: a body may carry a secret. What is quoted is a status, an
 * error code, Entra ID's AADSTS sentence, or our own errors' messages.
 */

export interface ErrorLike {
  name?: string;
  code?: string;
  statusCode?: number;
  message?: string;
  details?: unknown;
}

/** Every `code` in an error and its body (Azure nests the useful one in `innererror`). */
export function errorCodes(error: unknown): Set<string> {
  const codes = new Set<string>();
  const walk = (node: unknown, depth: number): void => {
    if (node === null || typeof node !== 'object' || depth > 6) return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'code' && typeof value === 'string') codes.add(value);
      else if (typeof value === 'object') walk(value, depth + 1);
    }
    // Not enumerable, so not in Object.entries: an Error's cause, an AggregateError's errors.
    const { cause, errors } = node as { cause?: unknown; errors?: unknown };
    walk(cause, depth + 1);
    if (Array.isArray(errors)) for (const inner of errors) walk(inner, depth + 1);
  };
  walk(error, 0);
  return codes;
}

export function statusOf(error: unknown): number | undefined {
  return (error as ErrorLike | null)?.statusCode;
}

/** The error or one of its causes (`cause`, AggregateError's `errors`) that passes `test`. */
export function findInCauses<T>(error: unknown, test: (candidate: unknown) => candidate is T): T | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const candidate = queue.shift();
    if (candidate === null || typeof candidate !== 'object' || seen.has(candidate)) continue;
    seen.add(candidate);
    if (test(candidate)) return candidate;
    const { cause, errors, innerError, originalError } = candidate as Record<string, unknown>;
    queue.push(cause, innerError, originalError, ...(Array.isArray(errors) ? (errors as unknown[]) : []));
  }
  return undefined;
}

/**
 * Our own network errors lose their type inside @azure/identity, which re-wraps what MSAL reports
 * as text. Their messages are ours and distinctive, so they are recognised by message there.
 */
const OWN_MESSAGES: readonly { pattern: RegExp; explain: (match: RegExpExecArray) => UserError }[] = [
  {
    pattern: /The proxy (\S+) refused the connection to (\S+): (\d+)/,
    explain: (m) => proxyRefused(m[1] ?? '', m[2] ?? '', Number(m[3])),
  },
  {
    pattern: /The proxy (\S+) answered the connection to (\S+) with a page instead of a tunnel/,
    explain: (m) => userError('ProxyNotATunnel', m[1], m[2]),
  },
  {
    pattern: /(\S+) did not answer within (\d+(?:\.\d+)?) s/,
    explain: (m) => userError('RequestTimedOut', m[1], m[2]),
  },
];

function proxyRefused(proxy: string, target: string, status: number): UserError {
  return status === 407
    ? userError('ProxyAuthenticationRequired', proxy, target)
    : userError('ProxyRefused', proxy, target, status);
}

/**
 * A failure of the way to a service rather than of the service: the proxy, DNS, a timeout, a
 * connection that kept breaking, throttling that outlasted the retries. `service` names what was
 * being reached (e.g. "Key Vault 'contoso-kv'"). Undefined when the error is none of these.
 */
export function explainNetworkError(error: unknown, service: string): UserError | undefined {
  const proxyError = findInCauses(error, (c): c is ProxyConnectError => c instanceof ProxyConnectError);
  if (proxyError !== undefined) {
    return proxyError.code === PROXY_NOT_A_TUNNEL
      ? userError('ProxyNotATunnel', proxyError.proxy, proxyError.target)
      : proxyRefused(proxyError.proxy, proxyError.target, proxyError.status);
  }
  const timeout = findInCauses(error, (c): c is RequestTimeoutError => c instanceof RequestTimeoutError);
  if (timeout !== undefined) return userError('RequestTimedOut', timeout.host, timeout.seconds);
  const throttled = findInCauses(error, (c): c is ThrottledError => c instanceof ThrottledError);
  if (throttled !== undefined) return userError('Throttled', service, throttled.throttledSeconds);
  for (const { pattern, explain } of OWN_MESSAGES) {
    const match = pattern.exec((error as ErrorLike | null)?.message ?? '');
    if (match !== null) return explain(match);
  }
  const codes = errorCodes(error);
  if (codes.has(BROKEN_RESPONSE) || codes.has('PARSE_ERROR')) return userError('ResponseBroken', service);
  if (codes.has('ENOTFOUND')) return userError('HostNotFound', service);
  const connectionCode = CONNECTION_FAILURE_CODES.find((code) => codes.has(code));
  if (connectionCode !== undefined) return userError('ConnectionFailed', service, connectionCode);
  return undefined;
}

/** Codes of a request that never got a whole answer: the connection failed or broke off. */
const CONNECTION_FAILURE_CODES = [
  'ECONNRESET',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'CERT_HAS_EXPIRED',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
  'REQUEST_SEND_ERROR',
];

/** Entra ID's own sentence (`AADSTS7000215: Invalid client secret provided.`) when there is one. */
export function signInReason(text: string | undefined): string {
  // The sentence ends at a full stop followed by a space or the line's end: a tenant's domain has dots.
  return /AADSTS\d+:.*?(?:\.(?=\s|$)|$)/m.exec(text ?? '')?.[0] ?? firstLine(text);
}

/** Who Azure sees: the connection's client id, or the agent's managed identity. */
export function principalOf(connection: AzureConnection): string {
  const auth = connection.authentication;
  return auth.kind === 'managedIdentity' ? (auth.clientId ?? loc('AgentManagedIdentity')) : auth.clientId;
}

const SIGN_IN_ERROR_NAMES = new Set([
  'AuthenticationError',
  'CredentialUnavailableError',
  'AggregateAuthenticationError',
  'AuthenticationRequiredError',
]);

/**
 * A sign-in that failed: the network on the way to Entra ID first (a proxy refusal reads better than
 * MSAL's account of it), then a resource in another tenant than the connection's, then Entra ID's
 * own reason. `resource` names what the token was for ("Key Vault 'contoso-kv'").
 */
export function explainSignInError(
  error: unknown,
  connection: AzureConnection,
  resource: string,
): UserError | undefined {
  const e = (error ?? {}) as ErrorLike;
  if (!SIGN_IN_ERROR_NAMES.has(e.name ?? '') && e.statusCode !== 401) return undefined;
  const authority = new URL(connection.cloud.authorityHost).host;
  // MSAL reports a failed connection as `network_error` and nothing more; only then is the failure
  // recorded on the way to Entra ID the explanation (an answer from Entra ID clears the record).
  const msalNetworkError = /network_error|network request failed/i.test(e.message ?? '');
  const network =
    explainNetworkError(error, loc('EntraId')) ??
    (msalNetworkError ? explainNetworkError(recentNetworkFailure(authority), loc('EntraId')) : undefined);
  if (network !== undefined) return network;
  // @azure/identity refuses a challenge for a tenant the credential was not made for.
  const otherTenant = /acquire tokens for tenant ([^\s.]+)/i.exec(e.message ?? '')?.[1];
  if (otherTenant !== undefined && connection.authentication.kind !== 'managedIdentity') {
    return userError(
      'ResourceInAnotherTenant',
      resource,
      otherTenant,
      connection.id,
      connection.authentication.tenantId,
    );
  }
  return userError('SignInFailed', connection.id, signInReason(e.message));
}
