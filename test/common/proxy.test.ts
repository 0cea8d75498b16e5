import * as assert from 'node:assert/strict';
import * as https from 'node:https';
import {
  createHttpHeaders,
  createPipelineRequest,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import { HttpsProxyAgent } from 'https-proxy-agent';
import {
  ProxyTunnelAgent,
  agentProxyFor,
  azureSdkProxySettings,
  childProcessProxyEnvironment,
  proxySecrets,
  proxyTunnelPolicy,
  toAgentProxy,
  type AgentNetwork,
} from '../../tasks/common/proxy';

const agentConfig = (proxyUrl: string, username = '', password = '', bypass: string[] = []) => ({
  proxyUrl,
  proxyUsername: username,
  proxyPassword: password,
  proxyBypassHosts: bypass,
  proxyFormattedUrl: '',
});

describe('proxySecrets', () => {
  it("gives the agent proxy's password, and one in the proxy URL as written and decoded", () => {
    assert.deepEqual(proxySecrets(agentConfig('http://proxy.corp:8080', 'svc', 'pr0xy-pass')), [
      'pr0xy-pass',
    ]);
    assert.deepEqual(proxySecrets(agentConfig('http://svc:p%40ss-w0rd@proxy.corp:8080')), [
      'p%40ss-w0rd',
      'p@ss-w0rd',
    ]);
    assert.deepEqual(proxySecrets(agentConfig('http://proxy.corp:8080')), []);
    assert.deepEqual(proxySecrets(null), []);
  });
});

describe('toAgentProxy', () => {
  it('reads the agent proxy, its credentials and its bypass expressions', () => {
    const proxy = toAgentProxy(
      agentConfig('http://proxy.contoso.com:8080', 'user', 'pw', ['\\.internal\\.contoso\\.com']),
    );
    assert.equal(proxy?.url, 'http://proxy.contoso.com:8080');
    assert.equal(proxy?.username, 'user');
    assert.equal(proxy?.password, 'pw');
    assert.deepEqual(proxy?.bypass.map(String), ['/\\.internal\\.contoso\\.com/i']);
  });

  it('takes credentials written into the proxy URL and keeps them out of the URL it gives', () => {
    const proxy = toAgentProxy(agentConfig('http://us%40r:p%3Aw@proxy.contoso.com:3128'));
    assert.deepEqual(
      [proxy?.url, proxy?.username, proxy?.password],
      ['http://proxy.contoso.com:3128', 'us@r', 'p:w'],
    );
  });

  it('skips a bypass entry that is not a valid expression', () => {
    assert.equal(toAgentProxy(agentConfig('http://proxy:8080', '', '', ['(', 'good']))?.bypass.length, 1);
  });

  it('gives none when the agent has no proxy', () => {
    assert.equal(toAgentProxy(null), undefined);
  });
});

describe('the proxy adapters', () => {
  const network: AgentNetwork = {
    proxy: toAgentProxy(
      agentConfig('http://proxy.contoso.com:8080', 'user', 'p@ss', ['internal\\.contoso\\.com']),
    ),
    caFile: undefined,
  };

  it('bypasses the proxy for URLs the agent bypasses it for', () => {
    assert.equal(agentProxyFor('https://aks.internal.contoso.com/api', network), undefined);
    assert.equal(
      agentProxyFor('https://contoso-kv.vault.azure.net/', network)?.url,
      'http://proxy.contoso.com:8080',
    );
  });

  it('gives the Azure SDK its proxy settings with credentials, none for a bypassed URL', () => {
    assert.deepEqual(azureSdkProxySettings('https://management.azure.com/', network), {
      host: 'http://proxy.contoso.com',
      port: 8080,
      username: 'user',
      password: 'p@ss',
    });
    assert.equal(azureSdkProxySettings('https://aks.internal.contoso.com/', network), undefined);
  });

  it('gives a child process the proxy with credentials and NO_PROXY for the bypassed hosts it will reach', () => {
    const env = childProcessProxyEnvironment(
      ['https://aks.internal.contoso.com:443', 'https://contoso-aks.hcp.westeurope.azmk8s.io:443'],
      network,
      { NO_PROXY: 'localhost' },
    );
    assert.equal(env['HTTPS_PROXY'], 'http://user:p%40ss@proxy.contoso.com:8080');
    assert.equal(env['NO_PROXY'], 'localhost,aks.internal.contoso.com');
    assert.equal(env['no_proxy'], env['NO_PROXY']);
  });

  it('leaves a child process the environment’s own proxy variables when the agent has none', () => {
    assert.deepEqual(
      childProcessProxyEnvironment(['https://x.example'], { proxy: undefined, caFile: undefined }),
      {},
    );
  });
});

describe('proxyTunnelPolicy', () => {
  const pass = (request: PipelineRequest): Promise<PipelineResponse> =>
    Promise.resolve({ request, status: 200, headers: createHttpHeaders() });

  it('swaps the SDK’s proxy agent for our tunnel agent, one per proxy, that keeps tunnels alive', async () => {
    const sdkAgent = new HttpsProxyAgent('http://user:pw@proxy.contoso.com:8080');
    const first = createPipelineRequest({ url: 'https://contoso-kv.vault.azure.net/secrets' });
    first.agent = sdkAgent;
    await proxyTunnelPolicy.sendRequest(first, pass);
    const pooled = first.agent as HttpsProxyAgent<string>;
    assert.notEqual(pooled, sdkAgent);
    assert.ok(pooled instanceof ProxyTunnelAgent);
    assert.equal(pooled.proxy.href, sdkAgent.proxy.href, 'the same proxy, credentials included');
    assert.equal(pooled.keepAlive, true);
    assert.equal(pooled.isSecureEndpoint(), true, 'tunnels are pooled under one name');

    const second = createPipelineRequest({ url: 'https://login.microsoftonline.com/tenant' });
    second.agent = new HttpsProxyAgent('http://user:pw@proxy.contoso.com:8080');
    await proxyTunnelPolicy.sendRequest(second, pass);
    assert.equal(second.agent, pooled, 'one pool per proxy');
  });

  it('leaves direct connections, plain-http requests and other agents alone', async () => {
    const direct = createPipelineRequest({ url: 'https://contoso-kv.vault.azure.net/secrets' });
    await proxyTunnelPolicy.sendRequest(direct, pass);
    assert.equal(direct.agent, undefined);

    const plain = createPipelineRequest({ url: 'http://169.254.169.254/metadata/identity' });
    const plainAgent = new HttpsProxyAgent('http://proxy.contoso.com:8080');
    plain.agent = plainAgent;
    await proxyTunnelPolicy.sendRequest(plain, pass);
    assert.equal(plain.agent, plainAgent);

    const other = createPipelineRequest({ url: 'https://contoso-kv.vault.azure.net/secrets' });
    const otherAgent = new https.Agent();
    other.agent = otherAgent;
    await proxyTunnelPolicy.sendRequest(other, pass);
    assert.equal(other.agent, otherAgent);
  });
});
