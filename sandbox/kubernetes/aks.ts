import * as crypto from 'node:crypto';
import {
  sendArmError,
  sendResourceGroupNotFound,
  sendResourceNotFound,
  type ArmProvider,
  type ArmRequest,
} from '../arm';
import type { SandboxBase } from '../base';
import { sendJson } from '../httpsServer';
import type { SandboxService, ServiceOptions } from '../service';
import {
  buildKubeconfig,
  startKubernetesCluster,
  type ApiRequestRecord,
  type ImageBehaviour,
  type KubernetesCluster,
  type ObjectStore,
} from './index';

/** The application id of AKS's Entra server app: the audience of tokens for AAD-enabled clusters. */
export const AKS_AAD_SERVER_ID = '6dae42f8-4368-4678-94ff-3960e28e3630';

/** The only region the sandbox certificate covers (`*.hcp.westeurope.azmk8s.io`). */
const LOCATION = 'westeurope';

export interface AksClusterSpec {
  readonly resourceGroup: string;
  readonly name: string;
  /** AKS-managed Entra ID: the user kubeconfig uses kubelogin, the API server accepts Entra tokens. */
  readonly aadEnabled?: boolean;
  /** `listClusterAdminCredential` is refused, as on clusters with local accounts disabled. */
  readonly disableLocalAccounts?: boolean;
  /** Default `1.32.4`. */
  readonly kubernetesVersion?: string;
  readonly nodeCount?: number;
  readonly tags?: Readonly<Record<string, string>>;
}

export interface AksCluster {
  readonly resourceGroup: string;
  readonly name: string;
  /** ARM id, with the lower-case `resourcegroups` segment AKS really returns. */
  readonly id: string;
  /** API server host, e.g. `aks-staging-dns-1a2b3c4d.hcp.westeurope.azmk8s.io`. */
  readonly fqdn: string;
  readonly aadEnabled: boolean;
  readonly kubernetes: KubernetesCluster;
  /** The cluster's objects, for assertions. */
  readonly store: ObjectStore;
  /** Every request the cluster's API server received. */
  readonly requests: readonly ApiRequestRecord[];
  setImageBehaviour(image: string, behaviour: ImageBehaviour): void;
  /** What listClusterUserCredential (default) or listClusterAdminCredential (admin) returns, as YAML. */
  kubeconfig(admin?: boolean): string;
}

export interface AksSandbox extends SandboxService {
  createCluster(spec: AksClusterSpec): Promise<AksCluster>;
  cluster(resourceGroup: string, name: string): AksCluster | undefined;
  readonly clusters: readonly AksCluster[];
  /** Microsoft.ContainerService/managedClusters routes; already added to `options.arm`. */
  readonly armProvider: ArmProvider;
  /** Every cluster's API server URL (each routed on the proxy under its FQDN). */
  readonly urls: readonly string[];
  /** Every cluster's FQDN. */
  readonly routes: readonly string[];
  /** Every request the clusters' API servers received, cluster by cluster. */
  readonly requests: readonly ApiRequestRecord[];
}

/**
 * AKS: managed clusters in ARM (list, get, user/admin credentials) and, per cluster, a Kubernetes
 * API server routed on the proxy under the cluster's real-looking FQDN, so kubectl reaches it with
 * HTTPS_PROXY and the kubeconfig's certificate-authority-data.
 */
