import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as assert from 'node:assert/strict';
import { assertFailedWith, failureMessage, runL0, type L0Result, type L0Scenario } from '../support/l0';
import { servicePrincipalEndpoint } from '../support/fixtures';

const CONNECTION = 'aks-connection';

function scenario(inputs: Record<string, string>, extra: Partial<L0Scenario> = {}): L0Scenario {
  return {
    task: 'deploy-aks-template',
    inputs: {
      azureSubscription: CONNECTION,
      resourceGroup: 'rg-staging',
      cluster: 'aks-staging',
      templates: 'k8s/*.yaml',
      ...inputs,
    },
    endpoints: { [CONNECTION]: servicePrincipalEndpoint() },
    ...extra,
  };
}

/** task-lib's findMatch is mocked: it finds no file for the templates line. */
const NO_TEMPLATES: Partial<L0Scenario> = { answers: { findMatch: { 'k8s/*.yaml': [] } } };

/** The inputs passed their checks: the run got as far as looking for the (absent) template files. */
function assertInputsAccepted(result: L0Result): void {
  assert.match(failureMessage(result) ?? '', /^loc_mock_TemplateMatchedNothing k8s\/\*\.yaml /);
}

describe('DeployAksTemplate inputs (L0)', () => {
  let kubeconfig: string;
  before(() => {
    kubeconfig = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'l0-deploy-')), 'config');
    fs.writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\n');
  });
  after(() => fs.rmSync(path.dirname(kubeconfig), { recursive: true, force: true }));

  const failures: [string, Record<string, string>, string][] = [
    [
      'the connection type is unknown',
      { connectionType: 'ssh' },
      'loc_mock_InputInvalidChoice connectionType azureResourceManager, kubernetesServiceConnection, kubeconfig ssh',
    ],
    ['ARM is chosen without a cluster', { cluster: '' }, 'loc_mock_InputRequired cluster'],
    ['ARM is chosen without a resource group', { resourceGroup: '' }, 'loc_mock_InputRequired resourceGroup'],
    [
      'a Kubernetes service connection is chosen but none given',
      { connectionType: 'kubernetesServiceConnection' },
      'loc_mock_InputRequired kubernetesServiceConnection',
    ],
    [
      'the Kubernetes service connection does not exist',
      { connectionType: 'kubernetesServiceConnection', kubernetesServiceConnection: 'nope' },
      'loc_mock_ConnectionNotFound kubernetesServiceConnection nope',
    ],
    [
      'the kubeconfig file is missing',
      { connectionType: 'kubeconfig', kubeconfig: '/nonexistent/kubeconfig' },
      'loc_mock_KubeconfigNotFound /nonexistent/kubeconfig',
    ],
    ['no template is given', { templates: '' }, 'loc_mock_InputRequired templates'],
    ['the namespace is not a DNS label', { namespace: 'Staging_NS' }, 'loc_mock_InvalidNamespace Staging_NS'],
    [
      'an image override has no tag or digest',
      { images: 'contoso.azurecr.io/web' },
      'loc_mock_ImageOverrideNeedsTagOrDigest contoso.azurecr.io/web',
    ],
    ['a variable line has no =', { variables: 'REPLICAS=3\nTIER' }, 'loc_mock_InvalidVariableLine 2'],
    ['a variable repeats', { variables: 'TIER=web\nTIER=api' }, 'loc_mock_DuplicateVariable TIER'],
    [
      'the rollout timeout is not a number',
      { rolloutTimeout: '10m' },
      'loc_mock_InputInvalidInteger rolloutTimeout 0 21600 10m',
    ],
    [
      'the kubectl version is not a version',
      { kubectlVersion: '1.32' },
      'loc_mock_InvalidKubectlVersion 1.32',
    ],
  ];
  for (const [what, inputs, expected] of failures) {
    it(`fails naming the input when ${what}`, async () => {
      assertFailedWith(await runL0(scenario(inputs)), expected);
    });
  }

  it('ignores the ARM inputs when a kubeconfig file is chosen', async () => {
    const result = await runL0(
      scenario(
        {
          connectionType: 'kubeconfig',
          kubeconfig,
          azureSubscription: '',
          cluster: '',
          resourceGroup: '',
        },
        NO_TEMPLATES,
      ),
    );
    assertInputsAccepted(result);
  });

  it('accepts a Kubernetes service connection, overrides and variables, and goes on to find the templates', async () => {
    const result = await runL0(
      scenario(
        {
          connectionType: 'kubernetesServiceConnection',
          kubernetesServiceConnection: 'k8s',
          images: 'contoso.azurecr.io/web:2.0\ncontoso.azurecr.io/api@sha256:' + 'f'.repeat(64),
          variables: 'REPLICAS=3\nCONN=Server=db;User=app',
          kubectlVersion: 'v1.32.4',
        },
        {
          ...NO_TEMPLATES,
          endpoints: {
            k8s: {
              url: 'https://aks.example:443',
              scheme: 'Kubernetes',
              auth: { kubeconfig: 'x' },
              data: { authorizationType: 'Kubeconfig' },
            },
          },
        },
      ),
    );
    assertInputsAccepted(result);
  });
});
