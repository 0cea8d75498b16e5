import * as assert from 'node:assert/strict';
import { commandEnvironment } from '../../tasks/run-acceptance-tests/execute';
import { isLoopback } from '../../tasks/run-acceptance-tests/dispatcher';

describe('isLoopback', () => {
  it('tells the agent’s own addresses from others', () => {
    for (const url of [
      'http://127.0.0.1:41234',
      'http://127.8.0.1/',
      'http://[::1]:80',
      'https://LOCALHOST:8443',
    ])
      assert.equal(isLoopback(url), true, url);
    for (const url of [
      'https://staging.contoso.com',
      'http://10.0.0.5',
      'http://127.0.0.1.nip.io',
      'http://[::2]',
    ])
      assert.equal(isLoopback(url), false, url);
  });
});

describe('commandEnvironment', () => {
  it('adds loopback to NO_PROXY for a port-forward, keeping what was there', () => {
    const env = commandEnvironment('http://127.0.0.1:41234', {
      NO_PROXY: 'contoso.com',
      HTTPS_PROXY: 'http://proxy:8080',
    });
    assert.equal(env['NO_PROXY'], 'contoso.com,127.0.0.1,localhost');
    assert.equal(env['no_proxy'], 'contoso.com,127.0.0.1,localhost');
    assert.equal(env['HTTPS_PROXY'], 'http://proxy:8080');
  });

  it('leaves the environment alone for a remote base URL', () => {
    const inherited = { NO_PROXY: 'contoso.com' };
    assert.equal(commandEnvironment('https://staging.contoso.com', inherited), inherited);
  });
});
