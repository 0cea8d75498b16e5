import { assertFailedWith, runL0, type L0Scenario } from '../support/l0';

function scenario(inputs: Record<string, string>): L0Scenario {
  return {
    task: 'run-acceptance-tests',
    inputs: { baseUrl: 'https://staging.contoso.com', readinessPath: '/healthz', ...inputs },
  };
}

describe('RunAcceptanceTests inputs (L0)', () => {
  const failures: [string, Record<string, string>, string][] = [
    ['neither baseUrl nor kubernetesService is given', { baseUrl: '' }, 'loc_mock_OneTargetRequired'],
    [
      'both baseUrl and kubernetesService are given',
      { kubernetesService: 'web-staging/web:80' },
      'loc_mock_OneTargetRequired',
    ],
    [
      'kubernetesService is not namespace/service:port',
      { baseUrl: '', kubernetesService: 'web-staging/web' },
      'loc_mock_InvalidKubernetesService web-staging/web',
    ],
    [
      'kubernetesService names an impossible port',
      { baseUrl: '', kubernetesService: 'web-staging/web:70000' },
      'loc_mock_InvalidKubernetesService web-staging/web:70000',
    ],
    [
      'kubernetesService uses a kubeconfig that does not exist',
      {
        baseUrl: '',
        kubernetesService: 'web-staging/web:80',
        connectionType: 'kubeconfig',
        kubeconfig: '/nonexistent/config',
      },
      'loc_mock_KubeconfigNotFound /nonexistent/config',
    ],
    ['the base URL is not http(s)', { baseUrl: 'ftp://staging' }, 'loc_mock_InvalidBaseUrl ftp://staging'],
    [
      'the base URL is not a URL',
      { baseUrl: 'staging.contoso.com' },
      'loc_mock_InvalidBaseUrl staging.contoso.com',
    ],
    [
      'a later line of the base URL is not a URL',
      { baseUrl: 'https://staging.contoso.com\nstaging.contoso.com' },
      'loc_mock_InvalidBaseUrl staging.contoso.com',
    ],
    ['the readiness path is relative', { readinessPath: 'healthz' }, 'loc_mock_InvalidReadinessPath healthz'],
    [
      'the checks file does not exist',
      { checksFile: '/nonexistent/checks.yaml' },
      'loc_mock_ChecksFileNotFound /nonexistent/checks.yaml',
    ],
    ['there is nothing to test', { readinessPath: '' }, 'loc_mock_NothingToTest'],
    ['retries is negative', { retries: '-1' }, 'loc_mock_InputInvalidInteger retries 0 10 -1'],
    ['a header line has no name', { headers: 'Accept: text/html\n: value' }, 'loc_mock_InvalidHeaderLine 2'],
    [
      'a header is given twice in different case',
      { headers: 'X-Env: staging\nAccept: */*\nx-env: canary' },
      'loc_mock_DuplicateHeader x-env 1 3',
    ],
    [
      'publishResults is not a boolean',
      { publishResults: 'maybe' },
      'loc_mock_InputInvalidBoolean publishResults maybe',
    ],
  ];
  for (const [what, inputs, expected] of failures) {
    it(`fails naming the input when ${what}`, async () => {
      assertFailedWith(await runL0(scenario(inputs)), expected);
    });
  }
});
