import { runUrl, type RunInfo } from './annotations';

/** Reads one of the agent's predefined variables (`tl.getVariable` in the task). */
export type VariableReader = (name: string) => string | undefined;

/**
 * The run doing the deploy, from the agent's predefined variables. A variable the agent did not set
 * (a local run, a release job) is left out rather than guessed; the run URL needs all three parts.
 */
export function runInfoFromVariables(variable: VariableReader): RunInfo {
  const value = (name: string): string | undefined => {
    const text = variable(name)?.trim();
    return text === undefined || text === '' ? undefined : text;
  };
  const organizationUrl = value('System.TeamFoundationCollectionUri') ?? value('System.CollectionUri');
  const project = value('System.TeamProject');
  const runId = value('Build.BuildId') ?? '';
  return {
    organizationUrl,
    project,
    pipelineName: value('Build.DefinitionName') ?? '',
    pipelineId: value('System.DefinitionId'),
    runId,
    runUrl:
      organizationUrl !== undefined && project !== undefined && runId !== ''
        ? runUrl(organizationUrl, project, runId)
        : '',
    commit: value('Build.SourceVersion'),
    jobName: value('System.JobDisplayName'),
  };
}