export function startAks(base: SandboxBase, options: Pick<ServiceOptions, 'arm'> = {}): Promise<AksSandbox> {
  const arm = options.arm;
  const clusters: AksCluster[] = [];
  const specs = new Map<AksCluster, AksClusterSpec>();
  // Groups that exist: ARM's own list when there is one, else the groups of our clusters.
  const groupExists = (name: string): boolean =>
    [...(arm?.resourceGroups ?? []), ...clusters.map((c) => c.resourceGroup)].some(
      (g) => g.toLowerCase() === name.toLowerCase(),
    );
  const find = (resourceGroup: string, name: string): AksCluster | undefined =>
    clusters.find(
      (c) =>
        c.resourceGroup.toLowerCase() === resourceGroup.toLowerCase() &&
        c.name.toLowerCase() === name.toLowerCase(),
    );

  const createCluster = async (spec: AksClusterSpec): Promise<AksCluster> => {
    if (find(spec.resourceGroup, spec.name) !== undefined)
      throw new Error(`cluster ${spec.resourceGroup}/${spec.name} already exists`);
    const id = `/subscriptions/${base.subscriptionId}/resourcegroups/${spec.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${spec.name}`;
    // Real FQDNs end in 8 hex digits derived from the cluster; a hash keeps ours stable per name.
    const suffix = crypto.createHash('sha256').update(id.toLowerCase()).digest('hex').slice(0, 8);
    const fqdn = `${spec.name}-dns-${suffix}.hcp.${LOCATION}.azmk8s.io`;
    const aadEnabled = spec.aadEnabled === true;
    const kubernetes = await startKubernetesCluster({
      tls: base.serverTls,
      certificateAuthority: base.ca.root.certificate,
      hostName: fqdn,
      clusterName: spec.name,
      gitVersion: `v${spec.kubernetesVersion ?? '1.32.4'}`,
      ...(spec.nodeCount === undefined ? {} : { nodeCount: spec.nodeCount }),
      ...(aadEnabled ? { entra: { tokens: base.tokens, audiences: [AKS_AAD_SERVER_ID] } } : {}),
    });
    base.proxy.route(fqdn, kubernetes.port);
    arm?.resourceGroups.add(spec.resourceGroup);
    const kubeconfig = (admin = false): string =>
      buildKubeconfig({
        clusterName: admin ? `${spec.name}-admin` : spec.name,
        server: kubernetes.serverUrl,
        certificateAuthority: base.ca.root.certificate,
        userName: `${admin ? 'clusterAdmin' : 'clusterUser'}_${spec.resourceGroup}_${spec.name}`,
        credential:
          admin || !aadEnabled
            ? { token: admin ? kubernetes.adminToken : kubernetes.userToken }
            : {
                exec: {
                  command: 'kubelogin',
                  args: ['get-token', '--login', 'azurecli', '--server-id', AKS_AAD_SERVER_ID],
                  env: null,
                  installHint:
                    '\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\nTo learn more, please go to https://aka.ms/aks/kubelogin\n',
                },
              },
      });
    const cluster: AksCluster = {
      resourceGroup: spec.resourceGroup,
      name: spec.name,
      id,
      fqdn,
      aadEnabled,
      kubernetes,
      store: kubernetes.store,
      requests: kubernetes.requests,
      setImageBehaviour: (image, behaviour) => kubernetes.setImageBehaviour(image, behaviour),
      kubeconfig,
    };
    specs.set(cluster, spec);
    clusters.push(cluster);
    return cluster;
  };

  const armProvider: ArmProvider = (call) => handleArm(call, { base, clusters, specs, find, groupExists });
  arm?.addProvider(armProvider);

  // Asynchronous like the other sandbox parts, though clusters start only in createCluster.
  return Promise.resolve({
    createCluster,
    cluster: find,
    clusters,
    armProvider,
    get urls() {
      return clusters.map((c) => `https://127.0.0.1:${c.kubernetes.port}`);
    },
    get routes() {
      return clusters.map((c) => c.fqdn);
    },
    get requests() {
      return clusters.flatMap((c) => c.requests);
    },
    close: async () => {
      await Promise.all(clusters.map((c) => c.kubernetes.close()));
      clusters.length = 0;
    },
  });
}

const PROVIDER = 'providers/microsoft.containerservice/managedclusters';

interface AksState {
  readonly base: SandboxBase;
  readonly clusters: readonly AksCluster[];
  readonly specs: ReadonlyMap<AksCluster, AksClusterSpec>;
  find(resourceGroup: string, name: string): AksCluster | undefined;
  groupExists(name: string): boolean;
}

