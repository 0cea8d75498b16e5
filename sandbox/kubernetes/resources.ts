/**
 * The resource types the API server stand-in serves. Discovery, OpenAPI, routing and the object
 * store are all driven by this one table, so adding a type is one entry here.
 */
export interface ResourceType {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly subresources: readonly Subresource[];
  /** Whether spec changes bump metadata.generation (true for everything with a spec and status). */
  readonly hasGeneration: boolean;
  /** Writes to the main resource keep the stored status: only `/status` (or the controller) changes it. */
  readonly hasStatusSubresource: boolean;
}

export type Subresource = 'status' | 'scale' | 'log';

const WRITE_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function type(
  group: string,
  version: string,
  kind: string,
  plural: string,
  options: {
    namespaced?: boolean;
    shortNames?: string[];
    categories?: string[];
    subresources?: Subresource[];
    generation?: boolean;
  } = {},
): ResourceType {
  const subresources = options.subresources ?? [];
  return {
    group,
    version,
    kind,
    plural,
    singular: kind.toLowerCase(),
    namespaced: options.namespaced ?? true,
    shortNames: options.shortNames ?? [],
    categories: options.categories ?? [],
    subresources,
    hasGeneration: options.generation ?? false,
    hasStatusSubresource: subresources.includes('status'),
  };
}

export const RESOURCE_TYPES: readonly ResourceType[] = [
  type('', 'v1', 'Namespace', 'namespaces', {
    namespaced: false,
    shortNames: ['ns'],
    subresources: ['status'],
  }),
  type('', 'v1', 'Node', 'nodes', { namespaced: false, shortNames: ['no'], subresources: ['status'] }),
  type('', 'v1', 'Pod', 'pods', { shortNames: ['po'], categories: ['all'], subresources: ['status', 'log'] }),
  type('', 'v1', 'Service', 'services', {
    shortNames: ['svc'],
    categories: ['all'],
    subresources: ['status'],
  }),
  type('', 'v1', 'ConfigMap', 'configmaps', { shortNames: ['cm'] }),
  type('', 'v1', 'Secret', 'secrets'),
  type('', 'v1', 'ServiceAccount', 'serviceaccounts', { shortNames: ['sa'] }),
  type('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', {
    shortNames: ['pvc'],
    subresources: ['status'],
  }),
  type('', 'v1', 'Event', 'events', { shortNames: ['ev'] }),
  type('apps', 'v1', 'Deployment', 'deployments', {
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    generation: true,
  }),
  type('apps', 'v1', 'StatefulSet', 'statefulsets', {
    shortNames: ['sts'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    generation: true,
  }),
  type('apps', 'v1', 'DaemonSet', 'daemonsets', {
    shortNames: ['ds'],
    categories: ['all'],
    subresources: ['status'],
    generation: true,
  }),
  type('apps', 'v1', 'ReplicaSet', 'replicasets', {
    shortNames: ['rs'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    generation: true,
  }),
  type('apps', 'v1', 'ControllerRevision', 'controllerrevisions'),
  type('batch', 'v1', 'Job', 'jobs', { categories: ['all'], subresources: ['status'], generation: true }),
  type('batch', 'v1', 'CronJob', 'cronjobs', {
    shortNames: ['cj'],
    categories: ['all'],
    subresources: ['status'],
    generation: true,
  }),
  type('networking.k8s.io', 'v1', 'Ingress', 'ingresses', {
    shortNames: ['ing'],
    subresources: ['status'],
    generation: true,
  }),
  type('networking.k8s.io', 'v1', 'IngressClass', 'ingressclasses', { namespaced: false, generation: true }),
  type('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies', {
    shortNames: ['netpol'],
    generation: true,
  }),
  type('autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', {
    shortNames: ['hpa'],
    categories: ['all'],
    subresources: ['status'],
    generation: true,
  }),
  type('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', {
    shortNames: ['pdb'],
    subresources: ['status'],
    generation: true,
  }),
];

export const ALL_VERBS: readonly string[] = WRITE_VERBS;

/** `v1` or `apps/v1`: the apiVersion objects of this type carry. */
export function apiVersionOf(resourceType: ResourceType): string {
  return resourceType.group === '' ? resourceType.version : `${resourceType.group}/${resourceType.version}`;
}

/** `deployments.apps` or `pods`: how the API server names a resource in messages. */
export function qualifiedResourceName(resourceType: ResourceType): string {
  return resourceType.group === '' ? resourceType.plural : `${resourceType.plural}.${resourceType.group}`;
}

export function resourceTypeByPath(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.plural === plural);
}

export function resourceTypeByKind(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => apiVersionOf(t) === apiVersion && t.kind === kind);
}

export function resourceTypeOf(kind: string, group = ''): ResourceType {
  const found = RESOURCE_TYPES.find((t) => t.kind === kind && t.group === group);
  if (found === undefined) throw new Error(`no resource type for kind ${kind} in group '${group}'`);
  return found;
}

/** The group/versions served, in discovery order (core first, as real servers list them). */
export function servedGroupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const t of RESOURCE_TYPES) {
    seen.set(`${t.group}/${t.version}`, { group: t.group, version: t.version });
  }
  return [...seen.values()];
}
