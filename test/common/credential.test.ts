import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { FAKES_DIR, BUILD_ROOT, failureMessage, runL0, type L0Result, type L0Scenario } from '../support/l0';
import { recordedCredentials, type RecordedCredential } from '../support/fakes/identity';
import { CLIENT_ID, CLIENT_SECRET, TENANT_ID, servicePrincipalEndpoint } from '../support/fixtures';
import type { EndpointDefinition } from '../../scripts/agentEnvironment';

const CONNECTION = 'c0ffee00-0000-4000-8000-000000000001';
const CERTIFICATE_PEM =
  '-----BEGIN CERTIFICATE-----\nMIIBfakecertificatebody\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nMIIEfakeprivatekeybody\n-----END PRIVATE KEY-----';

async function buildCredential(
  endpoint: EndpointDefinition,
  extra: Partial<L0Scenario> = {},
): Promise<L0Result> {
  return runL0({
    task: 'fetch-keyvault-secrets',
    entry: path.join(BUILD_ROOT, 'test', 'common', 'credentialEntry.js'),
    inputs: { azureSubscription: CONNECTION },
    endpoints: { [CONNECTION]: endpoint },
    mocks: { '@azure/identity': path.join(FAKES_DIR, 'identity.js') },
    ...extra,
  });
}

function onlyCredential(result: L0Result): RecordedCredential {
  assert.ok(result.succeeded, failureMessage(result));
  const credentials = recordedCredentials(result.stdout);
  assert.equal(credentials.length, 1);
  return credentials[0]!;
}

function registeredSecrets(result: L0Result): string[] {
  return result.commands.filter((c) => c.command === 'task.setsecret').map((c) => c.message);
}

