// L0 entry for the cluster layer: reads the cluster inputs as the tasks do, connects, and prints
// what a task would get (`##l0-cluster`), the kubeconfig written, and whether dispose removed it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  connectToCluster,
  parseKubectlVersion,
  readClusterConnection,
  type ClusterInputName,
} from '../../../tasks/common/cluster';
import { InputReader } from '../../../tasks/common/inputs';
import { runTask } from '../../../tasks/common/taskRunner';

void runTask(
  path.resolve(__dirname, '..', '..', '..', 'tasks', 'deploy-aks-template', 'task.json'),
  async () => {
    const input = new InputReader<ClusterInputName | 'kubectlVersion'>();
    const connection = readClusterConnection(input);
    const access = await connectToCluster(connection, {
      kubectlVersion: parseKubectlVersion(input.optional('kubectlVersion') ?? 'auto'),
    });
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
      })}`,
    );
  },
);
