import * as assert from 'node:assert/strict';
import { runTaskAsAgent } from '../../scripts/agent';

// The bundles, run as the agent runs them, load their messages and fail cleanly on missing input.
describe('bundled tasks started with no inputs', () => {
  const expectations: [string, string][] = [
    ['fetch-keyvault-secrets', "Input 'azureSubscription' is required."],
    ['promote-image', "Input 'sourceAzureSubscription' is required."],
    ['deploy-aks-template', "Input 'templates' is required."],
    [
      'run-acceptance-tests',
      "Set exactly one of the inputs 'baseUrl' (a URL) and 'kubernetesService' (namespace/service:port).",
    ],
  ];
  for (const [task, message] of expectations) {
    it(`${task} fails with "${message}" and nothing else`, async () => {
      const run = await runTaskAsAgent({ task });
      assert.equal(run.result, 'Failed', run.stdout);
      assert.equal(run.resultMessage, message);
      assert.doesNotMatch(run.stdout + run.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
      assert.doesNotMatch(
        run.stdout + run.stderr,
        /loc string|lib\.json not found/i,
        'all messages are found',
      );
    });
  }

  it('fetch-keyvault-secrets’ pre-job handler does nothing unless runAsPreJob is set', async () => {
    const run = await runTaskAsAgent({ task: 'fetch-keyvault-secrets', preJob: true });
    assert.notEqual(run.result, 'Failed', run.stdout);
  });
});
