import * as assert from 'node:assert/strict';
import { resolveAzureCloud } from '../../tasks/common/azureCloud';

describe('resolveAzureCloud', () => {
  it('knows the public cloud’s endpoints, whatever the case of its name, and defaults to it', () => {
    for (const name of ['AzureCloud', 'azurecloud', undefined]) {
      const cloud = resolveAzureCloud(name, {});
      assert.equal(cloud?.authorityHost, 'https://login.microsoftonline.com');
      assert.equal(cloud?.resourceManagerScope, 'https://management.azure.com/.default');
      assert.equal(cloud?.keyVaultDnsSuffix, 'vault.azure.net');
      assert.equal(cloud?.containerRegistryDnsSuffix, 'azurecr.io');
    }
  });

  it('ignores the legacy authority the agent passes for known clouds', () => {
    assert.equal(
      resolveAzureCloud('AzureCloud', { environmentAuthorityUrl: 'https://login.windows.net/' })
        ?.authorityHost,
      'https://login.microsoftonline.com',
    );
  });

  it('knows the China and US Government clouds’ suffixes', () => {
    assert.equal(resolveAzureCloud('AzureChinaCloud', {})?.keyVaultDnsSuffix, 'vault.azure.cn');
    assert.equal(resolveAzureCloud('AzureUSGovernment', {})?.containerRegistryDnsSuffix, 'azurecr.us');
  });

  it('builds a custom cloud from connection data, defaulting the ARM audience to the ARM URL', () => {
    const cloud = resolveAzureCloud('AzureStack', {
      environmentAuthorityUrl: 'https://adfs.local/adfs/',
      resourceManagerUrl: 'https://arm.local',
    });
    assert.equal(cloud?.authorityHost, 'https://adfs.local/adfs');
    assert.equal(cloud?.resourceManagerUrl, 'https://arm.local/');
    assert.equal(cloud?.resourceManagerScope, 'https://arm.local/.default');
    assert.equal(cloud?.keyVaultDnsSuffix, undefined);
  });

  it('has no answer for an unknown cloud without endpoints', () => {
    assert.equal(resolveAzureCloud('Mars', { resourceManagerUrl: 'https://arm.mars' }), undefined);
  });
});
