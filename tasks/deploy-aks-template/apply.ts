import { userError } from './messages';
import { FIELD_MANAGER, type Kubectl } from './kubectl';
import type { JsonObject, KubernetesObject } from './kubernetesObject';
import { addressKey, addressOf, lookUp, namespaceAddress, type ObjectAddress } from './lookup';
import { workloadChange, type Workload, type WorkloadChange, type WorkloadManifest } from './workloads';

/** A workload of this run: its manifest, and the object as the cluster had it before and after the apply. */
export interface AppliedWorkload {
  readonly workload: Workload;
  readonly manifest: KubernetesObject;
  readonly before: JsonObject | undefined;
  readonly after: JsonObject | undefined;
  readonly change: WorkloadChange;
}

/** A workload of this run and the object as the cluster has it before the apply (undefined: none yet). */
export interface WorkloadBefore {
  readonly workload: Workload;
  readonly manifest: KubernetesObject;
  readonly before: JsonObject | undefined;
}

/**
 * What the deploy must know before it applies, read in one kubectl process: whether each namespace
 * the run needs and does not define exists, and each workload as it is now. Fails naming the first
 * namespace that does not exist, before anything is applied: kubectl would otherwise fail object by
 * object, after applying some.
 */
export async function readBeforeApply(
  kubectl: Kubectl,
  lookupFile: string,
  mustExist: readonly string[],
  workloads: readonly WorkloadManifest[],
): Promise<WorkloadBefore[]> {
  const found = await lookUp(kubectl, lookupFile, [
    ...mustExist.map(namespaceAddress),
    ...workloads.map(({ manifest }) => workloadAddress(manifest)),
  ]);
  const missing = mustExist.find((namespace) => !found.has(addressKey(namespaceAddress(namespace))));
  if (missing !== undefined) throw userError('NamespaceNotFound', missing);
  return workloads.map((workload) => ({
    ...workload,
    before: found.get(addressKey(workloadAddress(workload.manifest))),
  }));
}

function workloadAddress(manifest: KubernetesObject): ObjectAddress {
  return {
    apiVersion: manifest.apiVersion,
    kind: manifest.kind,
    name: manifest.metadata.name,
    namespace: manifest.metadata.namespace ?? 'default',
  };
}

export interface ApplyRequest {
  readonly file: string;
  readonly workloads: readonly WorkloadBefore[];
  readonly forceConflicts: boolean;
  /** Where the workloads are listed for reading them again after a failed apply. */
  readonly lookupFile: string;
}

export interface ApplyResult {
  /** kubectl's `kind/name serverside-applied` lines. */
  readonly lines: readonly string[];
  readonly workloads: readonly AppliedWorkload[];
  /** Every object as the apply returned it, by addressKey; empty when the apply failed. */
  readonly objects: ReadonlyMap<string, JsonObject>;
  /** Set when kubectl failed part-way: some objects may have been applied, and `workloads` says which changed. */
  readonly error: Error | undefined;
}

/**
 * Server-side apply under our field manager, the workloads as the cluster had them before (see
 * readBeforeApply) compared with the objects the apply returns, so that "changed by this run" is
 * known from the pod templates (see workloadChange). A failed apply is returned, not thrown, with the
 * workloads read again after it: kubectl applies object by object, so it may have changed some
 * before it failed, and a rollback needs to know which.
 */
export async function applyManifests(kubectl: Kubectl, request: ApplyRequest): Promise<ApplyResult> {
  const { workloads } = request;
  let lines: string[] = [];
  let error: Error | undefined;
  let after: Map<string, JsonObject> | undefined;
  try {
    const applied = await kubectl.applyReturningObjects([request.file], {
      serverSide: true,
      fieldManager: FIELD_MANAGER,
      forceConflicts: request.forceConflicts,
    });
    lines = applied.lines;
    after = new Map(
      applied.objects.flatMap((object) => {
        const address = addressOf(object);
        return address === undefined ? [] : [[addressKey(address), object] as const];
      }),
    );
  } catch (applyError: unknown) {
    error = applyError instanceof Error ? applyError : new Error(String(applyError));
  }
  const keys = workloads.map(({ manifest }) => addressKey(workloadAddress(manifest)));
  const returned = after;
  // A failed apply returned nothing, and what kubectl applied before it failed must be read.
  const read =
    returned !== undefined && keys.every((key) => returned.has(key))
      ? returned
      : await lookUp(
          kubectl,
          request.lookupFile,
          workloads.map(({ manifest }) => workloadAddress(manifest)),
        );
  return {
    lines,
    error,
    objects: returned ?? new Map(),
    workloads: workloads.map(({ workload, manifest, before }, index) => {
      const current = read.get(keys[index] ?? '');
      return { workload, manifest, before, after: current, change: workloadChange(before, current) };
    }),
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
