import * as assert from 'node:assert/strict';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { Agent } from 'undici';
import { resolveAzureCloud } from '../../tasks/common/azureCloud';
import type { AzureConnection } from '../../tasks/common/azureConnection';
import { Credentials, registryClient } from '../../tasks/promote-image/registries';

const ACR_SCOPE = 'https://containerregistry.azure.net/.default';

const connection: AzureConnection = {
  id: 'contoso-prod',
  subscriptionId: '00000000-0000-0000-0000-000000000001',
  cloud: resolveAzureCloud('AzureCloud', {}) ?? assert.fail('AzureCloud is a known cloud'),
  authentication: {
    kind: 'servicePrincipalSecret',
    tenantId: '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0',
    clientId: '11111111-2222-3333-4444-555555555555',
    secret: 'not-used-here',
  },
};

/** A credential that answers only when told to, and records every request it was asked for. */
class ControlledCredential implements TokenCredential {
  readonly requests: { scopes: string | string[]; options: GetTokenOptions | undefined }[] = [];
  private readonly answers: { resolve: (token: AccessToken) => void; reject: (error: Error) => void }[] = [];

  getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    this.requests.push({ scopes, options });
    return new Promise((resolve, reject) => this.answers.push({ resolve, reject }));
  }

  answer(index: number, token: string): void {
    this.answers[index]?.resolve({ token, expiresOnTimestamp: Date.now() + 3_600_000 });
  }

  fail(index: number, error: Error): void {
    this.answers[index]?.reject(error);
  }
}

function credentialsWith(credential: TokenCredential): Credentials {
  return new Credentials(() => credential);
}

describe('PromoteImage credentials', () => {
  // Never used to send anything: the tests end before a request would go out.
  const dispatcher = new Agent();
  after(() => dispatcher.close());

  it('joins a token request for a scope that is already on its way', async () => {
    const inner = new ControlledCredential();
    const credential = credentialsWith(inner).of(connection);

    const first = credential.getToken(ACR_SCOPE);
    const second = credential.getToken(ACR_SCOPE);
    inner.answer(0, 'token-1');

    assert.equal(inner.requests.length, 1);
    assert.equal((await first)?.token, 'token-1');
    assert.equal((await second)?.token, 'token-1');
  });

  it('asks again once the earlier request has been answered', async () => {
    const inner = new ControlledCredential();
    const credential = credentialsWith(inner).of(connection);

    const first = credential.getToken(ACR_SCOPE);
    inner.answer(0, 'token-1');
    await first;
    const second = credential.getToken(ACR_SCOPE);
    inner.answer(1, 'token-2');

    assert.equal(inner.requests.length, 2);
    assert.equal((await second)?.token, 'token-2');
  });

  it('never joins a request made with options, such as an ARM client’s abort signal', async () => {
    const inner = new ControlledCredential();
    const credential = credentialsWith(inner).of(connection);
    const options: GetTokenOptions = { abortSignal: new AbortController().signal };

    const plain = credential.getToken(ACR_SCOPE);
    const withOptions = credential.getToken(ACR_SCOPE, options);
    inner.answer(0, 'token-1');
    inner.answer(1, 'token-2');

    assert.deepEqual(
      inner.requests.map((r) => r.options),
      [undefined, options],
    );
    assert.equal((await plain)?.token, 'token-1');
    assert.equal((await withOptions)?.token, 'token-2');
  });

  it('hands an early request’s failure to the sign-in that joins it', async () => {
    const inner = new ControlledCredential();
    const credentials = credentialsWith(inner);

    credentials.requestEarly(connection, ACR_SCOPE);
    const joined = credentials.of(connection).getToken(ACR_SCOPE);
    inner.fail(0, new Error('AADSTS7000215: invalid client secret'));

    await assert.rejects(joined, /AADSTS7000215/);
    assert.equal(inner.requests.length, 1);
  });

  it('asks again when an early request has failed before the sign-in asks', async () => {
    const inner = new ControlledCredential();
    const credentials = credentialsWith(inner);

    credentials.requestEarly(connection, ACR_SCOPE);
    inner.fail(0, new Error('ECONNRESET'));
    await new Promise((resolve) => setImmediate(resolve));
    const later = credentials.of(connection).getToken(ACR_SCOPE);
    inner.answer(1, 'token-2');

    assert.equal((await later)?.token, 'token-2');
    assert.equal(inner.requests.length, 2);
  });

  it('asks for the Entra ID token for ACR’s exchange as soon as a client for an ACR is made', () => {
    const inner = new ControlledCredential();
    const credentials = credentialsWith(inner);

    registryClient('contosoprod.azurecr.io', connection, credentials, dispatcher);

    assert.deepEqual(
      inner.requests.map((r) => r.scopes),
      [ACR_SCOPE],
    );
  });

  it('asks for no token early when the registry is not an ACR', () => {
    const inner = new ControlledCredential();
    const credentials = credentialsWith(inner);

    registryClient('registry.contoso.example', connection, credentials, dispatcher);

    assert.deepEqual(inner.requests, []);
  });
});
