// Stands in for @azure/identity in L0 runs where tokens matter: the credentials of identity.ts,
// whose getToken prints the scope asked for and answers `token-for <scope>`.
import * as identity from './identity';

export const TOKEN_MARKER = '##l0-token ';

function token(scope: string | string[] = []): Promise<{ token: string; expiresOnTimestamp: number }> {
  const scopes = Array.isArray(scope) ? scope.join(' ') : scope;
  console.log(`${TOKEN_MARKER}${scopes}`);
  return Promise.resolve({ token: `token-for ${scopes}`, expiresOnTimestamp: Date.now() + 3600_000 });
}

export class ClientSecretCredential extends identity.ClientSecretCredential {
  override getToken(scope?: string | string[]): Promise<{ token: string; expiresOnTimestamp: number }> {
    return token(scope);
  }
}
export class ClientCertificateCredential extends identity.ClientCertificateCredential {
  override getToken(scope?: string | string[]): Promise<{ token: string; expiresOnTimestamp: number }> {
    return token(scope);
  }
}
export class AzurePipelinesCredential extends identity.AzurePipelinesCredential {
  override getToken(scope?: string | string[]): Promise<{ token: string; expiresOnTimestamp: number }> {
    return token(scope);
  }
}
export class ManagedIdentityCredential extends identity.ManagedIdentityCredential {
  override getToken(scope?: string | string[]): Promise<{ token: string; expiresOnTimestamp: number }> {
    return token(scope);
  }
}

export function requestedScopes(stdout: string): string[] {
  return stdout
    .split(/\r?\n/)
    .filter((line) => line.startsWith(TOKEN_MARKER))
    .map((line) => line.slice(TOKEN_MARKER.length));
}
