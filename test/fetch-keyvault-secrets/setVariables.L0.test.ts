import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { FAKES_DIR, assertFailedWith, failureMessage, runL0, type L0Result } from '../support/l0';
import { recordedKeyVaultCalls, type FakeVault } from '../support/fakes/keyVaultSecrets';
import { servicePrincipalEndpoint, CLIENT_ID } from '../support/fixtures';

const CONNECTION = 'kv-connection';
const PAST = '2020-01-01T00:00:00Z';
const FUTURE = '2099-01-01T00:00:00Z';

async function run(
  inputs: Record<string, string>,
  fakeVault: FakeVault,
  variables: Record<string, string> = {},
): Promise<L0Result> {
  return runL0({
    variables,
    task: 'fetch-keyvault-secrets',
    inputs: { azureSubscription: CONNECTION, keyVaultName: 'contoso-kv', ...inputs },
    endpoints: { [CONNECTION]: servicePrincipalEndpoint() },
    env: { FAKE_KEYVAULT: JSON.stringify(fakeVault) },
    mocks: {
      '@azure/identity': path.join(FAKES_DIR, 'identity.js'),
      '@azure/keyvault-secrets': path.join(FAKES_DIR, 'keyVaultSecrets.js'),
    },
  });
}

/** Secret variables set, name → value. */
function secretVariables(result: L0Result): Map<string, string> {
  const variables = new Map<string, string>();
  for (const c of result.commands) {
    if (c.command === 'task.setvariable') {
      assert.equal(c.properties['issecret'], 'true', `${c.properties['variable']} is set as a secret`);
      variables.set(c.properties['variable']!, c.message);
    }
  }
  return variables;
}

/** Asserts each value (and each of its lines) was registered before any line that contains it. */
function assertRegisteredBeforeUse(result: L0Result, values: string[]): void {
  const lines = result.stdout.split(/\r?\n/);
  for (const value of values) {
    for (const form of value.split(/\r?\n/).filter((l) => l.trim().length >= 3)) {
      const registered = lines.findIndex(
        (line) =>
          line.startsWith('##vso[task.setsecret]') &&
          line.slice('##vso[task.setsecret]'.length) === form.trim(),
      );
      assert.ok(registered >= 0, `'${form}' is registered`);
      const firstUse = lines.findIndex(
        (line, index) =>
          index !== registered &&
          !line.startsWith('##vso[task.setsecret]') &&
          line.includes(form.trim()) &&
          !line.startsWith('##l0-keyvault'),
      );
      if (firstUse >= 0)
        assert.ok(
          registered < firstUse,
          `'${form}' is registered (line ${registered}) before it is used (line ${firstUse})`,
        );
    }
  }
}

