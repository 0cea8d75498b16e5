import * as assert from 'node:assert/strict';
import { resolveAzureCloud, type AzureCloud } from '../../tasks/common/azureCloud';
import type { AzureConnection } from '../../tasks/common/azureConnection';
import {
  explainNetworkError,
  explainSignInError,
  principalOf,
  signInReason,
} from '../../tasks/common/azureErrors';
import { UserError } from '../../tasks/common/errors';
import type { SharedMessageKey } from '../../tasks/common/messages';
import { recordNetworkFailure } from '../../tasks/common/networkFailures';
import { PROXY_NOT_A_TUNNEL, PROXY_REFUSED, ProxyConnectError } from '../../tasks/common/proxy';
import { BrokenResponseError, RequestTimeoutError, ThrottledError } from '../../tasks/common/retry';
import { taskMessages } from '../support/userErrors';

// The shared messages ship in every task; any task's manifest shows them.
const shipped = taskMessages('fetch-keyvault-secrets');

const SERVICE = "Key Vault 'contoso-kv'";
const PROXY = 'http://proxy.contoso.com:3128';
const VAULT_TARGET = 'contoso-kv.vault.azure.net:443';
const LOGIN_TARGET = 'login.microsoftonline.com:443';
const CONNECTION_TENANT = '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';
const OTHER_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

const cloud: AzureCloud = resolveAzureCloud('AzureCloud', {}) ?? assert.fail('AzureCloud is a known cloud');

const connection: AzureConnection = {
  id: 'contoso-prod',
  subscriptionId: '00000000-0000-0000-0000-000000000001',
  cloud,
  authentication: {
    kind: 'servicePrincipalSecret',
    tenantId: CONNECTION_TENANT,
    clientId: '11111111-2222-3333-4444-555555555555',
    secret: 'not-used-here',
  },
};

/** The explanation is our UserError with exactly the shipped message `key` with these values. */
function assertExplained(
  explanation: UserError | undefined,
  key: SharedMessageKey,
  ...values: unknown[]
): void {
  assert.ok(explanation instanceof UserError, `expected a UserError, got ${String(explanation)}`);
  assert.equal(explanation.message, shipped.message(key, ...values));
}

const refusal = (status: number, statusText: string, target = VAULT_TARGET): ProxyConnectError =>
  new ProxyConnectError(PROXY_REFUSED, PROXY, target, status, statusText);

const socketError = (code: string, message = `connect ${code}`): Error =>
  Object.assign(new Error(message), { code });

