import * as crypto from 'node:crypto';
import type { RequestListener } from 'node:http';
import { FaultPlan } from '../faults';
import type { KeyPair } from '../tls/certificateAuthority';
import type { TokenAuthority } from '../entra/accessTokens';
import { startApiServer, type ApiRequestRecord, type ApiServer } from './apiServer';
import { ClusterController } from './controller';
import { buildKubeconfig, type KubeconfigCredential } from './kubeconfig';
import { ApiError, type KubeObject } from './objects';
import { PodApps, type PodApp } from './podApps';
import type { ImageBehaviour } from './pods';
import { createPortForwardServer } from './portForward';
import { resourceTypeOf } from './resources';
import { ObjectStore } from './store';

export interface KubernetesClusterOptions {
  /** Server certificate; must cover `hostName`. */
  readonly tls: KeyPair;
  /** PEM of the CA that issued `tls`: goes into kubeconfigs as certificate-authority-data. */
  readonly certificateAuthority: string;
  /** The name clients use, e.g. `aks-staging-dns-1a2b3c4d.hcp.westeurope.azmk8s.io` (route it on the proxy). */
  readonly hostName: string;
  /** Cluster/context name in kubeconfigs. Default: the first label of hostName. */
  readonly clusterName?: string;
  /** What `/version` reports. Default v1.32.4. */
  readonly gitVersion?: string;
  readonly nodeCount?: number;
  /** Delay of the default `ready` image behaviour. Default 100 ms. */
  readonly defaultReadyDelayMs?: number;
  /** Delay before LoadBalancer Services and Ingresses get an address. Default 100 ms. */
  readonly loadBalancerDelayMs?: number;
  /** Also accept Entra ID access tokens for these audiences (AKS-managed Entra integration). */
  readonly entra?: { readonly tokens: TokenAuthority; readonly audiences: readonly string[] };
}

export interface KubeconfigRequest {
  /** Default `admin`: the static admin token. `user`: the static user token. */
  readonly as?: 'admin' | 'user';
  /** Overrides the credential (e.g. an exec plugin). */
  readonly credential?: KubeconfigCredential;
  readonly userName?: string;
  readonly namespace?: string;
}

export interface KubernetesCluster {
  readonly hostName: string;
  readonly clusterName: string;
  /** `https://<hostName>:443`: what kubeconfigs name (reachable through the sandbox proxy). */
  readonly serverUrl: string;
  /** The local port the proxy must route `hostName` to. */
  readonly port: number;
  readonly store: ObjectStore;
  readonly controller: ClusterController;
  readonly requests: readonly ApiRequestRecord[];
  /** Faults and latency for the API server's requests: a hostile network between kubectl and the cluster. */
  readonly faults: FaultPlan;
  readonly adminToken: string;
  readonly userToken: string;
  setImageBehaviour(image: string, behaviour: ImageBehaviour): void;
  /** Accept another static bearer token, as `user`. */
  addToken(token: string, user: string): void;
  kubeconfig(request?: KubeconfigRequest): string;
  /**
   * Makes the Running pods of `namespace` whose labels include `labels` answer HTTP on
   * `containerPort` with `listener`: what `kubectl port-forward` to such a pod (or to a Service
   * selecting it) reaches. Pods are still made by the controllers; this only gives them a process.
   */
  serveApp(
    namespace: string,
    labels: Readonly<Record<string, string>>,
    containerPort: number,
    listener: RequestListener,
  ): Promise<PodApp>;
  /** kubectl port-forward connections now open. */
  readonly portForwardSessions: number;
  close(): Promise<void>;
}

const NAMESPACE = resourceTypeOf('Namespace');
const NODE = resourceTypeOf('Node');
const SERVICE = resourceTypeOf('Service');

/**
 * One Kubernetes cluster: object store, API server (HTTPS, bearer tokens) and controllers, seeded
 * with what a fresh AKS cluster has (system namespaces, nodes, the `kubernetes` Service).
 */
