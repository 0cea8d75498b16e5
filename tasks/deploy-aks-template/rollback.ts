import type { AppliedWorkload } from './apply';
import type { KubernetesObject } from './kubernetesObject';
import { podTemplateOf, type Workload } from './workloads';

export interface RollbackPlan {
  /** The workloads this run changed, each with the manifest that puts its previous pod template back. */
  readonly restore: readonly { readonly workload: Workload; readonly manifest: KubernetesObject }[];
  /** Workloads this run created: there is nothing to go back to, so they are left. */
  readonly leftCreated: readonly Workload[];
}

/**
 * Undo exactly what this run changed. Not `kubectl rollout undo`: that makes kubectl the manager of
 * the image field, and the next deploy under our field manager would then hit a conflict. Instead the
 * manifest this run applied is applied again with the pod template the workload had before, under
 * the same field manager: every other field keeps its owner and value, the template's fields become
 * ours again with their previous values, and fields this run added to the template are dropped.
 */
export function planRollback(workloads: readonly AppliedWorkload[]): RollbackPlan {
  const restore: { workload: Workload; manifest: KubernetesObject }[] = [];
  const leftCreated: Workload[] = [];
  for (const applied of workloads) {
    if (applied.change === 'created') leftCreated.push(applied.workload);
    if (applied.change !== 'changed') continue;
    const template = podTemplateOf(applied.before);
    const spec = applied.manifest.spec;
    restore.push({
      workload: applied.workload,
      manifest: { ...applied.manifest, spec: { ...(typeof spec === 'object' ? spec : {}), template } },
    });
  }
  return { restore, leftCreated };
}
