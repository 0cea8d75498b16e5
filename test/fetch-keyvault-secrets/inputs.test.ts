import * as assert from 'node:assert/strict';
import {
  DEFAULT_CONCURRENCY,
  isReservedVariableName,
  parseSecretSelection,
  vaultUrlOf,
} from '../../tasks/fetch-keyvault-secrets/inputs';
import { taskMessages } from '../support/userErrors';

const { assertUserError } = taskMessages('fetch-keyvault-secrets');

describe('FetchKeyVaultSecrets input parsers', () => {
  describe('vaultUrlOf', () => {
    it('adds the cloud’s suffix to a vault name, lower-cased', () => {
      assert.equal(vaultUrlOf('Contoso-KV', 'vault.azure.net'), 'https://contoso-kv.vault.azure.net/');
      assert.equal(vaultUrlOf('contoso-kv', 'vault.azure.cn'), 'https://contoso-kv.vault.azure.cn/');
    });

    it('keeps a full https vault URL, host and port only', () => {
      assert.equal(
        vaultUrlOf('https://contoso-kv.vault.azure.net', undefined),
        'https://contoso-kv.vault.azure.net/',
      );
      assert.equal(vaultUrlOf('https://kv.contoso.local:8443/', undefined), 'https://kv.contoso.local:8443/');
    });

    it('refuses a plain-http URL, a URL with a path, and names that break Key Vault’s rules', () => {
      assertUserError(
        () => vaultUrlOf('http://contoso-kv.vault.azure.net', 'vault.azure.net'),
        'InvalidVaultUrl',
        'http://contoso-kv.vault.azure.net',
      );
      assertUserError(
        () => vaultUrlOf('https://contoso-kv.vault.azure.net/secrets', undefined),
        'InvalidVaultUrl',
        'https://contoso-kv.vault.azure.net/secrets',
      );
      for (const name of [
        'kv',
        'kv_with_underscores',
        '1starts-with-digit',
        'ends-with-dash-',
        'x'.repeat(25),
      ])
        assertUserError(() => vaultUrlOf(name, 'vault.azure.net'), 'InvalidVaultName', name);
    });

    it('asks for the full URL when the cloud has no Key Vault suffix', () => {
      assertUserError(() => vaultUrlOf('contoso-kv', undefined), 'VaultSuffixUnknown', 'contoso-kv');
    });
  });

  describe('parseSecretSelection', () => {
    it('reads nothing or a lone * as every secret', () => {
      assert.deepEqual(parseSecretSelection([]), { kind: 'all' });
      assert.deepEqual(parseSecretSelection(['*']), { kind: 'all' });
    });

    it('reads names and renames, trimming around the colon', () => {
      assert.deepEqual(parseSecretSelection(['db-password', 'api-key : ApiKey', 'tls:Tls.Cert']), {
        kind: 'named',
        requests: [
          { secretName: 'db-password', variableName: 'db-password' },
          { secretName: 'api-key', variableName: 'ApiKey' },
          { secretName: 'tls', variableName: 'Tls.Cert' },
        ],
      });
    });

    it('refuses * among names, bad secret names and bad variable names', () => {
      assertUserError(() => parseSecretSelection(['a', '*']), 'SecretsStarNotAlone');
      assertUserError(() => parseSecretSelection(['db_password']), 'InvalidSecretName', 'db_password');
      assertUserError(() => parseSecretSelection(['db:has space']), 'InvalidVariableName', 'has space', 'db');
    });

    it('refuses a rename onto a variable the agent owns', () => {
      for (const name of [
        'System.AccessToken',
        'agent.TempDirectory',
        'Build.SourceBranch',
        'Release.ReleaseId',
      ])
        assertUserError(() => parseSecretSelection([`token:${name}`]), 'ReservedVariableName', name);
    });
  });

  describe('isReservedVariableName', () => {
    it('knows the agent’s prefixes in any case, and leaves ordinary names alone', () => {
      assert.deepEqual(
        [
          'System.Debug',
          'AGENT.OS',
          'pipeline.workspace',
          'Environment.Name',
          'SystemPassword',
          'db-password',
          'BUILD_KEY',
        ].map(isReservedVariableName),
        [true, true, true, true, false, false, false],
      );
    });
  });

  it('fetches 32 secrets at a time unless told otherwise', () => {
    assert.equal(DEFAULT_CONCURRENCY, 32);
  });
});
