import * as assert from 'node:assert/strict';
import { ClientSecretCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { startArm, type ArmServer } from '../../sandbox/arm';
import type { SandboxBase } from '../../sandbox/base';
import { startEntra, type EntraServer } from '../../sandbox/entra';
import { startKeyVault, type KeyVaultServer } from '../../sandbox/keyvault';
import { requestThroughProxy } from '../../sandbox/tls/trust';
import { sandboxSuite } from './harness';

const READER = { clientId: '3c9f6a1e-0000-4000-8000-00000000beef', secret: 'reader-secret' };
const STRANGER = { clientId: '3c9f6a1e-0000-4000-8000-00000000f00d', secret: 'stranger-secret' };
const MANY_SECRETS = 150;

/** What the SDK's RestError carries for a Key Vault error. */
interface VaultRestError {
  name: string;
  statusCode?: number;
  code?: string;
  message: string;
  details?: { error?: { code?: string; message?: string; innerError?: { code?: string } } };
}

async function rejection(promise: Promise<unknown>): Promise<VaultRestError> {
  try {
    await promise;
  } catch (error) {
    return error as VaultRestError;
  }
  throw new assert.AssertionError({ message: 'expected the call to fail' });
}

describe('sandbox Key Vault with the real @azure/keyvault-secrets client', function () {
  let base: SandboxBase;
  let entra: EntraServer;
  let keyVault: KeyVaultServer;
  let arm: ArmServer;
  let reader: ClientSecretCredential;
  let stranger: ClientSecretCredential;

  const client = (vault: string, credential = reader): SecretClient =>
    new SecretClient(`https://${vault}.vault.azure.net`, credential);

  sandboxSuite(
    async (started, keep) => {
      base = started;
      entra = await keep(startEntra(base));
      arm = await keep(startArm(base));
      keyVault = await keep(startKeyVault(base, { arm }));

      const readerPrincipal = entra.registerServicePrincipal(READER);
      entra.registerServicePrincipal(STRANGER);
      reader = new ClientSecretCredential(base.tenantId, READER.clientId, READER.secret);
      stranger = new ClientSecretCredential(base.tenantId, STRANGER.clientId, STRANGER.secret);

      keyVault.createVault('kv-app', { model: 'rbac', allowedPrincipals: [READER.clientId] });
      for (let i = 0; i < MANY_SECRETS; i++)
        keyVault.setSecret('kv-app', `secret-${String(i).padStart(3, '0')}`, `value-${i}`);
      keyVault.setSecret('kv-app', 'rotated', 'first');
      keyVault.setSecret('kv-app', 'rotated', 'second');
      keyVault.setSecret('kv-app', 'switched-off', 'hidden', { enabled: false });
      keyVault.setSecret('kv-app', 'expired', 'still-served', {
        exp: new Date(Date.now() - 86_400_000),
        contentType: 'text/plain',
        tags: { team: 'web' },
      });
      keyVault.createVault('kv-policy', {
        model: 'accessPolicy',
        allowedPrincipals: [readerPrincipal.objectId],
      });
      keyVault.setSecret('kv-policy', 'db-password', 'p0licy');
      keyVault.createVault('kv-closed', { firewall: true });
      keyVault.setSecret('kv-closed', 'anything', 'x');
    },
    { inProcess: true },
  );

  it('challenges an anonymous request with the WWW-Authenticate header of the service', async function () {
    const response = await requestThroughProxy(
      base,
      'https://kv-app.vault.azure.net/secrets?api-version=2025-07-01',
    );

    assert.equal(response.status, 401);
    assert.equal(
      response.headers['www-authenticate'],
      `Bearer authorization="https://login.microsoftonline.com/${base.tenantId}", resource="https://vault.azure.net"`,
    );
    assert.equal((JSON.parse(response.body) as { error: { code: string } }).error.code, 'Unauthorized');
  });

  it('rejects a token for another audience with AKV10022', async function () {
    const armToken = base.tokens.mint({
      aud: 'https://management.azure.com',
      tid: base.tenantId,
      appid: READER.clientId,
      oid: 'x',
    });

    const response = await requestThroughProxy(
      base,
      'https://kv-app.vault.azure.net/secrets?api-version=2025-07-01',
      {
        headers: { authorization: `Bearer ${armToken}` },
      },
    );

    assert.equal(response.status, 401);
    assert.match(response.body, /AKV10022: Invalid audience/);
  });

  it('lists 150 secrets across pages of at most 25, following absolute nextLinks', async function () {
    const countsBefore = keyVault.requestCounts['GET /secrets'];
    const names: string[] = [];
    for await (const properties of client('kv-app').listPropertiesOfSecrets()) names.push(properties.name);

    assert.equal(names.filter((n) => n.startsWith('secret-')).length, MANY_SECRETS);
    assert.equal(names.length, MANY_SECRETS + 3);
    const pages = Math.ceil((MANY_SECRETS + 3) / 25);
    // One more for the 401 challenge of a fresh client.
    assert.equal(keyVault.requestCounts['GET /secrets'] - countsBefore, pages + 1);
  });

  it('serves pages of the size asked for, and refuses more than 25', async function () {
    const sizes: number[] = [];
    for await (const page of client('kv-app').listPropertiesOfSecrets().byPage({ maxPageSize: 20 }))
      sizes.push(page.length);
    assert.deepEqual(sizes, [20, 20, 20, 20, 20, 20, 20, 13]);

    const tooMany = await rejection(
      client('kv-app').listPropertiesOfSecrets().byPage({ maxPageSize: 26 }).next(),
    );
    assert.equal(tooMany.statusCode, 400);
    assert.equal(tooMany.code, 'BadParameter');
  });

  it('puts an absolute https nextLink with $skiptoken on the vault host', async function () {
    const token = (await reader.getToken('https://vault.azure.net/.default')).token;

    const response = await requestThroughProxy(
      base,
      'https://kv-app.vault.azure.net/secrets?api-version=2025-07-01&maxresults=5',
      {
        headers: { authorization: `Bearer ${token}` },
      },
    );

    const body = JSON.parse(response.body) as { value: { id: string }[]; nextLink: string };
    assert.equal(body.value.length, 5);
    assert.equal(body.value[0]?.id, 'https://kv-app.vault.azure.net/secrets/expired');
    const next = new URL(body.nextLink);
    assert.equal(next.protocol, 'https:');
    assert.equal(next.hostname, 'kv-app.vault.azure.net');
    assert.ok(next.searchParams.get('$skiptoken'));
  });

  it('gets secret values: the latest version by default, older ones by version', async function () {
    const secrets = client('kv-app');

    assert.equal((await secrets.getSecret('secret-042')).value, 'value-42');
    const latest = await secrets.getSecret('rotated');
    assert.equal(latest.value, 'second');
    const versions: string[] = [];
    for await (const version of secrets.listPropertiesOfSecretVersions('rotated'))
      versions.push(version.version ?? '');
    assert.equal(versions.length, 2);
    const first = versions.find((v) => v !== latest.properties.version) ?? '';
    assert.equal((await secrets.getSecret('rotated', { version: first })).value, 'first');
  });

  it('serves an expired secret with its expiry, content type and tags (the service does not enforce exp)', async function () {
    const secret = await client('kv-app').getSecret('expired');

    assert.equal(secret.value, 'still-served');
    assert.ok(
      secret.properties.expiresOn !== undefined && secret.properties.expiresOn.getTime() < Date.now(),
    );
    assert.equal(secret.properties.contentType, 'text/plain');
    assert.deepEqual(secret.properties.tags, { team: 'web' });
  });

  it('answers a disabled secret with 403 SecretDisabled', async function () {
    const error = await rejection(client('kv-app').getSecret('switched-off'));

    assert.equal(error.name, 'RestError');
    assert.equal(error.statusCode, 403);
    assert.equal(error.code, 'Forbidden');
    assert.equal(error.details?.error?.innerError?.code, 'SecretDisabled');
    assert.equal(error.details?.error?.message, 'Operation get is not allowed on a disabled secret.');
  });

  it('answers a missing secret with 404 SecretNotFound', async function () {
    const error = await rejection(client('kv-app').getSecret('no-such-secret'));

    assert.equal(error.statusCode, 404);
    assert.equal(error.code, 'SecretNotFound');
    assert.match(error.message, /A secret with \(name\/id\) no-such-secret was not found in this key vault/);
  });

  it('lists a secret changed after listing as enabled, then refuses it as disabled or deleted', async function () {
    keyVault.setSecret('kv-app', 'gone-dark', 'v1', { changedAfterListing: 'disabled' });
    keyVault.setSecret('kv-app', 'gone-away', 'v2', { changedAfterListing: 'deleted' });
    const listed: [string, boolean | undefined][] = [];
    for await (const properties of client('kv-app').listPropertiesOfSecrets())
      if (properties.name.startsWith('gone-')) listed.push([properties.name, properties.enabled]);

    const disabled = await rejection(client('kv-app').getSecret('gone-dark'));
    const deleted = await rejection(client('kv-app').getSecret('gone-away'));

    assert.deepEqual(listed, [
      ['gone-away', true],
      ['gone-dark', true],
    ]);
    assert.equal(disabled.statusCode, 403);
    assert.equal(disabled.details?.error?.innerError?.code, 'SecretDisabled');
    assert.equal(deleted.statusCode, 404);
    assert.equal(deleted.code, 'SecretNotFound');
  });

  it('denies a caller without a role assignment on an RBAC vault with ForbiddenByRbac', async function () {
    const error = await rejection(client('kv-app', stranger).getSecret('secret-001'));

    assert.equal(error.statusCode, 403);
    assert.equal(error.code, 'Forbidden');
    assert.equal(error.details?.error?.innerError?.code, 'ForbiddenByRbac');
    assert.match(error.message, /^Caller is not authorized to perform action on resource\./);
    assert.match(error.message, /Action: 'Microsoft\.KeyVault\/vaults\/secrets\/getSecret\/action'/);
    assert.match(
      error.message,
      new RegExp(`Caller: appid=${STRANGER.clientId};oid=[0-9a-f-]+;iss=https://sts.windows.net/`),
    );
  });

  it('denies listing on an RBAC vault with the readMetadata action (the SDK drops the body of paging errors)', async function () {
    const error = await rejection(client('kv-app', stranger).listPropertiesOfSecrets().next());

    // The paging helper of @azure/keyvault-secrets 4.11 keeps the status and error code only.
    assert.equal(error.statusCode, 403);
    assert.equal(error.code, 'Forbidden');
    assert.equal(error.message, 'Pagination failed with unexpected statusCode 403');

    const token = (await stranger.getToken('https://vault.azure.net/.default')).token;
    const response = await requestThroughProxy(
      base,
      'https://kv-app.vault.azure.net/secrets?api-version=2025-07-01',
      {
        headers: { authorization: `Bearer ${token}` },
      },
    );
    const body = JSON.parse(response.body) as { error: { innererror: { code: string }; message: string } };
    assert.equal(body.error.innererror.code, 'ForbiddenByRbac');
    assert.match(body.error.message, /Action: 'Microsoft\.KeyVault\/vaults\/secrets\/readMetadata\/action'/);
  });

  it('lets an access-policy vault admit by object id and deny others with AccessDenied', async function () {
    assert.equal((await client('kv-policy').getSecret('db-password')).value, 'p0licy');

    const error = await rejection(client('kv-policy', stranger).getSecret('db-password'));

    assert.equal(error.statusCode, 403);
    assert.equal(error.details?.error?.innerError?.code, 'AccessDenied');
    assert.match(
      error.message,
      new RegExp(
        `The user, group or application 'appid=${STRANGER.clientId};oid=.*' does not have secrets get permission on key vault 'kv-policy;location=westeurope'`,
      ),
    );
  });

  it('refuses every caller of a vault behind its firewall with ForbiddenByFirewall', async function () {
    const error = await rejection(client('kv-closed').getSecret('anything'));

    assert.equal(error.statusCode, 403);
    assert.equal(error.details?.error?.innerError?.code, 'ForbiddenByFirewall');
    assert.match(
      error.message,
      /^Client address is not authorized and caller is not a trusted service\.\r\nClient address: /,
    );
  });

  it('lists the vaults through ARM for the pickers', async function () {
    const token = (await reader.getToken('https://management.azure.com/.default')).token;
    const headers = { authorization: `Bearer ${token}` };
    const subscription = `https://management.azure.com/subscriptions/${base.subscriptionId}`;

    const byProvider = await requestThroughProxy(
      base,
      `${subscription}/providers/Microsoft.KeyVault/vaults?api-version=2023-07-01`,
      { headers },
    );
    const byFilter = await requestThroughProxy(
      base,
      `${subscription}/resources?$filter=${encodeURIComponent("resourceType eq 'Microsoft.KeyVault/vaults'")}&api-version=2021-04-01`,
      { headers },
    );

    for (const response of [byProvider, byFilter]) {
      assert.equal(response.status, 200);
      const vaults = (
        JSON.parse(response.body) as { value: { id: string; name: string; type: string; location: string }[] }
      ).value;
      assert.deepEqual(vaults.map((v) => v.name).sort(), ['kv-app', 'kv-closed', 'kv-policy']);
      assert.ok(
        vaults.every(
          (v) =>
            v.type === 'Microsoft.KeyVault/vaults' &&
            v.location === 'westeurope' &&
            v.id.endsWith(`/vaults/${v.name}`),
        ),
      );
    }
  });
});
