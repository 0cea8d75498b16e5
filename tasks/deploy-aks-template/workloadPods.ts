import { isJsonObject, type JsonObject } from './kubernetesObject';
import type { Kubectl } from './kubectl';
import type { Workload } from './workloads';

/**
 * `app=web,tier=front` from a workload's `spec.selector.matchLabels`, or undefined when it has none
 * (a selector of matchExpressions only): its pods are then not watched, and its rollout status alone
 * decides.
 */
export function matchLabelsSelector(workload: unknown): string | undefined {
  if (!isJsonObject(workload) || !isJsonObject(workload.spec) || !isJsonObject(workload.spec.selector))
    return undefined;
  const labels = workload.spec.selector.matchLabels;
  if (!isJsonObject(labels)) return undefined;
  const pairs = Object.entries(labels)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .map(([key, value]) => `${key}=${value}`);
  return pairs.length === 0 ? undefined : pairs.join(',');
}

/**
 * The ReplicaSet of a Deployment's newest revision (`deployment.kubernetes.io/revision`), among those
 * its selector lists; only those the Deployment owns when its uid is known.
 */
export function newestReplicaSet(
  replicaSets: readonly JsonObject[],
  ownerUid: string | undefined,
): JsonObject | undefined {
  let newest: JsonObject | undefined;
  let newestRevision = -1;
  for (const replicaSet of replicaSets) {
    if (ownerUid !== undefined && !ownedBy(replicaSet, ownerUid)) continue;
    const revision = Number(annotationOf(replicaSet, 'deployment.kubernetes.io/revision'));
    if (Number.isFinite(revision) && revision > newestRevision) {
      newest = replicaSet;
      newestRevision = revision;
    }
  }
  return newest;
}

/**
 * The pods of the workload's current revision: for a Deployment those of its newest ReplicaSet (by
 * their `pod-template-hash`), so that an old pod still draining is not taken for the new one; for
 * the other kinds every pod of the selector. Empty when the workload has no label selector. A
 * Deployment's ReplicaSets and pods come in one kubectl process: both carry the selector's labels.
 */
export async function currentPods(
  kubectl: Kubectl,
  workload: Workload,
  applied: JsonObject | undefined,
  signal?: AbortSignal,
): Promise<JsonObject[]> {
  const selector = matchLabelsSelector(applied);
  if (selector === undefined) return [];
  if (workload.kind !== 'Deployment') return kubectl.list(['Pod'], workload.namespace, selector, signal);
  const objects = await kubectl.list(['ReplicaSet', 'Pod'], workload.namespace, selector, signal);
  const replicaSets = objects.filter((object) => object.kind === 'ReplicaSet');
  const pods = objects.filter((object) => object.kind === 'Pod');
  const hash = labelOf(newestReplicaSet(replicaSets, uidOf(applied)), 'pod-template-hash');
  return hash === undefined ? pods : pods.filter((pod) => labelOf(pod, 'pod-template-hash') === hash);
}

export function uidOf(object: unknown): string | undefined {
  const metadata = isJsonObject(object) ? object.metadata : undefined;
  return isJsonObject(metadata) && typeof metadata.uid === 'string' ? metadata.uid : undefined;
}

function ownedBy(object: JsonObject, uid: string): boolean {
  const metadata = object.metadata;
  if (!isJsonObject(metadata) || !Array.isArray(metadata.ownerReferences)) return false;
  return metadata.ownerReferences.some((owner) => isJsonObject(owner) && owner.uid === uid);
}

function annotationOf(object: JsonObject, key: string): string | undefined {
  return stringField(object, 'annotations', key);
}

function labelOf(object: JsonObject | undefined, key: string): string | undefined {
  return object === undefined ? undefined : stringField(object, 'labels', key);
}

function stringField(object: JsonObject, field: 'labels' | 'annotations', key: string): string | undefined {
  const metadata = object.metadata;
  if (!isJsonObject(metadata)) return undefined;
  const map = metadata[field];
  if (!isJsonObject(map)) return undefined;
  const value = map[key];
  return typeof value === 'string' ? value : undefined;
}
