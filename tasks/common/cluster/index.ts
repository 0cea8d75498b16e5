import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tl from 'azure-pipelines-task-lib/task';
import { loc } from '../messages';
import { childProcessProxyEnvironment } from '../proxy';
import { registerSecret } from '../secrets';
import { aksKubeconfig } from './aks';
import type { ClusterConnection, KubectlVersion } from './connection';
import {
  currentContext,
  kubeconfigSecrets,
  parseKubeconfig,
  resolveRelativePaths,
  serializeKubeconfig,
  type Kubeconfig,
} from './kubeconfig';
import { findLocalKubectl, installKubectl } from './kubectlInstall';
import { serviceConnectionKubeconfig } from './serviceConnection';
import { fetchServerVersion } from './serverVersion';

export {
  CONNECTION_TYPES,
  parseKubectlVersion,
  readClusterConnection,
  type ClusterConnection,
  type ClusterInputName,
  type KubectlVersion,
} from './connection';

/** What a task needs to run kubectl against the chosen cluster. */
export interface ClusterAccess {
  /** Our own kubeconfig (mode 0600, in the agent's temp folder); never the user's file. */
  readonly kubeconfigPath: string;
  readonly kubectlPath: string;
  /** For kubectl: the agent's proxy for the API server, and KUBECACHEDIR in the agent's temp folder. */
  readonly env: Record<string, string>;
  readonly serverUrl: string;
  /** e.g. `1.32.4`, when the server answered /version. */
  readonly serverVersion: string | undefined;
  /** Removes the kubeconfig (and nothing else). */
  dispose(): Promise<void>;
}

/**
 * Reaches the cluster: its kubeconfig (from ARM, the Kubernetes service connection, or the file),
 * every credential in it registered as a secret before anything is printed, written to the agent's
 * temp folder; the server's version; and a kubectl that fits it.
 */
export async function connectToCluster(
  connection: ClusterConnection,
  options: { kubectlVersion: KubectlVersion },
): Promise<ClusterAccess> {
  const kubeconfig = await clusterKubeconfig(connection);
  const context = currentContext(kubeconfig);
  // Both are round trips (HTTPS, a kubectl process) that need nothing from each other.
  const [serverVersion, local] = await Promise.all([
    fetchServerVersion(context),
    options.kubectlVersion.kind === 'auto' ? findLocalKubectl() : Promise.resolve(undefined),
  ]);
  if (serverVersion === undefined) console.log(loc('ClusterVersionUnknown', context.server));
  const kubectl = await installKubectl(options.kubectlVersion, serverVersion, local);

  const tempDirectory = agentTempDirectory();
  const kubeconfigPath = path.join(tempDirectory, `kubeconfig-${crypto.randomUUID()}`);
  // Created with its mode, never widened afterwards: no moment when others could read it.
  fs.writeFileSync(kubeconfigPath, serializeKubeconfig(kubeconfig), { mode: 0o600, flag: 'wx' });
  const cacheDirectory = fs.mkdtempSync(path.join(tempDirectory, 'kubecache-'));
  console.log(loc('ClusterConnected', context.server, serverVersion ?? '?', context.name, kubectl.version));
  return {
    kubeconfigPath,
    kubectlPath: kubectl.path,
    env: { ...childProcessProxyEnvironment([context.server]), KUBECACHEDIR: cacheDirectory },
    serverUrl: context.server,
    serverVersion,
    dispose: () => {
      fs.rmSync(kubeconfigPath, { force: true });
      return Promise.resolve();
    },
  };
}

async function clusterKubeconfig(connection: ClusterConnection): Promise<Kubeconfig> {
  switch (connection.kind) {
    case 'azureResourceManager':
      return aksKubeconfig(connection);
    case 'kubernetesServiceConnection':
      return serviceConnectionKubeconfig(connection.endpointId, connection.authorizationType);
    case 'kubeconfig': {
      const text = fs.readFileSync(connection.path, 'utf8');
      const kubeconfig = parseKubeconfig(text, { input: 'kubeconfig', value: connection.path });
      for (const secret of kubeconfigSecrets(kubeconfig)) registerSecret(secret);
      resolveRelativePaths(kubeconfig, path.dirname(path.resolve(connection.path)));
      return kubeconfig;
    }
  }
}

function agentTempDirectory(): string {
  const directory = tl.getVariable('Agent.TempDirectory') || os.tmpdir();
  fs.mkdirSync(directory, { recursive: true });
  return directory;
}