export async function startKubernetesCluster(options: KubernetesClusterOptions): Promise<KubernetesCluster> {
  const clusterName = options.clusterName ?? options.hostName.split('.')[0] ?? 'sandbox';
  const gitVersion = options.gitVersion ?? 'v1.32.4';
  const store = new ObjectStore();
  const controller = new ClusterController({
    store,
    defaultReadyDelayMs: options.defaultReadyDelayMs ?? 100,
    loadBalancerDelayMs: options.loadBalancerDelayMs ?? 100,
    addressSeed: options.hostName,
  });
  const adminToken = crypto.randomBytes(32).toString('hex');
  const userToken = crypto.randomBytes(32).toString('hex');
  const staticTokens = new Map<string, string>([
    [adminToken, 'clusterAdmin'],
    [userToken, 'clusterUser'],
  ]);
  let nextClusterIp = 10;
  const usedNodePorts = new Set<number>();
  const apps = new PodApps(store);
  const portForward = createPortForwardServer({
    resolveTarget: (namespace, pod, port) => apps.resolve(namespace, pod, port),
  });
  // Seeded like every plan: a test that draws probabilities sees the same draws each run.
  const faults = new FaultPlan(1);
  let server: ApiServer;
  try {
    server = await startApiServer({
      tls: options.tls,
      faults,
      store,
      version: { gitVersion },
      serverAddress: `${options.hostName}:443`,
      authenticate: (token) => {
        const user = staticTokens.get(token);
        if (user !== undefined) return user;
        const claims = options.entra?.tokens.verify(token, options.entra.audiences);
        return claims === undefined ? undefined : claims.oid;
      },
      allocator: {
        clusterIp: () => {
          const n = nextClusterIp++;
          return `10.0.${Math.floor(n / 250)}.${n % 250}`;
        },
        nodePort: () => {
          let port = 30000 + crypto.randomInt(2768);
          while (usedNodePorts.has(port)) port = 30000 + ((port - 30000 + 1) % 2768);
          usedNodePorts.add(port);
          return port;
        },
      },
      podLogs: (pod, container) => {
        const logs = controller.podLogs(pod, container);
        if ('waiting' in logs) throw ApiError.badRequest(logs.waiting);
        return logs.text;
      },
      // The API server has authenticated the upgrade and found the pod; the path is always a portforward one.
      portForward: (_pod, request, socket, head) => void portForward.handleUpgrade(request, socket, head),
    });
  } catch (error: unknown) {
    controller.close();
    throw error;
  }
  seed(store, options.nodeCount ?? 2, gitVersion);
  return {
    hostName: options.hostName,
    clusterName,
    serverUrl: `https://${options.hostName}:443`,
    port: server.port,
    store,
    controller,
    requests: server.requests,
    faults,
    adminToken,
    userToken,
    setImageBehaviour: (image, behaviour) => controller.setImageBehaviour(image, behaviour),
    addToken: (token, user) => void staticTokens.set(token, user),
    serveApp: (namespace, labels, containerPort, listener) =>
      apps.serve(namespace, labels, containerPort, listener),
    get portForwardSessions() {
      return portForward.openSessions;
    },
    kubeconfig: (request = {}) =>
      buildKubeconfig({
        clusterName,
        server: `https://${options.hostName}:443`,
        certificateAuthority: options.certificateAuthority,
        userName: request.userName ?? `${request.as ?? 'admin'}_${clusterName}`,
        credential: request.credential ?? { token: request.as === 'user' ? userToken : adminToken },
        ...(request.namespace === undefined ? {} : { namespace: request.namespace }),
      }),
    close: async () => {
      controller.close();
      // GOAWAY first, so a kubectl still forwarding hears the cluster went rather than a reset.
      await portForward.close();
      await server.close();
      await apps.close();
    },
  };
}

function seed(store: ObjectStore, nodeCount: number, gitVersion: string): void {
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    store.create(NAMESPACE, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  }
  for (let index = 0; index < nodeCount; index++) {
    const name = `aks-nodepool1-31415926-vmss${String(index).padStart(6, '0')}`;
    const node: KubeObject = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'kubernetes.azure.com/agentpool': 'nodepool1',
          'node.kubernetes.io/instance-type': 'Standard_D4ds_v5',
          'topology.kubernetes.io/region': 'westeurope',
          'topology.kubernetes.io/zone': `westeurope-${(index % 3) + 1}`,
        },
      },
      spec: {
        providerID: `azure:///subscriptions/sandbox/resourceGroups/mc_sandbox/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-31415926-vmss/virtualMachines/${index}`,
      },
      status: {
        addresses: [
          { type: 'InternalIP', address: `10.224.0.${4 + index}` },
          { type: 'Hostname', address: name },
        ],
        capacity: { cpu: '4', memory: '16365492Ki', pods: '110' },
        allocatable: { cpu: '3860m', memory: '12880308Ki', pods: '110' },
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
          },
        ],
        nodeInfo: {
          kubeletVersion: gitVersion,
          containerRuntimeVersion: 'containerd://1.7.27-1',
          osImage: 'Ubuntu 22.04.5 LTS',
          operatingSystem: 'linux',
          architecture: 'amd64',
        },
      },
    };
    store.create(NODE, node);
  }
  store.create(SERVICE, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { component: 'apiserver', provider: 'kubernetes' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: '10.0.0.1',
      clusterIPs: ['10.0.0.1'],
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 443 }],
      sessionAffinity: 'None',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
    },
    status: { loadBalancer: {} },
  });
}
