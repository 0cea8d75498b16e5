import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import {
  AzurePipelinesCredential,
  ClientCertificateCredential,
  ClientSecretCredential,
} from '@azure/identity';
import type { SandboxBase } from '../../sandbox/base';
import { startEntra, type EntraServer } from '../../sandbox/entra';
import type { KeyPair } from '../../sandbox/tls/certificateAuthority';
import { ARM_AUDIENCES } from '../../sandbox/arm';
import { requestThroughProxy } from '../../sandbox/tls/trust';
import { sandboxSuite } from './harness';

const ARM_SCOPE = 'https://management.azure.com/.default';
const REPOSITORY_ROOT = path.resolve(__dirname, '..', '..', '..');

describe('sandbox Entra ID with the real @azure/identity credentials', function () {
  let base: SandboxBase;
  let entra: EntraServer;
  let certificate: KeyPair;

  sandboxSuite(
    async (started, keep) => {
      base = started;
      entra = await keep(startEntra(base));
      certificate = base.ca.issueClientCertificate('deployer-certificate');
    },
    { inProcess: true },
  );

  it('issues a token for a client secret that the sandbox services accept', async function () {
    const principal = entra.registerServicePrincipal({ clientId: 'secret-app', secret: 'correct horse' });

    const token = await new ClientSecretCredential(base.tenantId, 'secret-app', 'correct horse').getToken(
      ARM_SCOPE,
    );

    const claims = base.tokens.verify(token.token, ARM_AUDIENCES);
    assert.ok(claims, 'the token verifies for ARM');
    assert.equal(claims.appid, 'secret-app');
    assert.equal(claims.oid, principal.objectId);
    assert.equal(claims.tid, base.tenantId);
    assert.ok(token.expiresOnTimestamp > Date.now() + 30 * 60 * 1000);
    const request = entra.requests.at(-1);
    assert.deepEqual(
      {
        grantType: request?.grantType,
        auth: request?.clientAuthentication,
        status: request?.status,
        scope: request?.scope,
      },
      { grantType: 'client_credentials', auth: 'secret', status: 200, scope: ARM_SCOPE },
    );
  });

  it('rejects a wrong secret with AADSTS7000215', async function () {
    entra.registerServicePrincipal({ clientId: 'secret-app-2', secret: 'right' });

    await assert.rejects(
      new ClientSecretCredential(base.tenantId, 'secret-app-2', 'wrong').getToken(ARM_SCOPE),
      (error: Error) => {
        // @azure/identity turns MSAL's ServerError into AuthenticationRequiredError: no statusCode and
        // no errorResponse, only the message carries the AADSTS code.
        assert.equal(error.name, 'AuthenticationRequiredError');
        assert.match(error.message, /invalid_client/);
        assert.match(error.message, /AADSTS7000215: Invalid client secret provided/);
        return true;
      },
    );
    assert.deepEqual(
      { status: entra.requests.at(-1)?.status, code: entra.requests.at(-1)?.errorCode },
      { status: 401, code: 7000215 },
    );
  });

  it('answers wrong secrets with the body shape of Entra ID', async function () {
    entra.registerServicePrincipal({ clientId: 'shape-app', secret: 'right' });

    const response = await requestThroughProxy(
      base,
      `https://login.microsoftonline.com/${base.tenantId}/oauth2/v2.0/token`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'client-request-id': 'f00dfeed-0000-4000-8000-000000000001',
        },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: 'shape-app',
          client_secret: 'wrong',
          scope: ARM_SCOPE,
        }).toString(),
      },
    );

    assert.equal(response.status, 401);
    const body = JSON.parse(response.body) as Record<string, unknown>;
    assert.equal(body.error, 'invalid_client');
    assert.deepEqual(body.error_codes, [7000215]);
    assert.equal(body.correlation_id, 'f00dfeed-0000-4000-8000-000000000001');
    assert.match(
      String(body.error_description),
      /^AADSTS7000215: Invalid client secret provided\. .*'shape-app'\.\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: f00dfeed-/s,
    );
    assert.match(String(body.timestamp), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    assert.match(String(body.trace_id), /^[0-9a-f-]{36}$/);
  });

  it('rejects an unknown application with AADSTS700016', async function () {
    await assert.rejects(
      new ClientSecretCredential(base.tenantId, '00000000-0000-0000-0000-00000000dead', 'x').getToken(
        ARM_SCOPE,
      ),
      /unauthorized_client.*AADSTS700016: Application with identifier '00000000-0000-0000-0000-00000000dead' was not found/s,
    );
  });

  it('issues a token for a certificate assertion signed with the registered certificate', async function () {
    entra.registerServicePrincipal({ clientId: 'certificate-app', certificate });

    const pem = `${certificate.key}\n${certificate.certificate}`;
    const token = await new ClientCertificateCredential(base.tenantId, 'certificate-app', {
      certificate: pem,
    }).getToken('https://vault.azure.net/.default');

    assert.equal(base.tokens.verify(token.token, ['https://vault.azure.net'])?.appid, 'certificate-app');
    assert.equal(entra.requests.at(-1)?.clientAuthentication, 'certificate');
  });

  it('accepts the certificate assertion with its chain (x5c) too', async function () {
    entra.registerServicePrincipal({ clientId: 'certificate-chain-app', certificate });

    const pem = `${certificate.key}\n${certificate.certificate}`;
    const credential = new ClientCertificateCredential(
      base.tenantId,
      'certificate-chain-app',
      { certificate: pem },
      { sendCertificateChain: true },
    );

    assert.ok(base.tokens.verify((await credential.getToken(ARM_SCOPE)).token, ARM_AUDIENCES));
  });

  it('rejects an assertion signed with another certificate with AADSTS700027', async function () {
    entra.registerServicePrincipal({ clientId: 'certificate-app-2', certificate });
    const other = base.ca.issueClientCertificate('someone-else');

    const credential = new ClientCertificateCredential(base.tenantId, 'certificate-app-2', {
      certificate: `${other.key}\n${other.certificate}`,
    });

    await assert.rejects(
      credential.getToken(ARM_SCOPE),
      /AADSTS700027: Client assertion failed signature validation/,
    );
  });

  describe('AzurePipelinesCredential (workload identity federation)', function () {
    let savedOidcRequestUri: string | undefined;

    beforeEach(function () {
      // The credential reads SYSTEM_OIDCREQUESTURI in its constructor.
      savedOidcRequestUri = process.env.SYSTEM_OIDCREQUESTURI;
      process.env.SYSTEM_OIDCREQUESTURI = entra.oidcRequestUri;
    });

    afterEach(function () {
      if (savedOidcRequestUri === undefined) delete process.env.SYSTEM_OIDCREQUESTURI;
      else process.env.SYSTEM_OIDCREQUESTURI = savedOidcRequestUri;
    });

    it('exchanges the pipeline OIDC token for an access token', async function () {
      const federation = entra.registerFederation(
        '1b2c3d4e-0000-4000-8000-000000000001',
        'system-access-token',
      );
      entra.registerServicePrincipal({ clientId: 'federated-app', federatedSubject: federation.subject });
      const before = entra.oidcRequests.length;

      const credential = new AzurePipelinesCredential(
        base.tenantId,
        'federated-app',
        federation.serviceConnectionId,
        'system-access-token',
      );
      const token = await credential.getToken(ARM_SCOPE);

      assert.equal(base.tokens.verify(token.token, ARM_AUDIENCES)?.appid, 'federated-app');
      const oidcCalls = entra.oidcRequests.slice(before);
      assert.ok(oidcCalls.length >= 1);
      assert.deepEqual(oidcCalls[0], {
        serviceConnectionId: federation.serviceConnectionId,
        apiVersion: '7.1',
        status: 200,
      });
      assert.equal(entra.requests.at(-1)?.clientAuthentication, 'federated');
    });

    it('fails when the System.AccessToken is not accepted by the OIDC endpoint', async function () {
      const federation = entra.registerFederation('1b2c3d4e-0000-4000-8000-000000000002', 'the-real-token');
      entra.registerServicePrincipal({ clientId: 'federated-app-2', federatedSubject: federation.subject });

      const credential = new AzurePipelinesCredential(
        base.tenantId,
        'federated-app-2',
        federation.serviceConnectionId,
        'a-stale-token',
      );

      await assert.rejects(credential.getToken(ARM_SCOPE), (error: Error & { statusCode?: number }) => {
        assert.equal(error.name, 'AuthenticationError');
        assert.equal(error.statusCode, 401);
        assert.match(error.message, /TF400813/);
        return true;
      });
    });

    it('rejects a federated token whose subject no service principal trusts with AADSTS700213', async function () {
      const federation = entra.registerFederation('1b2c3d4e-0000-4000-8000-000000000003', 'token-3');
      entra.registerServicePrincipal({
        clientId: 'federated-app-3',
        federatedSubject: 'sc://other-org/other-project/other-connection',
      });

      const credential = new AzurePipelinesCredential(
        base.tenantId,
        'federated-app-3',
        federation.serviceConnectionId,
        'token-3',
      );

      await assert.rejects(
        credential.getToken(ARM_SCOPE),
        /AADSTS700213: No matching federated identity record found for presented assertion subject 'sc:\/\/sandbox-org\//,
      );
    });
  });

  it('serves a managed identity to a child process through IDENTITY_ENDPOINT and IDENTITY_HEADER', async function () {
    // A child process because MSAL caches the managed identity source (endpoint and header) for the
    // life of the process; it also checks the NODE_EXTRA_CA_CERTS route the bundled tasks use.
    const identity = entra.registerManagedIdentity({ clientId: 'b7a3c1d2-0000-4000-8000-00000000a11d' });
    const script = [
      "const { ManagedIdentityCredential } = require('@azure/identity');",
      `new ManagedIdentityCredential({ clientId: '${identity.clientId}' }).getToken('https://vault.azure.net/.default')`,
      '  .then((t) => process.stdout.write(t.token), (e) => { process.stderr.write(e.message); process.exit(1); });',
    ].join('\n');

    const token = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['-e', script],
        {
          cwd: REPOSITORY_ROOT,
          env: { ...process.env, ...base.clientEnvironment, ...entra.managedIdentityEnvironment },
          timeout: 20_000,
        },
        (error, stdout, stderr) =>
          error === null ? resolve(stdout) : reject(new Error(`${error.message}\n${stderr}`)),
      );
    });

    const claims = base.tokens.verify(token, ['https://vault.azure.net']);
    assert.equal(claims?.appid, identity.clientId);
    assert.equal(claims?.oid, identity.objectId);
    assert.equal(entra.requests.at(-1)?.clientAuthentication, 'managedIdentity');
  });

  it('serves the discovery documents MSAL would ask for on other authority hosts', async function () {
    const discovery = await requestThroughProxy(
      base,
      `https://login.microsoftonline.com/common/discovery/instance?api-version=1.1&authorization_endpoint=https://login.microsoftonline.com/${base.tenantId}/oauth2/v2.0/authorize`,
    );
    assert.equal(discovery.status, 200);
    const endpoint = (JSON.parse(discovery.body) as { tenant_discovery_endpoint: string })
      .tenant_discovery_endpoint;
    assert.equal(
      endpoint,
      `https://login.microsoftonline.com/${base.tenantId}/v2.0/.well-known/openid-configuration`,
    );

    const configuration = await requestThroughProxy(base, endpoint);
    assert.equal(
      (JSON.parse(configuration.body) as { token_endpoint: string }).token_endpoint,
      `https://login.microsoftonline.com/${base.tenantId}/oauth2/v2.0/token`,
    );
  });
});