describe('FetchKeyVaultSecrets (L0)', () => {
  it('fetches every usable secret with *, skipping disabled, expired and not-yet-valid ones with one warning each', async () => {
    const result = await run(
      { secrets: '*' },
      {
        pageSize: 2,
        secrets: [
          { name: 'db-password', value: 'pw-1' },
          { name: 'old-key', value: 'x', expiresOn: PAST },
          { name: 'off', value: 'x', enabled: false },
          { name: 'later', value: 'x', notBefore: FUTURE },
          { name: 'api-key', value: 'key-2', expiresOn: FUTURE },
        ],
      },
    );
    assert.ok(result.succeeded, failureMessage(result));
    assert.deepEqual(Object.fromEntries(secretVariables(result)), {
      'db-password': 'pw-1',
      DB_PASSWORD: 'pw-1',
      'api-key': 'key-2',
      API_KEY: 'key-2',
    });
    assert.deepEqual([...result.warnings].sort(), [
      'loc_mock_SkippedDisabled off',
      'loc_mock_SkippedExpired old-key',
      'loc_mock_SkippedNotYetValid later',
    ]);
    assert.deepEqual(
      recordedKeyVaultCalls(result.stdout)
        .filter((c) => c.call === 'getSecret')
        .map((c) => c.detail)
        .sort(),
      ['api-key', 'db-password'],
    );
    assert.match(result.stdout, /loc_mock_Summary 2 3/);
    assert.match(result.stdout, /loc_mock_SecretSet db-password db-password, DB_PASSWORD/);
  });

  it('fetches exactly the named secrets, renamed where asked, without listing the vault', async () => {
    const result = await run(
      { secrets: 'db-password:DbPassword, api-key\n  tls-cert  ', envSafeNames: 'false' },
      {
        secrets: [
          { name: 'db-password', value: 'pw' },
          { name: 'api-key', value: 'k1' },
          { name: 'tls-cert', value: 'c1' },
          { name: 'other', value: 'o' },
        ],
      },
    );
    assert.ok(result.succeeded, failureMessage(result));
    assert.deepEqual(Object.fromEntries(secretVariables(result)), {
      DbPassword: 'pw',
      'api-key': 'k1',
      'tls-cert': 'c1',
    });
    assert.equal(recordedKeyVaultCalls(result.stdout).filter((c) => c.call === 'listPage').length, 0);
  });

  it('fails naming every absent, disabled or expired secret and sets nothing', async () => {
    const result = await run(
      { secrets: 'db-password, gone, off, old' },
      {
        secrets: [
          { name: 'db-password', value: 'pw-9' },
          { name: 'off', value: 'x', enabled: false },
          { name: 'old', value: 'x', expiresOn: PAST },
        ],
      },
    );
    assertFailedWith(result, 'loc_mock_SecretsUnavailable gone (not found), off (disabled), old (expired)');
    assert.equal(secretVariables(result).size, 0);
    assertRegisteredBeforeUse(result, ['pw-9']);
  });

  it('warns about unavailable secrets and sets the rest when failOnMissing is false', async () => {
    const result = await run(
      { secrets: 'db-password, gone', failOnMissing: 'false' },
      { secrets: [{ name: 'db-password', value: 'pw' }] },
    );
    assert.ok(result.succeeded, failureMessage(result));
    assert.deepEqual([...secretVariables(result).keys()], ['db-password', 'DB_PASSWORD']);
    assert.deepEqual(result.warnings, ['loc_mock_SkippedMissing gone']);
  });

  it('fails before fetching when two named secrets would set the same variable', async () => {
    const result = await run({ secrets: 'db-password:Password, api-password:PASSWORD' }, { secrets: [] });
    assertFailedWith(result, 'loc_mock_VariableCollision db-password api-password PASSWORD');
    assert.equal(recordedKeyVaultCalls(result.stdout).filter((c) => c.call === 'getSecret').length, 0);
  });

  it('fails before setting anything when an env-safe alias collides with another secret’s name', async () => {
    const result = await run(
      { secrets: '*' },
      {
        secrets: [
          { name: 'db-password', value: 'a-value' },
          { name: 'DB-PASSWORD-x', value: 'b' },
          { name: 'DB_PASSWORD', value: 'c-value' },
        ],
      },
    );
    assertFailedWith(result, 'loc_mock_VariableCollision DB_PASSWORD db-password DB_PASSWORD');
    assert.equal(secretVariables(result).size, 0);
  });

  it('registers the private lines of a PEM and the secret strings of a JSON value before anything prints them, and not public ones', async () => {
    const pem = [
      '-----BEGIN CERTIFICATE-----',
      'MIIBpublicCertificateLine',
      '-----END CERTIFICATE-----',
      '-----BEGIN PRIVATE KEY-----',
      'AAAAlineone',
      'BBBBlinetwo',
      '-----END PRIVATE KEY-----',
    ].join('\n');
    const json = '{"user":"svc-deploy","password":"Js0nP@ss","region":"westeurope"}';
    const result = await run(
      { secrets: 'tls-key, db-json' },
      {
        secrets: [
          { name: 'tls-key', value: pem },
          { name: 'db-json', value: json },
        ],
      },
      { 'System.UnsafeAllowMultilineSecret': 'true' },
    );
    assert.ok(result.succeeded, failureMessage(result));
    assertRegisteredBeforeUse(result, ['AAAAlineone\nBBBBlinetwo', json, 'Js0nP@ss']);
    const registered = result.stdout
      .split(/\r?\n/)
      .filter((line) => line.startsWith('##vso[task.setsecret]'))
      .map((line) => line.slice('##vso[task.setsecret]'.length));
    for (const publicText of [
      'MIIBpublicCertificateLine',
      '-----BEGIN CERTIFICATE-----',
      '-----END PRIVATE KEY-----',
      'svc-deploy',
      'westeurope',
    ])
      assert.ok(!registered.includes(publicText), `${publicText} is not masked`);
    assert.equal(secretVariables(result).get('tls-key'), pem);
  });

  it('refuses a multi-line secret, before setting anything, unless the pipeline allows them', async () => {
    const result = await run(
      { secrets: 'tls-key, plain' },
      {
        secrets: [
          { name: 'tls-key', value: 'line-one\nline-two' },
          { name: 'plain', value: 'p-value' },
        ],
      },
    );
    assertFailedWith(result, 'loc_mock_MultilineSecretNotAllowed tls-key');
    assert.equal(secretVariables(result).size, 0);
    assertRegisteredBeforeUse(result, ['line-one\nline-two', 'p-value']);
  });

  it('sets an empty secret with a warning', async () => {
    const result = await run({ secrets: 'empty-one' }, { secrets: [{ name: 'empty-one', value: '' }] });
    assert.ok(result.succeeded, failureMessage(result));
    assert.equal(secretVariables(result).get('empty-one'), '');
    assert.deepEqual(result.warnings, ['loc_mock_EmptySecret empty-one']);
  });

  it('gives the SDK the vault URL from the cloud’s suffix and our retry policy in place of its own', async () => {
    const result = await run({ secrets: 'a-b' }, { secrets: [{ name: 'a-b', value: 'v' }] });
    const constructed = recordedKeyVaultCalls(result.stdout).find((c) => c.call === 'constructor')
      ?.detail as {
      vaultUrl: string;
      options: { retryOptions: { maxRetries: number }; additionalPolicies: { policy: { name: string } }[] };
    };
    assert.equal(constructed.vaultUrl, 'https://contoso-kv.vault.azure.net/');
    assert.equal(constructed.options.retryOptions.maxRetries, 0);
    assert.deepEqual(
      constructed.options.additionalPolicies.map((entry) => entry.policy.name),
      ['aksDeliveryRetry', 'aksDeliveryProxyTunnels'],
    );
  });

  const forbidden = (innerCode: string): FakeVault => ({
    secrets: [],
    listError: { statusCode: 403, code: 'Forbidden', innerCode, message: 'Forbidden.\nmore' },
  });
  const explained: [string, FakeVault, string][] = [
    [
      'an RBAC vault refuses the principal',
      forbidden('ForbiddenByRbac'),
      `loc_mock_ForbiddenByRbac ${CLIENT_ID} contoso-kv`,
    ],
    [
      'an access-policy vault refuses the principal',
      forbidden('AccessDenied'),
      `loc_mock_ForbiddenByAccessPolicy ${CLIENT_ID} contoso-kv`,
    ],
    [
      'the vault firewall refuses the agent',
      forbidden('ForbiddenByFirewall'),
      'loc_mock_ForbiddenByFirewall contoso-kv',
    ],
    [
      'the vault host does not resolve',
      {
        secrets: [],
        listError: { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND contoso-kv.vault.azure.net' },
      },
      'loc_mock_VaultNotFound contoso-kv.vault.azure.net vault.azure.net',
    ],
    [
      'sign-in fails',
      {
        secrets: [],
        listError: {
          name: 'AuthenticationError',
          code: 'invalid_client',
          message: 'AADSTS7000215: Invalid client secret provided.\nTrace ID: 1',
        },
      },
      `loc_mock_SignInFailed ${CONNECTION} AADSTS7000215: Invalid client secret provided.`,
    ],
    [
      'the vault answers 500 after the retries, naming its error code and never its message',
      { secrets: [], listError: { statusCode: 500, code: 'InternalError', message: 'Boom: value=s3cr3t' } },
      'loc_mock_KeyVaultRequestFailed contoso-kv 500 InternalError',
    ],
    [
      'the connection keeps breaking off mid-answer, retries included',
      { secrets: [], listError: { code: 'AKS_DELIVERY_BROKEN_RESPONSE', message: 'cut off' } },
      "loc_mock_ResponseBroken Key Vault 'contoso-kv'",
    ],
    [
      'the connection is refused after the retries',
      { secrets: [], listError: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 10.0.0.4:443' } },
      "loc_mock_ConnectionFailed Key Vault 'contoso-kv' ECONNREFUSED",
    ],
  ];
  for (const [what, fakeVault, expected] of explained) {
    it(`explains in one line when ${what}`, async () => {
      assertFailedWith(await run({ secrets: '*' }, fakeVault), expected);
    });
  }

  it('stops and explains when fetching one listed secret is refused', async () => {
    const result = await run(
      { secrets: '*' },
      {
        secrets: [
          { name: 'a-one', value: 'v1' },
          { name: 'b-two', value: 'v2' },
        ],
        getErrors: {
          'b-two': { statusCode: 403, code: 'Forbidden', innerCode: 'ForbiddenByRbac', message: 'no' },
        },
      },
    );
    assertFailedWith(result, `loc_mock_ForbiddenByRbac ${CLIENT_ID} contoso-kv`);
    assert.equal(secretVariables(result).size, 0);
  });
});