describe('explainNetworkError', () => {
  it('names the proxy and the host when a proxy refusal is the cause of the SDK’s error', () => {
    const error = Object.assign(new Error('Request failed'), {
      name: 'RestError',
      code: 'REQUEST_SEND_ERROR',
    });
    error.cause = refusal(403, 'Forbidden');
    assertExplained(explainNetworkError(error, SERVICE), 'ProxyRefused', PROXY, VAULT_TARGET, 403);
  });

  it('asks for the proxy’s credentials when a 407 is among an AggregateError’s errors', () => {
    const error = new AggregateError(
      [socketError('ECONNREFUSED'), refusal(407, 'Proxy Authentication Required')],
      'all failed',
    );
    assertExplained(explainNetworkError(error, SERVICE), 'ProxyAuthenticationRequired', PROXY, VAULT_TARGET);
  });

  it('calls a page answered instead of a tunnel what it is', () => {
    const error = new ProxyConnectError(PROXY_NOT_A_TUNNEL, PROXY, VAULT_TARGET, 200, 'OK');
    assertExplained(explainNetworkError(error, SERVICE), 'ProxyNotATunnel', PROXY, VAULT_TARGET);
  });

  it('names the host and the seconds of a timeout', () => {
    assertExplained(
      explainNetworkError(new RequestTimeoutError('contoso-kv.vault.azure.net', 20), SERVICE),
      'RequestTimedOut',
      'contoso-kv.vault.azure.net',
      20,
    );
  });

  it('says how long throttling lasted', () => {
    const error = new ThrottledError('contoso-kv.vault.azure.net', 61, new Error('429'));
    assertExplained(explainNetworkError(error, SERVICE), 'Throttled', SERVICE, 61);
  });

  it('says answers kept arriving cut off, without quoting them', () => {
    const error = new BrokenResponseError('contoso-kv.vault.azure.net', 200);
    assertExplained(explainNetworkError(error, SERVICE), 'ResponseBroken', SERVICE);
  });

  it('says a host name does not resolve', () => {
    assertExplained(
      explainNetworkError(
        socketError('ENOTFOUND', 'getaddrinfo ENOTFOUND contoso-kv.vault.azure.net'),
        SERVICE,
      ),
      'HostNotFound',
      SERVICE,
    );
  });

  it('names the code of a connection that kept breaking', () => {
    assertExplained(
      explainNetworkError(socketError('ECONNRESET', 'read ECONNRESET'), SERVICE),
      'ConnectionFailed',
      SERVICE,
      'ECONNRESET',
    );
  });

  it('finds the code of undici’s `fetch failed` in its cause', () => {
    const error = new TypeError('fetch failed', { cause: socketError('ECONNRESET', 'read ECONNRESET') });
    assertExplained(explainNetworkError(error, SERVICE), 'ConnectionFailed', SERVICE, 'ECONNRESET');
  });

  it('finds the code of a connection refused on every address among an AggregateError’s errors', () => {
    const error = new AggregateError(
      [socketError('ECONNREFUSED'), socketError('ECONNREFUSED')],
      'connect failed',
    );
    assertExplained(explainNetworkError(error, SERVICE), 'ConnectionFailed', SERVICE, 'ECONNREFUSED');
  });

  it('leaves an answer of the service itself to the caller', () => {
    const forbidden = Object.assign(new Error('Forbidden'), {
      name: 'RestError',
      statusCode: 403,
      details: { error: { code: 'Forbidden', innererror: { code: 'ForbiddenByRbac' } } },
    });
    assert.equal(explainNetworkError(forbidden, SERVICE), undefined);
    assert.equal(
      explainNetworkError(new TypeError("Cannot read properties of undefined (reading 'x')"), SERVICE),
      undefined,
    );
  });
});

