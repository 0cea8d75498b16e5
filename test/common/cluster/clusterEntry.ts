// L0 entry for the cluster layer: reads the cluster inputs as the tasks do, connects, and prints
// what a task would get (`##l0-cluster`), the kubeconfig written, whether dispose removed it, and
// which kubectl the first read was made with.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  connectAndRead,
  parseKubectlVersion,
  readClusterConnection,
  type ClusterInputName,
} from '../../../tasks/common/cluster';
import { UserError } from '../../../tasks/common/errors';
import { InputReader } from '../../../tasks/common/inputs';
import { runTask } from '../../../tasks/common/taskRunner';

void runTask(
  path.resolve(__dirname, '..', '..', '..', 'tasks', 'deploy-aks-template', 'task.json'),
  async () => {
    const input = new InputReader<ClusterInputName | 'kubectlVersion'>();
    const connection = readClusterConnection(input);
    // The task's first read, as DeployAksTemplate makes it: each kubectl it is given is recorded,
    // and it answers with that kubectl's path; L0_READ=fail makes it fail.
    const reads: string[] = [];
    const { access, read } = await connectAndRead(
      connection,
      { kubectlVersion: parseKubectlVersion(input.optional('kubectlVersion') ?? 'auto') },
      (early) => {
        reads.push(early.kubectlPath);
        if (process.env['L0_READ'] === 'fail') return Promise.reject(new UserError('the first read failed'));
        return Promise.resolve(early.kubectlPath);
      },
    );
    const { kubeconfigPath, kubectlPath, env, serverUrl, serverVersion } = access;
    const kubeconfig = fs.readFileSync(kubeconfigPath, 'utf8');
    const mode = fs.statSync(kubeconfigPath).mode & 0o777;
    await access.dispose();
    console.log(
      `##l0-cluster ${JSON.stringify({
        kubeconfigPath,
        kubectlPath,
        env,
        serverUrl,
        serverVersion,
        kubeconfig,
        mode,
        removed: !fs.existsSync(kubeconfigPath),
        reads,
        read,
      })}`,
    );
  },
);
