import { userError } from './messages';
import { FIELD_MANAGER, type Kubectl } from './kubectl';
import type { JsonObject, KubernetesObject, Manifest } from './kubernetesObject';
import { workloadChange, workloadKind, type Workload, type WorkloadChange } from './workloads';

/** A workload of this run: its manifest, and the object as the cluster had it before and after the apply. */
export interface AppliedWorkload {
  readonly workload: Workload;
  readonly manifest: KubernetesObject;
  readonly before: JsonObject | undefined;
  readonly after: JsonObject | undefined;
  readonly change: WorkloadChange;
}

/** The workloads of the manifests (namespaces placed), each with its manifest. */
export function workloadManifests(
  manifests: readonly Manifest[],
): { workload: Workload; manifest: KubernetesObject }[] {
  return manifests.flatMap(({ object }) => {
    const kind = workloadKind(object);
    if (kind === undefined) return [];
    const workload = { kind, name: object.metadata.name, namespace: object.metadata.namespace ?? 'default' };
    return [{ workload, manifest: object }];
  });
}

/**
 * Fails naming the first namespace the run needs that is neither in the cluster nor defined by a
 * Namespace manifest of this run: kubectl would otherwise fail object by object, after applying some.
 */
export async function checkNamespacesExist(kubectl: Kubectl, mustExist: readonly string[]): Promise<void> {
  for (const namespace of mustExist) {
    if ((await kubectl.get('Namespace', namespace, undefined)) === undefined)
      throw userError('NamespaceNotFound', namespace);
  }
}

/** Each workload as the cluster has it now; undefined for one that does not exist. */
export function readWorkloads(
  kubectl: Kubectl,
  workloads: readonly { workload: Workload }[],
): Promise<(JsonObject | undefined)[]> {
  return Promise.all(
    workloads.map(({ workload }) => kubectl.get(workload.kind, workload.name, workload.namespace)),
  );
}

export interface ApplyRequest {
  readonly file: string;
  readonly manifests: readonly Manifest[];
  readonly forceConflicts: boolean;
}

export interface ApplyResult {
  /** kubectl's `kind/name serverside-applied` lines. */
  readonly lines: readonly string[];
  readonly workloads: readonly AppliedWorkload[];
  /** Set when kubectl failed part-way: some objects may have been applied, and `workloads` says which changed. */
  readonly error: Error | undefined;
}

/**
 * Server-side apply under our field manager, with every workload read before and after, so that
 * "changed by this run" is known from the pod templates (see workloadChange). A failed apply is
 * returned, not thrown, with the workloads read after it: kubectl applies object by object, so it may
 * have changed some before it failed, and a rollback needs to know which.
 */
export async function applyManifests(kubectl: Kubectl, request: ApplyRequest): Promise<ApplyResult> {
  const workloads = workloadManifests(request.manifests);
  const before = await readWorkloads(kubectl, workloads);
  let lines: string[] = [];
  let error: Error | undefined;
  try {
    lines = await kubectl.apply([request.file], {
      serverSide: true,
      fieldManager: FIELD_MANAGER,
      forceConflicts: request.forceConflicts,
      dryRun: undefined,
    });
  } catch (applyError: unknown) {
    error = applyError instanceof Error ? applyError : new Error(String(applyError));
  }
  const after = await readWorkloads(kubectl, workloads);
  return {
    lines,
    error,
    workloads: workloads.map(({ workload, manifest }, index) => ({
      workload,
      manifest,
      before: before[index],
      after: after[index],
      change: workloadChange(before[index], after[index]),
    })),
  };
}

export interface DryRunResult {
  readonly lines: readonly string[];
  readonly changed: boolean;
  readonly diff: string;
}

/**
 * What a real deploy would hit, changing nothing: a server-side dry run (a field conflict fails with
 * its managers named, as the real apply would), then `kubectl diff` for what would change.
 */
export async function dryRun(kubectl: Kubectl, file: string, forceConflicts: boolean): Promise<DryRunResult> {
  const lines = await kubectl.apply([file], {
    serverSide: true,
    fieldManager: FIELD_MANAGER,
    forceConflicts,
    dryRun: 'server',
  });
  const { changed, diff } = await kubectl.diff([file], { fieldManager: FIELD_MANAGER, forceConflicts });
  return { lines, changed, diff };
}