describe('explainSignInError', () => {
  const authenticationError = (message: string): Error =>
    Object.assign(new Error(message), { name: 'AuthenticationError', statusCode: 400 });

  it('reads our proxy refusal out of the text @azure/identity wraps it in', () => {
    const error = authenticationError(
      `ClientSecretCredential authentication failed: The proxy ${PROXY} refused the connection to ${LOGIN_TARGET}: 407 Proxy Authentication Required`,
    );
    assertExplained(
      explainSignInError(error, connection, SERVICE),
      'ProxyAuthenticationRequired',
      PROXY,
      LOGIN_TARGET,
    );
  });

  it('reads a proxy that answered Entra ID with a page out of the wrapped text', () => {
    const error = authenticationError(
      `ClientSecretCredential authentication failed: The proxy ${PROXY} answered the connection to ${LOGIN_TARGET} with a page instead of a tunnel: 200 OK`,
    );
    assertExplained(explainSignInError(error, connection, SERVICE), 'ProxyNotATunnel', PROXY, LOGIN_TARGET);
  });

  it('reads our timeout out of the wrapped text', () => {
    const error = authenticationError(
      'ClientSecretCredential authentication failed: login.microsoftonline.com did not answer within 30 s',
    );
    assertExplained(
      explainSignInError(error, connection, SERVICE),
      'RequestTimedOut',
      'login.microsoftonline.com',
      '30',
    );
  });

  it('says the resource belongs to another tenant, naming both tenants and the connection', () => {
    const error = Object.assign(
      new Error(
        `The current credential is not configured to acquire tokens for tenant ${OTHER_TENANT}. To enable acquiring tokens for this tenant add it to the AdditionallyAllowedTenants on the credential options, or add "*" to AdditionallyAllowedTenants to allow acquiring tokens for any tenant.`,
      ),
      { name: 'CredentialUnavailableError' },
    );
    assertExplained(
      explainSignInError(error, connection, SERVICE),
      'ResourceInAnotherTenant',
      SERVICE,
      OTHER_TENANT,
      'contoso-prod',
      CONNECTION_TENANT,
    );
  });

  it('quotes only Entra ID’s AADSTS sentence of a failed sign-in', () => {
    const error = authenticationError(
      "ClientSecretCredential authentication failed: AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '11111111-2222-3333-4444-555555555555'.\r\nTrace ID: 7d3c\r\nCorrelation ID: 9f1e\r\nTimestamp: 2026-11-30 10:00:00Z",
    );
    assertExplained(
      explainSignInError(error, connection, SERVICE),
      'SignInFailed',
      'contoso-prod',
      'AADSTS7000215: Invalid client secret provided.',
    );
  });

  it('counts a 401 from the service as a sign-in failure', () => {
    const error = Object.assign(new Error('Unauthorized'), { name: 'RestError', statusCode: 401 });
    assertExplained(
      explainSignInError(error, connection, SERVICE),
      'SignInFailed',
      'contoso-prod',
      'Unauthorized',
    );
  });

  // Each case below records its failure for an authority host of its own: the record is process-wide.
  const withAuthority = (host: string): AzureConnection => ({
    ...connection,
    cloud: { ...cloud, authorityHost: `https://${host}` },
  });

  it('explains MSAL’s bare network_error by the proxy refusal last seen on the way to Entra ID', () => {
    const host = 'login.refused.example';
    recordNetworkFailure(host, new ProxyConnectError(PROXY_REFUSED, PROXY, `${host}:443`, 403, 'Forbidden'));
    const error = authenticationError(
      'ClientSecretCredential authentication failed: network_error: Network request failed',
    );
    assertExplained(
      explainSignInError(error, withAuthority(host), SERVICE),
      'ProxyRefused',
      PROXY,
      `${host}:443`,
      403,
    );
  });

  it('gives Entra ID’s own answer, not an earlier timeout that a retry got past', () => {
    const host = 'login.recovered.example';
    recordNetworkFailure(host, new RequestTimeoutError(host, 30));
    const error = authenticationError(
      'ClientSecretCredential authentication failed: AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.',
    );
    assertExplained(
      explainSignInError(error, withAuthority(host), SERVICE),
      'SignInFailed',
      'contoso-prod',
      'AADSTS7000215: Invalid client secret provided.',
    );
  });

  it('leaves errors that are not about signing in to the caller', () => {
    const forbidden = Object.assign(new Error('Forbidden'), { name: 'RestError', statusCode: 403 });
    assert.equal(explainSignInError(forbidden, connection, SERVICE), undefined);
    assert.equal(explainSignInError(refusal(403, 'Forbidden'), connection, SERVICE), undefined);
  });
});

describe('signInReason', () => {
  it('keeps a sentence whose quoted name has dots in it whole', () => {
    assert.equal(
      signInReason(
        "AADSTS700016: Application with identifier '11111111-2222-3333-4444-555555555555' was not found in the directory 'contoso.onmicrosoft.com'. This can happen if the application has not been installed.",
      ),
      "AADSTS700016: Application with identifier '11111111-2222-3333-4444-555555555555' was not found in the directory 'contoso.onmicrosoft.com'.",
    );
  });

  it('gives the first line when there is no AADSTS code', () => {
    assert.equal(
      signInReason('ManagedIdentityCredential: no response from the IMDS endpoint\n    at stack'),
      'ManagedIdentityCredential: no response from the IMDS endpoint',
    );
  });
});

describe('principalOf', () => {
  it('names the connection’s client id, or the agent’s managed identity when it has none', () => {
    assert.equal(principalOf(connection), '11111111-2222-3333-4444-555555555555');
    assert.equal(
      principalOf({ ...connection, authentication: { kind: 'managedIdentity', clientId: undefined } }),
      shipped.message('AgentManagedIdentity'),
    );
  });
});
