import * as assert from 'node:assert/strict';
import type { TaskRun, TaskRunOptions } from '../../scripts/agent';
import type { EndpointDefinition } from '../../scripts/agentEnvironment';
import type { EntraServer, FaultPlan, KeyVaultServer, SandboxBase } from '../../sandbox';
import {
  CONNECTION,
  SECRET_SP,
  randomValue,
  startKeyVaultHarness,
  type KeyVaultHarness,
} from './keyVaultHarness';

const VAULT = 'contoso-kv';
const SECRET_COUNT = 150;
const CERT_SP = { clientId: 'a1b2c3d4-0000-4000-8000-000000000002' };
const FEDERATED_SP = { clientId: 'a1b2c3d4-0000-4000-8000-000000000003' };
const IDENTITY = { clientId: 'a1b2c3d4-0000-4000-8000-000000000004' };
const STRANGER = { clientId: 'a1b2c3d4-0000-4000-8000-0000000000ff', secret: 'stranger-secret-9' };

describe('FetchKeyVaultSecrets bundle against the sandbox (Entra ID + Key Vault through the proxy)', function () {
  this.timeout(120_000);
  let harness: KeyVaultHarness;
  let base: SandboxBase;
  let entra: EntraServer;
  let keyVault: KeyVaultServer;
  let faults: FaultPlan;
  const values = new Map<string, string>();
  let certificatePem: string;
  let federationToken: string;

  const servicePrincipal = (auth: Record<string, string>, scheme?: string): EndpointDefinition =>
    harness.servicePrincipal(auth, scheme);

  /** Runs against VAULT unless `inputs` names another; the harness scans every line for secrets. */
  const run = (inputs: Record<string, string>, extra: Partial<TaskRunOptions> = {}): Promise<TaskRun> =>
    harness.run(VAULT, inputs, extra);

  before(async () => {
    harness = await startKeyVaultHarness(7);
    ({ base, entra, keyVault, faults } = harness);
    entra.registerServicePrincipal(STRANGER);
    const certificate = base.ca.issueClientCertificate('aks-delivery-ci');
    entra.registerServicePrincipal({ clientId: CERT_SP.clientId, certificate });
    certificatePem = `${certificate.certificate}${certificate.key}`;
    federationToken = `job-token-${randomValue()}`;
    harness.secretValues.add(STRANGER.secret).add(federationToken);
    const federation = entra.registerFederation(CONNECTION, federationToken);
    entra.registerServicePrincipal({ clientId: FEDERATED_SP.clientId, federatedSubject: federation.subject });
    entra.registerManagedIdentity(IDENTITY);

    keyVault.createVault(VAULT, {
      model: 'rbac',
      allowedPrincipals: [SECRET_SP.clientId, CERT_SP.clientId, FEDERATED_SP.clientId, IDENTITY.clientId],
    });
    for (let i = 0; i < SECRET_COUNT; i++) {
      const name = `app-secret-${String(i).padStart(3, '0')}`;
      values.set(name, randomValue());
      keyVault.setSecret(VAULT, name, values.get(name)!);
    }
    values.set('tls-key', `-----BEGIN KEY-----\n${randomValue()}\n${randomValue()}\n-----END KEY-----`);
    keyVault.setSecret(VAULT, 'tls-key', values.get('tls-key')!);
    keyVault.setSecret(VAULT, 'retired', randomValue(), { enabled: false });
    keyVault.setSecret(VAULT, 'lapsed', randomValue(), { exp: new Date(Date.now() - 60_000) });
    for (const value of values.values()) harness.secretValues.add(value);
    keyVault.createVault('kv-policy', { model: 'accessPolicy', allowedPrincipals: [] });
    keyVault.createVault('kv-walled', {
      model: 'rbac',
      allowedPrincipals: [SECRET_SP.clientId],
      firewall: true,
    });
  });

  afterEach(() => faults.clear(7));

  after(async () => {
    await harness.close();
    assert.deepEqual(base.proxy.refused, [], 'nothing tried to leave the sandbox');
  });

  it('sets all 150+ secrets over several pages, correctly, through 429s, 503s and dropped connections', async () => {
    // The fourth page cut off, then the listing again: it lists once more and sets each secret once.
    let laterPages = 0;
    const laterPageBroken = faults.add({
      match: (request) =>
        /[?&]\$skiptoken=/.test(request.url ?? '') &&
        request.headers.authorization !== undefined &&
        ++laterPages >= 3,
      resetMidBody: true,
      times: 2,
    });
    faults.add({
      match: { pathPattern: /^\/secrets\/app-secret/ },
      status429: { retryAfterSeconds: 1 },
      probability: 0.1,
    });
    faults.add({ match: { pathPattern: /^\/secrets/ }, status5xx: 503, probability: 0.05 });
    faults.add({ match: { pathPattern: /^\/secrets\/app-secret-01/ }, resetBeforeResponse: true, times: 2 });
    faults.add({ match: { pathPattern: /^\/secrets\/app-secret-02/ }, resetMidBody: true, times: 2 });
    faults.add({ match: { method: 'GET', pathPattern: /^\/secrets\/?$/ }, resetMidBody: true, times: 1 });
    const result = await run(
      { secrets: '*' },
      { variables: { 'System.UnsafeAllowMultilineSecret': 'true' } },
    );

    assert.equal(result.result, 'Succeeded', result.stdout);
    for (const [name, value] of values) {
      assert.equal(result.secretVariables[name], value, name);
    }
    assert.equal(result.secretVariables['APP_SECRET_000'], values.get('app-secret-000'));
    assert.equal(Object.keys(result.variables).length, 0, 'every variable is a secret');
    assert.deepEqual([...result.warnings].sort(), [
      "Skipped 'lapsed': it expired.",
      "Skipped 'retired': it is disabled.",
    ]);
    assert.match(result.stdout, new RegExp(`${values.size} secrets set, 2 skipped`));
    assert.equal(laterPageBroken.injected, 2, 'the listing broke off twice');
    const counts = faults.counts;
    assert.ok(
      counts.status429 > 0 &&
        counts.status5xx > 0 &&
        counts.resetBeforeResponse > 0 &&
        counts.resetMidBody > 0,
      JSON.stringify(counts),
    );
    for (const line of values.get('tls-key')!.split('\n').slice(1, 3))
      assert.ok(result.registeredSecrets.includes(line), 'each line of a multi-line secret is registered');
  });

  // The SDK alone opens a tunnel (CONNECT + TLS) per request; tasks/common keeps them alive.
  const proxySources: [string, () => Partial<TaskRunOptions>][] = [
    ['HTTPS_PROXY', () => ({ variables: { 'System.UnsafeAllowMultilineSecret': 'true' } })],
    [
      'the agent’s proxy setting',
      () => ({
        env: { ...base.clientEnvironment, HTTPS_PROXY: '', https_proxy: '' },
        variables: { 'Agent.ProxyUrl': base.proxy.url, 'System.UnsafeAllowMultilineSecret': 'true' },
      }),
    ],
  ];
  for (const [source, options] of proxySources) {
    it(`reuses its proxy tunnels to the vault, through ${source}`, async () => {
      const vaultTunnels = (): number =>
        base.proxy.connects.filter((target) => target.startsWith(`${VAULT}.vault.azure.net:`)).length;
      const before = vaultTunnels();
      const result = await run({ secrets: '*', concurrency: '8' }, options());
      assert.equal(result.result, 'Succeeded', result.stdout);
      assert.equal(result.secretVariables['app-secret-149'], values.get('app-secret-149'));
      const tunnels = vaultTunnels() - before;
      // About 160 requests (the challenge, 7 pages, 150+ values) over at most 8 + 1 connections.
      assert.ok(tunnels >= 1 && tunnels <= 9, `${tunnels} tunnels to the vault`);
    });
  }

  const schemes: [string, () => { endpoint: EndpointDefinition; options: Partial<TaskRunOptions> }][] = [
    [
      'a service principal certificate',
      () => ({
        endpoint: servicePrincipal({
          serviceprincipalid: CERT_SP.clientId,
          authenticationType: 'spnCertificate',
          servicePrincipalCertificate: certificatePem,
        }),
        options: {},
      }),
    ],
    [
      'workload identity federation',
      () => ({
        endpoint: servicePrincipal(
          { serviceprincipalid: FEDERATED_SP.clientId },
          'WorkloadIdentityFederation',
        ),
        options: {
          variables: { 'System.OidcRequestUri': entra.oidcRequestUri },
          endpoints: {
            SystemVssConnection: {
              url: 'https://dev.azure.com/sandbox-org/',
              scheme: 'OAuth',
              auth: { AccessToken: federationToken },
            },
          },
        },
      }),
    ],
    [
      'a managed identity',
      () => ({
        endpoint: {
          url: 'https://management.azure.com/',
          scheme: 'ManagedServiceIdentity',
          auth: { tenantid: base.tenantId },
          data: { environment: 'AzureCloud', msiclientId: IDENTITY.clientId },
        },
        options: { env: { ...base.clientEnvironment, ...entra.managedIdentityEnvironment } },
      }),
    ],
  ];
  for (const [scheme, connection] of schemes) {
    it(`signs in with ${scheme} and sets the named secrets`, async () => {
      const { endpoint, options } = connection();
      const result = await run(
        { secrets: 'app-secret-007:Seven, app-secret-042' },
        { ...options, endpoints: { [CONNECTION]: endpoint, ...(options.endpoints ?? {}) } },
      );
      assert.equal(result.result, 'Succeeded', result.stdout);
      assert.deepEqual(result.secretVariables, {
        Seven: values.get('app-secret-007'),
        'app-secret-042': values.get('app-secret-042'),
        APP_SECRET_042: values.get('app-secret-042'),
      });
    });
  }

  it('tells an RBAC refusal apart and names the role, the principal and the vault', async () => {
    const result = await run(
      { secrets: '*' },
      {
        endpoints: {
          [CONNECTION]: servicePrincipal({
            serviceprincipalid: STRANGER.clientId,
            serviceprincipalkey: STRANGER.secret,
          }),
        },
      },
    );
    assert.equal(result.result, 'Failed');
    assert.match(
      result.resultMessage ?? '',
      new RegExp(`Key Vault Secrets User.*${STRANGER.clientId}.*${VAULT}`),
    );
  });

  it('tells an access-policy refusal apart and names the permissions to grant', async () => {
    const result = await run({ secrets: 'anything', keyVaultName: 'kv-policy' });
    assert.equal(result.result, 'Failed');
    assert.match(result.resultMessage ?? '', /access polic.*Get.*List/i);
  });

  it('recognises the vault firewall', async () => {
    const result = await run({ secrets: '*', keyVaultName: 'kv-walled' });
    assert.equal(result.result, 'Failed');
    assert.match(result.resultMessage ?? '', /network rules/);
  });

  it('shows Entra ID’s reason when the client secret is wrong', async () => {
    const result = await run(
      {},
      {
        endpoints: {
          [CONNECTION]: servicePrincipal({
            serviceprincipalid: SECRET_SP.clientId,
            serviceprincipalkey: STRANGER.secret,
          }),
        },
      },
    );
    assert.equal(result.result, 'Failed');
    assert.match(result.resultMessage ?? '', /AADSTS7000215/);
    assert.doesNotMatch(result.stdout, /\n\s+at /);
  });
});
