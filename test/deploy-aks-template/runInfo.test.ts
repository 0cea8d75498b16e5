import * as assert from 'node:assert/strict';
import { runInfoFromVariables } from '../../tasks/deploy-aks-template/runInfo';

describe('runInfoFromVariables', () => {
  it('reads the run from the agent variables, with the run URL built from collection, project and build id', () => {
    const variables: Record<string, string> = {
      'System.TeamFoundationCollectionUri': 'https://dev.azure.com/contoso/',
      'System.TeamProject': 'Web Shop',
      'System.DefinitionId': '42',
      'Build.BuildId': '1234',
      'Build.DefinitionName': 'web-cd',
      'Build.SourceVersion': 'a1b2c3d',
      'System.JobDisplayName': 'Deploy staging',
    };
    assert.deepEqual(
      runInfoFromVariables((name) => variables[name]),
      {
        organizationUrl: 'https://dev.azure.com/contoso/',
        project: 'Web Shop',
        pipelineName: 'web-cd',
        pipelineId: '42',
        runId: '1234',
        runUrl: 'https://dev.azure.com/contoso/Web%20Shop/_build/results?buildId=1234',
        commit: 'a1b2c3d',
        jobName: 'Deploy staging',
      },
    );
  });

  it('leaves out what the agent did not set, and builds no run URL without a build id', () => {
    const variables: Record<string, string> = {
      'System.CollectionUri': 'https://contoso.visualstudio.com',
      'System.TeamProject': 'web',
      'Build.SourceVersion': '  ',
    };
    assert.deepEqual(
      runInfoFromVariables((name) => variables[name]),
      {
        organizationUrl: 'https://contoso.visualstudio.com',
        project: 'web',
        pipelineName: '',
        pipelineId: undefined,
        runId: '',
        runUrl: '',
        commit: undefined,
        jobName: undefined,
      },
    );
  });
});
