import * as assert from 'node:assert/strict';
import { toProxySettings } from '../../tasks/common/httpOptions';

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
