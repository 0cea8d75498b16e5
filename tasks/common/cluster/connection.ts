import * as fs from 'node:fs';
import * as tl from 'azure-pipelines-task-lib/task';
import { readAzureConnection, type AzureConnection } from '../azureConnection';
import type { InputReader } from '../inputs';
import { userError } from '../messages';

/** The inputs that choose a cluster, shared by DeployAksTemplate and RunAcceptanceTests. */
export type ClusterInputName =
  | 'connectionType'
  | 'azureSubscription'
  | 'resourceGroup'
  | 'cluster'
  | 'useClusterAdmin'
  | 'kubernetesServiceConnection'
  | 'kubeconfig';

export const CONNECTION_TYPES = [
  'azureResourceManager',
  'kubernetesServiceConnection',
  'kubeconfig',
] as const;

export type ClusterConnection =
  | {
      readonly kind: 'azureResourceManager';
      readonly connection: AzureConnection;
      readonly resourceGroup: string;
      readonly cluster: string;
      readonly useClusterAdmin: boolean;
    }
  | {
      readonly kind: 'kubernetesServiceConnection';
      readonly endpointId: string;
      /** `Kubeconfig`, `ServiceAccount` or `AzureSubscription`, as the service connection says. */
      readonly authorizationType: string;
    }
  | { readonly kind: 'kubeconfig'; readonly path: string };

/** `auto` (kubectl on PATH when it fits the server, else the server's version), `latest`, or a version like `1.32.4`. */
export type KubectlVersion =
  | { readonly kind: 'auto' }
  | { readonly kind: 'latest' }
  | { readonly kind: 'exact'; readonly version: string };

/**
 * The connection the inputs choose. Only what can be checked without reaching anything: the
 * kubeconfig's content and the cluster itself are checked by connectToCluster.
 */
export function readClusterConnection(input: InputReader<ClusterInputName>): ClusterConnection {
  switch (input.choice('connectionType', CONNECTION_TYPES, 'azureResourceManager')) {
    case 'azureResourceManager':
      return {
        kind: 'azureResourceManager',
        connection: readAzureConnection('azureSubscription', input.required('azureSubscription')),
        resourceGroup: input.required('resourceGroup'),
        cluster: input.required('cluster'),
        useClusterAdmin: input.boolean('useClusterAdmin', false),
      };
    case 'kubernetesServiceConnection': {
      const endpointId = input.required('kubernetesServiceConnection');
      if (tl.getEndpointAuthorizationScheme(endpointId, true) === undefined) {
        throw userError('ConnectionNotFound', 'kubernetesServiceConnection', endpointId);
      }
      const authorizationType =
        tl.getEndpointDataParameter(endpointId, 'authorizationType', true)?.trim() || 'Kubeconfig';
      return { kind: 'kubernetesServiceConnection', endpointId, authorizationType };
    }
    case 'kubeconfig': {
      const path = input.path('kubeconfig');
      if (path === undefined) throw userError('InputRequired', 'kubeconfig');
      if (!fs.existsSync(path) || !fs.statSync(path).isFile()) throw userError('KubeconfigNotFound', path);
      return { kind: 'kubeconfig', path };
    }
  }
}

export function parseKubectlVersion(value: string): KubectlVersion {
  const lower = value.toLowerCase();
  if (lower === 'auto') return { kind: 'auto' };
  if (lower === 'latest') return { kind: 'latest' };
  const match = /^v?(\d+\.\d+\.\d+)$/.exec(value);
  if (match?.[1] === undefined) throw userError('InvalidKubectlVersion', value);
  return { kind: 'exact', version: match[1] };
}
