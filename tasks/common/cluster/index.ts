import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tl from 'azure-pipelines-task-lib/task';
import { loc } from '../messages';
import { childProcessProxyEnvironment } from '../proxy';
import { registerSecret } from '../secrets';
import type { ClusterConnection, KubectlVersion } from './connection';
import {
  currentContext,
  kubeconfigSecrets,
  parseKubeconfig,
  resolveRelativePaths,
  serializeKubeconfig,
  type Kubeconfig,
} from './kubeconfig';
import { findLocalKubectl, findOnPath, installKubectl, kubectlFileName } from './kubectlInstall';
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
  return (await connectAndRead(connection, options, () => Promise.resolve(undefined))).access;
}

/**
 * connectToCluster, and the task's first read of the cluster (`read`, read-only), started as early
 * as a kubectl is known: with `auto` and a kubectl on PATH, while that kubectl's version is checked
 * against the server's (each a process or a round trip of a tenth of a second, which a deploy would
 * otherwise wait for one after the other). When the check then picks another kubectl, the early
 * read is dropped and made again with the chosen one. A read that fails fails the connection, once
 * the kubectl is chosen.
 */
export async function connectAndRead<T>(
  connection: ClusterConnection,
  options: { kubectlVersion: KubectlVersion },
  read: (access: ClusterAccess) => Promise<T>,
): Promise<{ access: ClusterAccess; read: T }> {
  const kubeconfig = await clusterKubeconfig(connection);
  const context = currentContext(kubeconfig);
  const tempDirectory = agentTempDirectory();
  const kubeconfigPath = path.join(tempDirectory, `kubeconfig-${crypto.randomUUID()}`);
  // Created with its mode, never widened afterwards: no moment when others could read it.
  fs.writeFileSync(kubeconfigPath, serializeKubeconfig(kubeconfig), { mode: 0o600, flag: 'wx' });
  const dispose = (): Promise<void> => {
    fs.rmSync(kubeconfigPath, { force: true });
    return Promise.resolve();
  };
  let early: Promise<T> | undefined;
  let cacheDirectory: string | undefined;
  try {
    cacheDirectory = fs.mkdtempSync(path.join(tempDirectory, 'kubecache-'));
    const env = { ...childProcessProxyEnvironment([context.server]), KUBECACHEDIR: cacheDirectory };
    const accessWith = (kubectlPath: string, serverVersion: string | undefined): ClusterAccess => ({
      kubeconfigPath,
      kubectlPath,
      env,
      serverUrl: context.server,
      serverVersion,
      dispose,
    });
    const onPath = options.kubectlVersion.kind === 'auto' ? findOnPath(kubectlFileName()) : undefined;
    if (onPath !== undefined) {
      early = read(accessWith(onPath, undefined));
      // Settled below, or dropped when another kubectl is chosen: never an unhandled rejection.
      early.catch(() => undefined);
    }
    // The kubectl on PATH reports the server's version too (as it reaches it: proxy, exec plugins);
    // the API server is asked directly only when no kubectl could tell.
    const local =
      onPath === undefined
        ? undefined
        : await findLocalKubectl(onPath, kubeconfigPath, { ...process.env, ...env });
    const serverVersion = local?.serverVersion ?? (await fetchServerVersion(context));
    if (serverVersion === undefined) console.log(loc('ClusterVersionUnknown', context.server));
    const kubectl = await installKubectl(options.kubectlVersion, serverVersion, local);
    console.log(loc('ClusterConnected', context.server, serverVersion ?? '?', context.name, kubectl.version));
    const access = accessWith(kubectl.path, serverVersion);
    if (early !== undefined && kubectl.path === onPath) return { access, read: await early };
    return { access, read: await read(access) };
  } catch (error: unknown) {
    // No kubectl of this connection outlives it, and nothing is left of the kubeconfig.
    await early?.catch(() => undefined);
    await dispose();
    if (cacheDirectory !== undefined) fs.rmSync(cacheDirectory, { recursive: true, force: true });
    throw error;
  }
}

async function clusterKubeconfig(connection: ClusterConnection): Promise<Kubeconfig> {
  switch (connection.kind) {
    case 'azureResourceManager': {
      // The ARM and Entra ID clients take ~30 ms to load: only this connection kind pays for them.
      const { aksKubeconfig } = await import('./aks');
      return aksKubeconfig(connection);
    }
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
