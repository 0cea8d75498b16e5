import type { AccessToken, TokenCredential } from '@azure/identity';
import type { Dispatcher } from 'undici';
import type { AzureConnection } from '../common/azureConnection';
import { explainSignInError } from '../common/azureErrors';
import { registerSecret } from '../common/secrets';
import { createCredential } from '../common/credential';
import { perTryTimeoutMs } from '../common/retry';
import { isAcrLoginServer } from './acrMetadata';
import type { RegistryCredentials } from './registryAuth';
import { RegistryClient } from './registryClient';
import { httpSettings } from './registryHttp';

/** One credential per service connection, however many registries and ARM clients use it. */
export class Credentials {
  private readonly byConnection = new Map<string, TokenCredential>();

  constructor(private readonly create: (connection: AzureConnection) => TokenCredential = createCredential) {}

  of(connection: AzureConnection): TokenCredential {
    let credential = this.byConnection.get(connection.id);
    if (credential === undefined) {
      credential = sharingRequests(this.create(connection));
      this.byConnection.set(connection.id, credential);
    }
    return credential;
  }

  /**
   * Asks for a token now, without waiting for it: a sign-in that asks for the same scope while
   * this request is on its way joins it. A failure is left for that sign-in to report.
   */
  requestEarly(connection: AzureConnection, scope: string): void {
    this.of(connection)
      .getToken(scope)
      .catch(() => undefined);
  }
}

/**
 * A request for a scope that is already on its way is joined rather than sent again: both sides of
 * a promotion usually sign in with one connection at the same moment. Requests with options (the
 * ARM clients' abort signals, claims) are never shared.
 */
function sharingRequests(credential: TokenCredential): TokenCredential {
  const pending = new Map<string, Promise<AccessToken | null>>();
  return {
    getToken: (scopes, options) => {
      if (options !== undefined) return credential.getToken(scopes, options);
      const key = [scopes].flat().join(' ');
      let request = pending.get(key);
      if (request === undefined) {
        request = credential.getToken(scopes);
        pending.set(key, request);
        const settled = (): void => void pending.delete(key);
        request.then(settled, settled);
      }
      return request;
    },
  };
}

/**
 * What the registry engine signs in with on one side: the connection's Entra ID token for ACR's
 * exchange (its cloud's ACR audience, its tenant, so a registry of another tenant says so), and
 * nothing else. A failed sign-in is explained once here, naming the connection.
 */
export function registryCredentials(
  connection: AzureConnection,
  credential: TokenCredential,
  registry: string,
): RegistryCredentials {
  return {
    entraAccessToken: async (scope) => {
      try {
        const token = await credential.getToken(scope);
        if (token === null) throw new Error(`no token for ${scope}`);
        registerSecret(token.token);
        return token.token;
      } catch (error: unknown) {
        throw explainSignInError(error, connection, registry) ?? error;
      }
    },
    ...(connection.authentication.kind === 'managedIdentity'
      ? {}
      : { tenantId: connection.authentication.tenantId }),
    acrEntraScope: connection.cloud.containerRegistryScope,
  };
}

/** A registry client for one side, its requests through `dispatcher` (the agent's proxy). */
export function registryClient(
  registry: string,
  connection: AzureConnection,
  credentials: Credentials,
  dispatcher: Dispatcher,
): RegistryClient {
  // ACR's challenge will ask for the exchange of an Entra ID token: that token is on its way while
  // the challenge is.
  if (isAcrLoginServer(registry, connection.cloud.containerRegistryDnsSuffix))
    credentials.requestEarly(connection, connection.cloud.containerRegistryScope);
  return new RegistryClient(
    registry,
    registryCredentials(connection, credentials.of(connection), registry),
    // An idle limit per try (see registryHttp.ts); AKS_DELIVERY_HTTP_TIMEOUT_SECONDS overrides it.
    httpSettings(dispatcher, { timeoutMs: perTryTimeoutMs('registry') }),
  );
}
