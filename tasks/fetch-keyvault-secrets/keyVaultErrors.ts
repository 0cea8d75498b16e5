import * as tl from 'azure-pipelines-task-lib/task';
import { UserError, userError } from '../common/errors';
import type { AzureConnection } from '../common/azureConnection';

interface ErrorLike {
  name?: string;
  code?: string;
  statusCode?: number;
  message?: string;
  details?: unknown;
}

/** Every `code` in an error and its body (Key Vault nests the useful one in `innererror`). */
export function errorCodes(error: unknown): Set<string> {
  const codes = new Set<string>();
  const walk = (node: unknown, depth: number): void => {
    if (node === null || typeof node !== 'object' || depth > 6) return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'code' && typeof value === 'string') codes.add(value);
      else if (typeof value === 'object') walk(value, depth + 1);
    }
  };
  walk(error, 0);
  return codes;
}

function statusOf(error: unknown): number | undefined {
  return (error as ErrorLike | null)?.statusCode;
}

export function isSecretNotFound(error: unknown): boolean {
  return statusOf(error) === 404 && errorCodes(error).has('SecretNotFound');
}

export function isSecretDisabled(error: unknown): boolean {
  return statusOf(error) === 403 && errorCodes(error).has('SecretDisabled');
}

/**
 * A response cut off in the middle of its body. The SDK's retry policy has already passed it on
 * (it retries failed connections, not failed body reads), and every request here is a GET, so
 * trying again is safe.
 */
export function isBrokenResponse(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | null;
  return (
    e?.code === 'PARSE_ERROR' && /aborted|ECONNRESET|socket hang up|premature close/i.test(e.message ?? '')
  );
}

/** Codes of a request that never got a whole answer: the connection failed, timed out or broke off. */
const CONNECTION_FAILURE_CODES = ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'REQUEST_SEND_ERROR'];

function firstLine(text: string | undefined): string {
  return (text ?? '').split(/\r?\n/)[0]?.trim() ?? '';
}

/** Entra ID's own sentence (`AADSTS7000215: Invalid client secret provided.`) when there is one. */
function signInReason(text: string | undefined): string {
  return /AADSTS\d+:[^\r\n.]*\.?/.exec(text ?? '')?.[0] ?? firstLine(text);
}

/** Who the vault sees: the connection's client id, or the agent's managed identity. */
function principalOf(connection: AzureConnection): string {
  const auth = connection.authentication;
  return auth.kind === 'managedIdentity' ? (auth.clientId ?? tl.loc('AgentManagedIdentity')) : auth.clientId;
}

/**
 * Turns what Key Vault, DNS or Entra ID answered into a message that says what to do. Returns the
 * error unchanged when it is not one we can explain.
 */
export function explainKeyVaultError(error: unknown, vaultUrl: string, connection: AzureConnection): unknown {
  if (error instanceof UserError) return error;
  const vault = new URL(vaultUrl).hostname;
  const vaultName = vault.split('.')[0] ?? vault;
  const codes = errorCodes(error);
  const e = (error ?? {}) as ErrorLike;
  if (
    e.name === 'AuthenticationError' ||
    e.name === 'CredentialUnavailableError' ||
    e.name === 'AggregateAuthenticationError'
  ) {
    return userError('SignInFailed', connection.id, signInReason(e.message));
  }
  if (codes.has('ENOTFOUND') || codes.has('EAI_AGAIN')) {
    return userError('VaultNotFound', vault, connection.cloud.keyVaultDnsSuffix ?? '');
  }
  if (e.statusCode === 403) {
    if (codes.has('ForbiddenByFirewall')) return userError('ForbiddenByFirewall', vaultName);
    if (codes.has('ForbiddenByRbac')) return userError('ForbiddenByRbac', principalOf(connection), vaultName);
    if (codes.has('AccessDenied') || codes.has('ForbiddenByPolicy'))
      return userError('ForbiddenByAccessPolicy', principalOf(connection), vaultName);
    return userError('KeyVaultForbidden', vaultName, firstLine(e.message));
  }
  if (e.statusCode === 401) return userError('SignInFailed', connection.id, signInReason(e.message));
  if (isBrokenResponse(error) || CONNECTION_FAILURE_CODES.some((code) => codes.has(code))) {
    return userError('KeyVaultConnectionFailed', vaultName, firstLine(e.message));
  }
  if (e.name === 'RestError' && e.statusCode !== undefined) {
    return userError('KeyVaultRequestFailed', vaultName, e.statusCode, firstLine(e.message));
  }
  return error;
}
