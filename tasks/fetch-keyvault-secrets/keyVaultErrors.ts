import type { AzureConnection } from '../common/azureConnection';
import {
  errorCodes,
  explainNetworkError,
  explainSignInError,
  principalOf,
  statusOf,
  type ErrorLike,
} from '../common/azureErrors';
import { UserError } from '../common/errors';
import { userError } from './messages';
import { ThrottledError } from '../common/retry';

export function isSecretNotFound(error: unknown): boolean {
  return statusOf(error) === 404 && errorCodes(error).has('SecretNotFound');
}

export function isSecretDisabled(error: unknown): boolean {
  return statusOf(error) === 403 && errorCodes(error).has('SecretDisabled');
}

/**
 * Turns what Key Vault, DNS, a proxy or Entra ID answered into a message that says what to do.
 * Returns the error unchanged when it is not one we can explain.
 */
export function explainKeyVaultError(
  error: unknown,
  vaultUrl: string,
  connection: AzureConnection,
  concurrency: number,
): unknown {
  if (error instanceof UserError) return error;
  const vault = new URL(vaultUrl).hostname;
  const vaultName = vault.split('.')[0] ?? vault;
  const service = `Key Vault '${vaultName}'`;
  const signIn = explainSignInError(error, connection, service);
  if (signIn !== undefined) return signIn;
  if (error instanceof ThrottledError) {
    return userError('KeyVaultThrottled', vaultName, error.throttledSeconds, concurrency);
  }
  const codes = errorCodes(error);
  if (codes.has('ENOTFOUND')) {
    return userError('VaultNotFound', vault, connection.cloud.keyVaultDnsSuffix ?? '');
  }
  const network = explainNetworkError(error, service);
  if (network !== undefined) return network;
  const e = (error ?? {}) as ErrorLike;
  if (e.statusCode === 403) {
    if (codes.has('ForbiddenByFirewall')) return userError('ForbiddenByFirewall', vaultName);
    if (codes.has('ForbiddenByRbac')) return userError('ForbiddenByRbac', principalOf(connection), vaultName);
    if (codes.has('AccessDenied') || codes.has('ForbiddenByPolicy'))
      return userError('ForbiddenByAccessPolicy', principalOf(connection), vaultName);
    return userError('KeyVaultForbidden', vaultName, errorCodeOrStatus(codes, 403));
  }
  if (e.name === 'RestError' && e.statusCode !== undefined) {
    return userError(
      'KeyVaultRequestFailed',
      vaultName,
      e.statusCode,
      errorCodeOrStatus(codes, e.statusCode),
    );
  }
  return error;
}

/**
 * Key Vault's error code (`Forbidden`, `BadParameter`) rather than its message: a message can
 * echo a request or response that holds a secret; a code cannot.
 */
function errorCodeOrStatus(codes: Set<string>, status: number): string {
  const code = [...codes].find((candidate) => /^[A-Za-z]+$/.test(candidate));
  return code ?? `HTTP ${status}`;
}