describe('AzureRM service connection → credential (L0)', () => {
  it('builds a ClientSecretCredential for a service principal with a secret, and masks the secret', async () => {
    const result = await buildCredential(servicePrincipalEndpoint());
    const credential = onlyCredential(result);
    assert.equal(credential.className, 'ClientSecretCredential');
    assert.deepEqual(credential.args.slice(0, 3), [TENANT_ID, CLIENT_ID, CLIENT_SECRET]);
    assert.equal(
      (credential.args[3] as { authorityHost: string }).authorityHost,
      'https://login.microsoftonline.com',
    );
    assert.ok(registeredSecrets(result).includes(CLIENT_SECRET));
  });

  it('builds a ClientCertificateCredential from the PEM of a certificate connection, masking every line', async () => {
    const result = await buildCredential(
      servicePrincipalEndpoint({
        auth: {
          tenantid: TENANT_ID,
          serviceprincipalid: CLIENT_ID,
          authenticationType: 'spnCertificate',
          servicePrincipalCertificate: CERTIFICATE_PEM,
        },
      }),
    );
    const credential = onlyCredential(result);
    assert.equal(credential.className, 'ClientCertificateCredential');
    assert.deepEqual(credential.args.slice(0, 3), [TENANT_ID, CLIENT_ID, { certificate: CERTIFICATE_PEM }]);
    const secrets = registeredSecrets(result);
    assert.ok(secrets.includes('MIIEfakeprivatekeybody'), 'each line of the PEM is registered');
  });

  it('builds an AzurePipelinesCredential for workload identity federation with the job token and OIDC URL', async () => {
    const oidc =
      'https://vstoken.dev.azure.com/org/project/_apis/distributedtask/hubs/build/plans/p/jobs/j/oidctoken';
    const result = await buildCredential(
      {
        url: 'https://management.azure.com/',
        scheme: 'WorkloadIdentityFederation',
        auth: { tenantid: TENANT_ID, serviceprincipalid: CLIENT_ID },
        data: { environment: 'AzureCloud' },
      },
      {
        endpoints: {
          [CONNECTION]: {
            url: 'https://management.azure.com/',
            scheme: 'WorkloadIdentityFederation',
            auth: { tenantid: TENANT_ID, serviceprincipalid: CLIENT_ID },
            data: { environment: 'AzureCloud' },
          },
          SystemVssConnection: {
            url: 'https://dev.azure.com/org/',
            scheme: 'OAuth',
            auth: { AccessToken: 'job-access-token-123' },
          },
        },
        variables: { 'System.OidcRequestUri': oidc },
      },
    );
    const credential = onlyCredential(result);
    assert.equal(credential.className, 'AzurePipelinesCredential');
    assert.deepEqual(credential.args.slice(0, 4), [TENANT_ID, CLIENT_ID, CONNECTION, 'job-access-token-123']);
    assert.ok(registeredSecrets(result).includes('job-access-token-123'));
  });

  it('fails with one line when workload identity federation has no OIDC request URL', async () => {
    const result = await buildCredential({
      url: 'https://management.azure.com/',
      scheme: 'WorkloadIdentityFederation',
      auth: { tenantid: TENANT_ID, serviceprincipalid: CLIENT_ID },
      data: {},
    });
    assert.equal(result.succeeded, false);
    assert.equal(failureMessage(result), `loc_mock_ConnectionNeedsOidc ${CONNECTION}`);
  });

  it('builds a ManagedIdentityCredential, with the user-assigned client id when the connection has one', async () => {
    const systemAssigned = onlyCredential(
      await buildCredential({
        url: 'https://management.azure.com/',
        scheme: 'ManagedServiceIdentity',
        auth: { tenantid: TENANT_ID },
        data: {},
      }),
    );
    assert.equal(systemAssigned.className, 'ManagedIdentityCredential');
    assert.equal((systemAssigned.args[0] as { clientId?: string }).clientId, undefined);
    const userAssigned = onlyCredential(
      await buildCredential({
        url: 'https://management.azure.com/',
        scheme: 'ManagedServiceIdentity',
        auth: { tenantid: TENANT_ID },
        data: { msiclientId: 'mi-client' },
      }),
    );
    assert.equal((userAssigned.args[0] as { clientId?: string }).clientId, 'mi-client');
  });

  it('uses the sovereign cloud authority for AzureChinaCloud and AzureUSGovernment', async () => {
    for (const [environment, authority] of [
      ['AzureChinaCloud', 'https://login.chinacloudapi.cn'],
      ['AzureUSGovernment', 'https://login.microsoftonline.us'],
    ] as const) {
      const credential = onlyCredential(
        await buildCredential(servicePrincipalEndpoint({ data: { environment } })),
      );
      assert.equal((credential.args[3] as { authorityHost: string }).authorityHost, authority);
    }
  });

  it('takes a custom cloud’s endpoints from the connection data', async () => {
    const result = await buildCredential(
      servicePrincipalEndpoint({
        url: 'https://management.local.azurestack.external',
        data: {
          environment: 'AzureStack',
          environmentAuthorityUrl: 'https://login.local.azurestack.external/',
          activeDirectoryServiceEndpointResourceId: 'https://management.adfs.azurestack.local/abc',
          AzureKeyVaultDnsSuffix: 'vault.local.azurestack.external',
        },
      }),
    );
    const credential = onlyCredential(result);
    assert.equal(
      (credential.args[3] as { authorityHost: string }).authorityHost,
      'https://login.local.azurestack.external',
    );
    const cloudLine = result.stdout.split('\n').find((line) => line.startsWith('##l0-cloud '));
    const cloud = JSON.parse(cloudLine!.slice('##l0-cloud '.length)) as Record<string, string>;
    assert.equal(cloud['resourceManagerUrl'], 'https://management.local.azurestack.external/');
    assert.equal(cloud['resourceManagerScope'], 'https://management.adfs.azurestack.local/abc/.default');
    assert.equal(cloud['keyVaultDnsSuffix'], 'vault.local.azurestack.external');
  });

  for (const [what, endpoint, expected] of [
    [
      'an unsupported scheme',
      { scheme: 'UsernamePassword', data: { environment: 'AzureCloud' } },
      `loc_mock_ConnectionSchemeUnsupported ${CONNECTION} UsernamePassword`,
    ],
    [
      'an unknown cloud without endpoints',
      servicePrincipalEndpoint({ url: undefined, data: { environment: 'Mars' } }),
      `loc_mock_ConnectionUnknownEnvironment ${CONNECTION} Mars`,
    ],
    [
      'a service principal without a key',
      servicePrincipalEndpoint({ auth: { tenantid: TENANT_ID, serviceprincipalid: CLIENT_ID } }),
      `loc_mock_ConnectionMissingParameter ${CONNECTION} service principal key`,
    ],
  ] as const) {
    it(`fails with one line for ${what}`, async () => {
      const result = await buildCredential(endpoint);
      assert.equal(result.succeeded, false);
      assert.equal(failureMessage(result), expected);
      assert.equal(recordedCredentials(result.stdout).length, 0);
      assert.doesNotMatch(result.stdout, /\n\s+at /, 'no stack trace');
    });
  }

  it('fails naming the input when the connection does not exist', async () => {
    const result = await runL0({
      task: 'fetch-keyvault-secrets',
      entry: path.join(BUILD_ROOT, 'test', 'common', 'credentialEntry.js'),
      inputs: { azureSubscription: 'no-such-connection' },
      mocks: { '@azure/identity': path.join(FAKES_DIR, 'identity.js') },
    });
    assert.equal(failureMessage(result), 'loc_mock_ConnectionNotFound azureSubscription no-such-connection');
  });
});
