import * as tl from 'azure-pipelines-task-lib/task';
import { resolveAzureCloud, type AzureCloud } from './azureCloud';
import { userError } from './messages';
import { registerSecret } from './secrets';

/** How a connection signs in; each variant maps to one @azure/identity credential. */
export type AzureAuthentication =
  | {
      readonly kind: 'servicePrincipalSecret';
      readonly tenantId: string;
      readonly clientId: string;
      readonly secret: string;
    }
  | {
      readonly kind: 'servicePrincipalCertificate';
      readonly tenantId: string;
      readonly clientId: string;
      /** PEM holding the certificate and its private key, as the agent passes it. */
      readonly certificatePem: string;
    }
  | {
      readonly kind: 'workloadIdentityFederation';
      readonly tenantId: string;
      readonly clientId: string;
      readonly serviceConnectionId: string;
      readonly systemAccessToken: string;
      readonly oidcRequestUri: string;
    }
  | { readonly kind: 'managedIdentity'; readonly clientId: string | undefined };

/** An AzureRM service connection, read and checked. */
export interface AzureConnection {
  /** The service connection's id (what the input holds). */
  readonly id: string;
  readonly subscriptionId: string | undefined;
  readonly cloud: AzureCloud;
  readonly authentication: AzureAuthentication;
}

/**
 * Reads the AzureRM service connection chosen in input `inputName`. Secret parts (client secret,
 * certificate key, access token) are registered with the agent before anything else can print them.
 */
export function readAzureConnection(inputName: string, connectionId: string): AzureConnection {
  const scheme = tl.getEndpointAuthorizationScheme(connectionId, true);
  if (scheme === undefined) {
    throw userError('ConnectionNotFound', inputName, connectionId);
  }
  const data = (key: string): string | undefined =>
    nonEmpty(tl.getEndpointDataParameter(connectionId, key, true));
  const auth = authorizationParameters(connectionId);
  const requireAuth = (key: string, what: string): string => {
    const value = auth(key);
    if (value === undefined) throw userError('ConnectionMissingParameter', connectionId, what);
    return value;
  };

  const environment = data('environment');
  const cloud = resolveAzureCloud(environment, {
    environmentAuthorityUrl: data('environmentAuthorityUrl'),
    resourceManagerUrl: nonEmpty(tl.getEndpointUrl(connectionId, true)),
    activeDirectoryServiceEndpointResourceId: data('activeDirectoryServiceEndpointResourceId'),
    keyVaultDnsSuffix: data('AzureKeyVaultDnsSuffix'),
    keyVaultServiceEndpointResourceId: data('AzureKeyVaultServiceEndpointResourceId'),
  });
  if (cloud === undefined) {
    throw userError('ConnectionUnknownEnvironment', connectionId, environment ?? '');
  }

  let authentication: AzureAuthentication;
  switch (scheme.toLowerCase()) {
    case 'serviceprincipal': {
      const tenantId = requireAuth('tenantid', 'tenant id');
      const clientId = requireAuth('serviceprincipalid', 'service principal (client) id');
      if ((auth('authenticationType') ?? 'spnKey').toLowerCase() === 'spncertificate') {
        const certificatePem = requireAuth('servicePrincipalCertificate', 'service principal certificate');
        registerSecret(certificatePem);
        // @azure/identity would only say "the file at the specified path" lacks a certificate.
        if (!/-----BEGIN CERTIFICATE-----/.test(certificatePem))
          throw userError('ConnectionCertificateIncomplete', connectionId, 'certificate');
        if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(certificatePem))
          throw userError('ConnectionCertificateIncomplete', connectionId, 'private key');
        authentication = { kind: 'servicePrincipalCertificate', tenantId, clientId, certificatePem };
      } else {
        const secret = requireAuth('serviceprincipalkey', 'service principal key');
        registerSecret(secret);
        authentication = { kind: 'servicePrincipalSecret', tenantId, clientId, secret };
      }
      break;
    }
    case 'workloadidentityfederation': {
      const tenantId = requireAuth('tenantid', 'tenant id');
      const clientId = requireAuth('serviceprincipalid', 'service principal (client) id');
      // The job's OAuth token: task-lib exposes it through the SystemVssConnection endpoint even
      // when the pipeline does not map System.AccessToken into the environment.
      const systemAccessToken =
        authorizationParameters('SystemVssConnection')('AccessToken') ??
        nonEmpty(tl.getVariable('System.AccessToken'));
      const oidcRequestUri =
        nonEmpty(tl.getVariable('System.OidcRequestUri')) ?? nonEmpty(process.env['SYSTEM_OIDCREQUESTURI']);
      if (systemAccessToken === undefined || oidcRequestUri === undefined) {
        throw userError('ConnectionNeedsOidc', connectionId);
      }
      registerSecret(systemAccessToken);
      authentication = {
        kind: 'workloadIdentityFederation',
        tenantId,
        clientId,
        serviceConnectionId: connectionId,
        systemAccessToken,
        oidcRequestUri,
      };
      break;
    }
    case 'managedserviceidentity':
      authentication = { kind: 'managedIdentity', clientId: data('msiclientId') };
      break;
    default:
      throw userError('ConnectionSchemeUnsupported', connectionId, scheme);
  }

  return { id: connectionId, subscriptionId: data('subscriptionId'), cloud, authentication };
}

/**
 * A reader of a connection's authorization parameters, by case-insensitive key. We read the whole
 * authorization at once because task-lib's per-parameter getter writes each value to the debug
 * log; the agent masks those, but a credential is better never printed at all.
 */
function authorizationParameters(connectionId: string): (key: string) => string | undefined {
  const parameters = tl.getEndpointAuthorization(connectionId, true)?.parameters ?? {};
  const byKey = new Map(Object.entries(parameters).map(([key, value]) => [key.toLowerCase(), value]));
  return (key) => nonEmpty(byKey.get(key.toLowerCase()));
}

function nonEmpty(value: string | undefined | null): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
