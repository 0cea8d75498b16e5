/** The Kubernetes API server stand-in: see cluster.ts for the entry point. */
export {
  startKubernetesCluster,
  type KubernetesCluster,
  type KubernetesClusterOptions,
  type KubeconfigRequest,
} from './cluster';
export { buildKubeconfig, type KubeconfigCredential, type KubeconfigOptions } from './kubeconfig';
export type { ImageBehaviour } from './pods';
export type { PodApp } from './podApps';
export type { ApiRequestRecord } from './apiServer';
export { ObjectStore, type StoreEvent } from './store';
export type { KubeObject } from './objects';
export {
  kubectlSession,
  type KubectlResult,
  type KubectlSession,
  type KubectlSessionOptions,
} from './kubectl';
