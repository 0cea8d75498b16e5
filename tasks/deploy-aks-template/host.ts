import * as os from 'node:os';
import * as tl from 'azure-pipelines-task-lib/task';
import { connectAndRead } from '../common/cluster';
import { agentSecretVariableValues, registerSecret } from '../common/secrets';
import type { DeployHost } from './deploy';
import { Kubectl, processRunner } from './kubectl';
import { runInfoFromVariables } from './runInfo';

/** Per HTTP request kubectl makes, and per command (discovery and retries included). */
const REQUEST_TIMEOUT_SECONDS = 30;
const COMMAND_TIMEOUT_SECONDS = 300;

/** The agent as the deploy sees it: task-lib for variables, outputs and attachments, real kubectl. */
export function agentHost(): DeployHost {
  return {
    workingDirectory: tl.getVariable('System.DefaultWorkingDirectory') || process.cwd(),
    tempDirectory: tl.getVariable('Agent.TempDirectory') || os.tmpdir(),
    runInfo: runInfoFromVariables((name) => tl.getVariable(name)),
    connect: connectAndRead,
    kubectl: (access) =>
      new Kubectl(processRunner(access.kubectlPath, { ...process.env, ...access.env }), {
        kubeconfig: access.kubeconfigPath,
        requestTimeoutSeconds: REQUEST_TIMEOUT_SECONDS,
        commandTimeoutSeconds: COMMAND_TIMEOUT_SECONDS,
      }),
    log: (line) => console.log(line),
    warning: (message) => tl.warning(message),
    setOutput: (name, value) => tl.setVariable(name, value, false, true),
    uploadFile: (file) => tl.uploadFile(file),
    uploadSummary: (file) => tl.uploadSummary(file),
    registerSecret,
    secretVariables: agentSecretVariableValues(),
    timing: { podPollMs: 1500, endpointWaitSeconds: 120, endpointPollMs: 3000, now: Date.now },
  };
}
