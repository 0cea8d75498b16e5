import * as assert from 'node:assert/strict';
import * as https from 'node:https';
import {
  createHttpHeaders,
  createPipelineRequest,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { pooledProxyTunnelPolicy, toProxySettings } from '../../tasks/common/httpOptions';

describe('toProxySettings', () => {
  it('turns the agent proxy into Azure SDK proxy settings with credentials', () => {
    assert.deepEqual(
      toProxySettings({
        proxyUrl: 'http://proxy.contoso.com:8080',
        proxyUsername: 'user',
        proxyPassword: 'pw',
        proxyBypassHosts: [],
        proxyFormattedUrl: '',
      }),
      { host: 'http://proxy.contoso.com', port: 8080, username: 'user', password: 'pw' },
    );
  });

  it('uses the scheme’s default port and leaves out empty credentials', () => {
    assert.deepEqual(
      toProxySettings({
        proxyUrl: 'https://proxy.contoso.com',
        proxyUsername: '',
        proxyPassword: '',
        proxyBypassHosts: [],
        proxyFormattedUrl: '',
      }),
      { host: 'https://proxy.contoso.com', port: 443, username: undefined, password: undefined },
    );
  });

  it('gives no settings when the agent has no proxy, so the SDK follows HTTPS_PROXY and NO_PROXY', () => {
    assert.equal(toProxySettings(null), undefined);
  });
});

describe('pooledProxyTunnelPolicy', () => {
  const pass = (request: PipelineRequest): Promise<PipelineResponse> =>
    Promise.resolve({ request, status: 200, headers: createHttpHeaders() });

  it('swaps the SDK’s proxy agent for one agent per proxy that keeps tunnels alive', async () => {
    const sdkAgent = new HttpsProxyAgent('http://user:pw@proxy.contoso.com:8080');
    const first = createPipelineRequest({ url: 'https://contoso-kv.vault.azure.net/secrets' });
    first.agent = sdkAgent;
    await pooledProxyTunnelPolicy.sendRequest(first, pass);
    const pooled = first.agent as HttpsProxyAgent<string>;
    assert.notEqual(pooled, sdkAgent);
    assert.ok(pooled instanceof HttpsProxyAgent);
    assert.equal(pooled.proxy.href, sdkAgent.proxy.href, 'the same proxy, credentials included');
    assert.equal(pooled.keepAlive, true);
    assert.equal(pooled.isSecureEndpoint(), true, 'tunnels are pooled under one name');

    const second = createPipelineRequest({ url: 'https://login.microsoftonline.com/tenant' });
    second.agent = new HttpsProxyAgent('http://user:pw@proxy.contoso.com:8080');
    await pooledProxyTunnelPolicy.sendRequest(second, pass);
    assert.equal(second.agent, pooled, 'one pool per proxy');
  });

  it('leaves direct connections, plain-http requests and other agents alone', async () => {
    const direct = createPipelineRequest({ url: 'https://contoso-kv.vault.azure.net/secrets' });
    await pooledProxyTunnelPolicy.sendRequest(direct, pass);
    assert.equal(direct.agent, undefined);

    const plain = createPipelineRequest({ url: 'http://169.254.169.254/metadata/identity' });
    const plainAgent = new HttpsProxyAgent('http://proxy.contoso.com:8080');
    plain.agent = plainAgent;
    await pooledProxyTunnelPolicy.sendRequest(plain, pass);
    assert.equal(plain.agent, plainAgent);

    const other = createPipelineRequest({ url: 'https://contoso-kv.vault.azure.net/secrets' });
    const otherAgent = new https.Agent();
    other.agent = otherAgent;
    await pooledProxyTunnelPolicy.sendRequest(other, pass);
    assert.equal(other.agent, otherAgent);
  });
});
