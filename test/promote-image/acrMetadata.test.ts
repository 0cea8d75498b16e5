import * as assert from 'node:assert/strict';
import { resolveAzureCloud } from '../../tasks/common/azureCloud';
import { isAcrLoginServer, lockManifestRequest, lockTagRequest } from '../../tasks/promote-image/acrMetadata';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('ACR metadata requests', () => {
  it('locks a tag as RegistryArtifact.updateTagProperties({ canWrite: false }) does', () => {
    assert.deepEqual(lockTagRequest('team/web', '1.4.2'), {
      method: 'PATCH',
      path: '/acr/v1/team%2Fweb/_tags/1.4.2?api-version=2021-07-01',
      repository: 'team/web',
      scope: 'repository:team/web:metadata_write',
      body: { writeEnabled: false },
    });
  });

  it('locks a manifest as RegistryArtifact.updateManifestProperties({ canWrite: false }) does', () => {
    assert.deepEqual(lockManifestRequest('team/web', DIGEST), {
      method: 'PATCH',
      path: `/acr/v1/team%2Fweb/_manifests/sha256%3A${'ab'.repeat(32)}?api-version=2021-07-01`,
      repository: 'team/web',
      scope: 'repository:team/web:metadata_write',
      body: { writeEnabled: false },
    });
  });

  it('sends only writeEnabled, so the registry keeps the other attributes as they are', () => {
    assert.deepEqual(Object.keys(lockTagRequest('web', 'prod').body), ['writeEnabled']);
  });

  it('recognises ACR login servers of every cloud and of the connection’s own suffix, and nothing else', () => {
    assert.equal(isAcrLoginServer('contosoprod.azurecr.io', undefined), true);
    assert.equal(isAcrLoginServer('ContosoProd.AzureCR.cn', undefined), true);
    assert.equal(isAcrLoginServer('contoso.azurecr.us:443', undefined), true);
    assert.equal(isAcrLoginServer('contoso.acr.stack.example', 'acr.stack.example'), true);
    assert.equal(isAcrLoginServer('registry.contoso.example', undefined), false);
    assert.equal(isAcrLoginServer('azurecr.io.evil.example', undefined), false);
  });
});

describe('ACR exchange audience per cloud', () => {
  const scopeOf = (environment: string): string | undefined =>
    resolveAzureCloud(environment, {})?.containerRegistryScope;

  it('is ACR’s own audience in the public cloud and the ARM audience in the sovereign ones', () => {
    assert.equal(scopeOf('AzureCloud'), 'https://containerregistry.azure.net/.default');
    assert.equal(scopeOf('AzureChinaCloud'), 'https://management.chinacloudapi.cn/.default');
    assert.equal(scopeOf('AzureUSGovernment'), 'https://management.usgovcloudapi.net/.default');
  });

  it('is the custom cloud’s ARM audience', () => {
    const cloud = resolveAzureCloud('AzureStack', {
      environmentAuthorityUrl: 'https://login.stack.example/',
      resourceManagerUrl: 'https://management.stack.example',
      activeDirectoryServiceEndpointResourceId: 'https://management.stack.example/',
    });
    assert.equal(cloud?.containerRegistryScope, 'https://management.stack.example/.default');
  });
});
