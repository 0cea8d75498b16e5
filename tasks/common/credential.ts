import {
  AzurePipelinesCredential,
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type TokenCredential,
  type TokenCredentialOptions,
} from '@azure/identity';
import type { AzureConnection } from './azureConnection';
import { azureClientOptions } from './azureClientOptions';

/** The @azure/identity credential for a connection, talking to its cloud's authority through the agent's proxy. */
export function createCredential(connection: AzureConnection): TokenCredential {
  const { cloud, authentication } = connection;
  const options: TokenCredentialOptions = {
    authorityHost: cloud.authorityHost,
    ...azureClientOptions(cloud.authorityHost, 'entraId'),
  };
  switch (authentication.kind) {
    case 'servicePrincipalSecret':
      return new ClientSecretCredential(
        authentication.tenantId,
        authentication.clientId,
        authentication.secret,
        options,
      );
    case 'servicePrincipalCertificate':
      return new ClientCertificateCredential(
        authentication.tenantId,
        authentication.clientId,
        { certificate: authentication.certificatePem },
        options,
      );
    case 'workloadIdentityFederation':
      // AzurePipelinesCredential reads the OIDC request URL from the environment only.
      process.env['SYSTEM_OIDCREQUESTURI'] = authentication.oidcRequestUri;
      return new AzurePipelinesCredential(
        authentication.tenantId,
        authentication.clientId,
        authentication.serviceConnectionId,
        authentication.systemAccessToken,
        options,
      );
    case 'managedIdentity':
      return authentication.clientId === undefined
        ? new ManagedIdentityCredential(options)
        : new ManagedIdentityCredential({ ...options, clientId: authentication.clientId });
  }
}
