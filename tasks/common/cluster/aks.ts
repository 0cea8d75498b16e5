import * as tl from 'azure-pipelines-task-lib/task';
import { ContainerServiceClient } from '@azure/arm-containerservice';
import type { TokenCredential } from '@azure/identity';
import type { AzureConnection } from '../azureConnection';
import { azureClientOptions } from '../azureClientOptions';
import { errorCodes, explainNetworkError, explainSignInError, principalOf, statusOf } from '../azureErrors';
import { createCredential } from '../credential';
import { userError } from '../messages';
import { registerSecret } from '../secrets';
import {
  currentContext,
  entraServerId,
  kubeconfigSecrets,
  parseKubeconfig,
  withBearerToken,
  type Kubeconfig,
} from './kubeconfig';

export interface AksClusterConnection {
  readonly connection: AzureConnection;
  readonly resourceGroup: string;
  readonly cluster: string;
  readonly useClusterAdmin: boolean;
}

export const CLUSTER_USER_ROLE = 'Azure Kubernetes Service Cluster User Role';
export const CLUSTER_ADMIN_ROLE = 'Azure Kubernetes Service Cluster Admin Role';

/**
 * The cluster's kubeconfig from ARM (listClusterUserCredential, or listClusterAdminCredential with
 * useClusterAdmin). On an Entra ID cluster the user is kubelogin; it is replaced by a token the
 * connection's own credential gets for the cluster's server app, so no kubelogin is needed and
 * every credential scheme works.
 */
export async function aksKubeconfig(aks: AksClusterConnection): Promise<Kubeconfig> {
  const { connection, resourceGroup, cluster, useClusterAdmin } = aks;
  const subscriptionId = connection.subscriptionId;
  if (subscriptionId === undefined)
    throw userError('ConnectionMissingParameter', connection.id, 'subscription id');
  const credential = createCredential(connection);
  const armUrl = connection.cloud.resourceManagerUrl;
  const client = new ContainerServiceClient(credential, subscriptionId, {
    ...azureClientOptions(armUrl, 'resourceManager'),
    endpoint: armUrl.replace(/\/+$/, ''),
    credentials: { scopes: [connection.cloud.resourceManagerScope] },
  });
  let value: Uint8Array | undefined;
  try {
    const result = useClusterAdmin
      ? await client.managedClusters.listClusterAdminCredentials(resourceGroup, cluster)
      : await client.managedClusters.listClusterUserCredentials(resourceGroup, cluster, { format: 'exec' });
    value = result.kubeconfigs?.find((k) => k.value !== undefined)?.value;
  } catch (error: unknown) {
    throw explainCredentialsError(error, aks, subscriptionId);
  }
  if (value === undefined) throw userError('AksNoKubeconfig', cluster, resourceGroup);
  const kubeconfig = parseKubeconfig(Buffer.from(value).toString('utf8'), {
    input: 'cluster',
    value: cluster,
  });
  for (const secret of kubeconfigSecrets(kubeconfig)) registerSecret(secret);

  const serverId = entraServerId(currentContext(kubeconfig).user);
  if (serverId !== undefined) {
    tl.debug(`Entra ID cluster: a token for ${serverId} replaces the kubeconfig's kubelogin user`);
    withBearerToken(kubeconfig, await entraToken(credential, connection, serverId, cluster));
  }
  return kubeconfig;
}

async function entraToken(
  credential: TokenCredential,
  connection: AzureConnection,
  serverId: string,
  cluster: string,
): Promise<string> {
  try {
    const token = await credential.getToken(`${serverId}/.default`);
    if (token === null) throw new Error(`no token for ${serverId}`);
    registerSecret(token.token);
    return token.token;
  } catch (error: unknown) {
    throw explainSignInError(error, connection, `AKS cluster '${cluster}'`) ?? error;
  }
}

/** One line (a UserError) for a failed credentials call, or the error itself when it is none of these: not found, not allowed, no local accounts, sign-in, network. */
export function explainCredentialsError(
  error: unknown,
  aks: AksClusterConnection,
  subscriptionId: string,
): unknown {
  const { connection, resourceGroup, cluster, useClusterAdmin } = aks;
  const status = statusOf(error);
  const codes = errorCodes(error);
  if (status === 404 || codes.has('ResourceNotFound') || codes.has('ResourceGroupNotFound'))
    return userError('AksClusterNotFound', cluster, resourceGroup, subscriptionId);
  if (status === 403 || codes.has('AuthorizationFailed')) {
    return userError(
      'AksClusterAccessDenied',
      connection.id,
      principalOf(connection),
      cluster,
      resourceGroup,
      subscriptionId,
      useClusterAdmin ? CLUSTER_ADMIN_ROLE : CLUSTER_USER_ROLE,
    );
  }
  if (useClusterAdmin && status === 400 && /local accounts/i.test((error as Error | null)?.message ?? ''))
    return userError('AksLocalAccountsDisabled', cluster);
  return (
    explainSignInError(error, connection, `AKS cluster '${cluster}'`) ??
    explainNetworkError(error, 'Azure Resource Manager') ??
    error
  );
}
