import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { FAKES_DIR, assertFailedWith, failureMessage, runL0, type L0Scenario } from '../support/l0';
import { servicePrincipalEndpoint } from '../support/fixtures';

const CONNECTION = 'kv-connection';

function scenario(inputs: Record<string, string>, extra: Partial<L0Scenario> = {}): L0Scenario {
  return {
    task: 'fetch-keyvault-secrets',
    inputs: { azureSubscription: CONNECTION, keyVaultName: 'contoso-kv', ...inputs },
    endpoints: { [CONNECTION]: servicePrincipalEndpoint() },
    env: {
      FAKE_KEYVAULT: JSON.stringify({
        secrets: [
          { name: 'db-password', value: 'pw' },
          { name: 'api-key', value: 'k' },
        ],
      }),
    },
    mocks: {
      '@azure/identity': path.join(FAKES_DIR, 'identity.js'),
      '@azure/keyvault-secrets': path.join(FAKES_DIR, 'keyVaultSecrets.js'),
    },
    ...extra,
  };
}

describe('FetchKeyVaultSecrets inputs (L0)', () => {
  const failures: [string, Record<string, string>, string][] = [
    ['no connection is chosen', { azureSubscription: '' }, 'loc_mock_InputRequired azureSubscription'],
    ['no vault is named', { keyVaultName: '' }, 'loc_mock_InputRequired keyVaultName'],
    [
      'the vault name breaks Key Vault’s rules',
      { keyVaultName: 'kv_with_underscores' },
      'loc_mock_InvalidVaultName kv_with_underscores',
    ],
    [
      'the vault URL is not https',
      { keyVaultName: 'http://contoso-kv.vault.azure.net' },
      'loc_mock_InvalidVaultUrl http://contoso-kv.vault.azure.net',
    ],
    [
      'a secret name has invalid characters',
      { secrets: 'db-password, api_key' },
      'loc_mock_InvalidSecretName api_key',
    ],
    [
      'envSafeNames is not a boolean',
      { envSafeNames: 'yes' },
      'loc_mock_InputInvalidBoolean envSafeNames yes',
    ],
    [
      'a rename targets a variable the agent owns',
      { secrets: 'db-password:System.AccessToken' },
      'loc_mock_ReservedVariableName System.AccessToken',
    ],
    ['concurrency is out of range', { concurrency: '0' }, 'loc_mock_InputInvalidInteger concurrency 1 64 0'],
  ];
  for (const [what, inputs, expected] of failures) {
    it(`fails naming the input when ${what}`, async () => {
      assertFailedWith(await runL0(scenario(inputs)), expected);
    });
  }

  it('accepts a vault URL and a list of names with renames', async () => {
    const result = await runL0(
      scenario({
        keyVaultName: 'https://contoso-kv.vault.azure.net/',
        secrets: 'db-password:DbPassword\napi-key',
      }),
    );
    assert.ok(result.succeeded, failureMessage(result));
    const names = result.commands
      .filter((c) => c.command === 'task.setvariable')
      .map((c) => c.properties['variable']);
    // DbPassword's alias DBPASSWORD differs only in case, and variable names ignore case.
    assert.deepEqual(names, ['DbPassword', 'api-key', 'API_KEY']);
  });

  it('does nothing in the step phase when the secrets were fetched as a pre-job', async () => {
    const result = await runL0(scenario({ runAsPreJob: 'true', keyVaultName: 'not a valid name' }));
    assert.ok(result.succeeded);
    assert.match(result.stdout, /loc_mock_RanAsPreJob/);
  });

  it('does nothing in the pre-job phase unless runAsPreJob is set', async () => {
    const result = await runL0(
      scenario({ keyVaultName: 'not a valid name' }, { env: { AKS_DELIVERY_TASK_PHASE: 'prejob' } }),
    );
    assert.ok(result.succeeded);
    assert.doesNotMatch(result.stdout, /loc_mock_/);
  });

  it('does the work in the pre-job phase when runAsPreJob is set', async () => {
    const result = await runL0(scenario({ runAsPreJob: 'true' }));
    const preJob = await runL0({
      ...scenario({ runAsPreJob: 'true' }),
      env: { ...scenario({}).env, AKS_DELIVERY_TASK_PHASE: 'prejob' },
    });
    assert.ok(preJob.succeeded, failureMessage(preJob));
    assert.equal(preJob.commands.filter((c) => c.command === 'task.setvariable').length, 4);
    assert.equal(
      result.commands.filter((c) => c.command === 'task.setvariable').length,
      0,
      'the step phase sets nothing',
    );
  });
});
