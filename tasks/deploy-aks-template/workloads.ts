import { isDeepStrictEqual } from 'node:util';
import { apiGroupOf, isJsonObject, type KubernetesObject, type Manifest } from './kubernetesObject';

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job';

/** The API group each waited-for kind belongs to: a custom `Deployment` in another group is not one. */
const WORKLOAD_GROUPS: Readonly<Record<WorkloadKind, string>> = {
  Deployment: 'apps',
  StatefulSet: 'apps',
  DaemonSet: 'apps',
  Job: 'batch',
};

export interface Workload {
  readonly kind: WorkloadKind;
  readonly name: string;
  readonly namespace: string;
}

/**
 * The workloads whose rollout the task waits for, each with its manifest, in manifest order and each
 * once: an object that two templates define is applied twice and rolls out once, as the later
 * manifest says (the apply's last word). Expects namespaces already placed (see placeNamespaces),
 * so every one of them has its namespace.
 */
export function workloadManifests(manifests: readonly Manifest[]): WorkloadManifest[] {
  const workloads = new Map<string, WorkloadManifest>();
  for (const { object } of manifests) {
    const kind = workloadKind(object);
    if (kind === undefined) continue;
    const workload = { kind, name: object.metadata.name, namespace: object.metadata.namespace ?? 'default' };
    const key = `${kind} ${workload.namespace}/${workload.name}`;
    workloads.set(key, { workload: workloads.get(key)?.workload ?? workload, manifest: object });
  }
  return [...workloads.values()];
}

export interface WorkloadManifest {
  readonly workload: Workload;
  readonly manifest: KubernetesObject;
}

export function workloadKind(object: KubernetesObject): WorkloadKind | undefined {
  if (!Object.hasOwn(WORKLOAD_GROUPS, object.kind)) return undefined;
  const kind = object.kind as WorkloadKind;
  return WORKLOAD_GROUPS[kind] === apiGroupOf(object.apiVersion) ? kind : undefined;
}

/**
 * What the apply did to one workload, from the object as the cluster returned it before the apply
 * (undefined when it did not exist) and after.
 */
export type WorkloadChange = 'created' | 'changed' | 'unchanged';

/**
 * "Changed by this run" means its pod template changed: only then did the apply start a rollout,
 * and only then is there a previous revision to roll back to. Not `metadata.generation`: a
 * Deployment's generation also moves when only its own annotations change, as they do on every run.
 * Both objects come from the API server, so defaults are filled alike and the comparison is exact.
 */
export function workloadChange(before: unknown, after: unknown): WorkloadChange {
  if (before === undefined) return 'created';
  return isDeepStrictEqual(podTemplateOf(before), podTemplateOf(after)) ? 'unchanged' : 'changed';
}

/** `spec.template`, where every waited-for kind keeps its pod template. */
export function podTemplateOf(object: unknown): unknown {
  if (!isJsonObject(object) || !isJsonObject(object.spec)) return undefined;
  return object.spec.template;
}