function handleArm(call: ArmRequest, state: AksState): boolean {
  const { request, response } = call;
  const { base, clusters, specs } = state;
  const path = call.path.replace(/\/+$/, '');
  const subscriptionPrefix = `/subscriptions/${base.subscriptionId}/`.toLowerCase();
  const lower = path.toLowerCase();
  if (!lower.startsWith(subscriptionPrefix) || !lower.includes(PROVIDER)) return false;
  const rest = path.slice(subscriptionPrefix.length);
  const bySubscription = new RegExp(`^${PROVIDER}$`, 'i');
  const byGroup = new RegExp(`^resourcegroups/([^/]+)/${PROVIDER}(?:/([^/]+)(?:/([^/]+))?)?$`, 'i');
  if (request.method === 'GET' && bySubscription.test(rest)) {
    sendJson(response, 200, { value: clusters.map((c) => managedClusterResource(c, specs.get(c), base)) });
    return true;
  }
  const match = byGroup.exec(rest);
  if (match === null) return false;
  const [, resourceGroup = '', name, action] = match;
  if (name === undefined) {
    if (request.method !== 'GET') return false;
    if (!state.groupExists(resourceGroup)) {
      sendResourceGroupNotFound(response, resourceGroup);
      return true;
    }
    sendJson(response, 200, {
      value: clusters
        .filter((c) => c.resourceGroup.toLowerCase() === resourceGroup.toLowerCase())
        .map((c) => managedClusterResource(c, specs.get(c), base)),
    });
    return true;
  }
  const cluster = state.find(resourceGroup, name);
  if (cluster === undefined && !state.groupExists(resourceGroup)) {
    sendResourceGroupNotFound(response, resourceGroup);
    return true;
  }
  if (cluster === undefined) {
    sendResourceNotFound(response, 'Microsoft.ContainerService/managedClusters', name, resourceGroup);
    return true;
  }
  if (action === undefined && request.method === 'GET') {
    sendJson(response, 200, managedClusterResource(cluster, specs.get(cluster), base));
    return true;
  }
  if (request.method !== 'POST' || action === undefined) return false;
  const admin = action.toLowerCase() === 'listclusteradmincredential';
  if (!admin && action.toLowerCase() !== 'listclusterusercredential') return false;
  const spec = specs.get(cluster);
  if (admin && spec?.disableLocalAccounts === true) {
    sendArmError(
      response,
      400,
      'BadRequest',
      'Getting static credential is not allowed because this cluster is set to disable local accounts.',
    );
    return true;
  }
  const value = Buffer.from(cluster.kubeconfig(admin), 'utf8').toString('base64');
  sendJson(response, 200, { kubeconfigs: [{ name: admin ? 'clusterAdmin' : 'clusterUser', value }] });
  return true;
}

/** The managedClusters resource as ARM returns it (the fields clients and pickers read). */
function managedClusterResource(
  cluster: AksCluster,
  spec: AksClusterSpec | undefined,
  base: SandboxBase,
): Record<string, unknown> {
  const stableId = (salt: string): string =>
    crypto
      .createHash('md5')
      .update(`${salt}/${cluster.id.toLowerCase()}`)
      .digest('hex')
      .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
  const version = spec?.kubernetesVersion ?? '1.32.4';
  const dnsPrefix = `${cluster.name}-dns`;
  return {
    id: cluster.id,
    location: LOCATION,
    name: cluster.name,
    type: 'Microsoft.ContainerService/ManagedClusters',
    tags: spec?.tags ?? {},
    sku: { name: 'Base', tier: 'Free' },
    identity: { type: 'SystemAssigned', principalId: stableId('identity'), tenantId: base.tenantId },
    properties: {
      provisioningState: 'Succeeded',
      powerState: { code: 'Running' },
      kubernetesVersion: version,
      currentKubernetesVersion: version,
      dnsPrefix,
      fqdn: cluster.fqdn,
      azurePortalFQDN: cluster.fqdn.replace('.hcp.', '.portal.hcp.'),
      agentPoolProfiles: [
        {
          name: 'nodepool1',
          count: spec?.nodeCount ?? 2,
          vmSize: 'Standard_D4ds_v5',
          osType: 'Linux',
          osSKU: 'Ubuntu',
          mode: 'System',
          type: 'VirtualMachineScaleSets',
          orchestratorVersion: version,
          provisioningState: 'Succeeded',
          powerState: { code: 'Running' },
        },
      ],
      nodeResourceGroup: `MC_${cluster.resourceGroup}_${cluster.name}_${LOCATION}`,
      enableRBAC: true,
      ...(cluster.aadEnabled
        ? { aadProfile: { managed: true, enableAzureRBAC: false, tenantID: base.tenantId } }
        : {}),
      disableLocalAccounts: spec?.disableLocalAccounts === true,
      networkProfile: {
        networkPlugin: 'azure',
        networkPluginMode: 'overlay',
        loadBalancerSku: 'standard',
        outboundType: 'loadBalancer',
        serviceCidr: '10.0.0.0/16',
        dnsServiceIP: '10.0.0.10',
        podCidr: '10.244.0.0/16',
      },
      oidcIssuerProfile: {
        enabled: true,
        issuerURL: `https://${LOCATION}.oic.prod-aks.azure.com/${base.tenantId}/${stableId('oidc')}/`,
      },
    },
  };
}
