import { apiGroupOf, isJsonObject, type KubernetesObject, type Manifest } from './kubernetesObject';

/**
 * Built-in kinds that live outside namespaces (Kubernetes 1.32, `kubectl api-resources
 * --namespaced=false`), as `Kind` for the core group and `Kind.group` otherwise.
 */
export const BUILT_IN_CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'ComponentStatus',
  'ClusterRole.rbac.authorization.k8s.io',
  'ClusterRoleBinding.rbac.authorization.k8s.io',
  'CustomResourceDefinition.apiextensions.k8s.io',
  'APIService.apiregistration.k8s.io',
  'StorageClass.storage.k8s.io',
  'CSIDriver.storage.k8s.io',
  'CSINode.storage.k8s.io',
  'VolumeAttachment.storage.k8s.io',
  'VolumeAttributesClass.storage.k8s.io',
  'IngressClass.networking.k8s.io',
  'IPAddress.networking.k8s.io',
  'ServiceCIDR.networking.k8s.io',
  'PriorityClass.scheduling.k8s.io',
  'RuntimeClass.node.k8s.io',
  'ValidatingWebhookConfiguration.admissionregistration.k8s.io',
  'MutatingWebhookConfiguration.admissionregistration.k8s.io',
  'ValidatingAdmissionPolicy.admissionregistration.k8s.io',
  'ValidatingAdmissionPolicyBinding.admissionregistration.k8s.io',
  'MutatingAdmissionPolicy.admissionregistration.k8s.io',
  'MutatingAdmissionPolicyBinding.admissionregistration.k8s.io',
  'CertificateSigningRequest.certificates.k8s.io',
  'ClusterTrustBundle.certificates.k8s.io',
  'FlowSchema.flowcontrol.apiserver.k8s.io',
  'PriorityLevelConfiguration.flowcontrol.apiserver.k8s.io',
  'TokenReview.authentication.k8s.io',
  'SelfSubjectReview.authentication.k8s.io',
  'SubjectAccessReview.authorization.k8s.io',
  'SelfSubjectAccessReview.authorization.k8s.io',
  'SelfSubjectRulesReview.authorization.k8s.io',
  'DeviceClass.resource.k8s.io',
  'ResourceSlice.resource.k8s.io',
  'StorageVersion.internal.apiserver.k8s.io',
  'StorageVersionMigration.storagemigration.k8s.io',
]);

export interface NamespacePlan {
  readonly manifests: Manifest[];
  /** Every namespace the run's namespaced objects live in, sorted. */
  readonly needed: string[];
  /** Namespaces a Namespace object of this run defines, sorted. */
  readonly defined: string[];
  /** Needed and not defined by this run: these must already exist in the cluster. */
  readonly mustExist: string[];
}

/** `Kind` for the core group, `Kind.group` otherwise: how the cluster-scoped sets name a kind. */
export function qualifiedKind(apiVersion: string, kind: string): string {
  const group = apiGroupOf(apiVersion);
  return group === '' ? kind : `${kind}.${group}`;
}

/**
 * Writes `defaultNamespace` into every namespaced object that names none, leaving a namespace a
 * manifest names as it is and giving cluster-scoped objects none. The namespace is written into the
 * objects rather than passed as `kubectl -n`, because kubectl refuses `-n` for a manifest naming
 * another namespace. Cluster-scoped kinds are the built-in ones and the custom kinds that a
 * CustomResourceDefinition of this run declares with `scope: Cluster`. Any other custom kind is
 * taken to be namespaced: rendering happens before the cluster is reached, so its discovery is not
 * asked. For a cluster-scoped kind defined earlier the namespace written is harmless: the API server
 * drops the namespace of a cluster-scoped object.
 */
export function placeNamespaces(manifests: readonly Manifest[], defaultNamespace: string): NamespacePlan {
  const clusterScoped = new Set([
    ...BUILT_IN_CLUSTER_SCOPED_KINDS,
    ...manifests.flatMap(({ object }) => clusterScopedKindDeclaredBy(object)),
  ]);
  const needed = new Set<string>();
  const defined = new Set<string>();
  const placed = manifests.map((manifest) => {
    const { object } = manifest;
    if (object.kind === 'Namespace' && object.apiVersion === 'v1') defined.add(object.metadata.name);
    if (clusterScoped.has(qualifiedKind(object.apiVersion, object.kind))) return manifest;
    const named = object.metadata.namespace;
    if (typeof named === 'string' && named !== '') {
      needed.add(named);
      return manifest;
    }
    needed.add(defaultNamespace);
    // Right after the name, where a reader of the rendered manifests looks for it.
    const { name, ...rest } = object.metadata;
    const metadata = { name, namespace: defaultNamespace, ...rest };
    metadata.namespace = defaultNamespace;
    return { source: manifest.source, object: { ...object, metadata } };
  });
  const sortedNeeded = [...needed].sort();
  return {
    manifests: placed,
    needed: sortedNeeded,
    defined: [...defined].sort(),
    mustExist: sortedNeeded.filter((namespace) => !defined.has(namespace)),
  };
}

function clusterScopedKindDeclaredBy(object: KubernetesObject): string[] {
  if (qualifiedKind(object.apiVersion, object.kind) !== 'CustomResourceDefinition.apiextensions.k8s.io') {
    return [];
  }
  const spec = object.spec;
  if (!isJsonObject(spec) || spec.scope !== 'Cluster' || !isJsonObject(spec.names)) return [];
  const { group } = spec;
  const { kind } = spec.names;
  return typeof group === 'string' && typeof kind === 'string' ? [`${kind}.${group}`] : [];
}
