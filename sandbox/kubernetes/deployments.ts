import {
  annotationsOf,
  deepClone,
  deepEqual,
  isJsonObject,
  nowIso,
  ownerReferenceTo,
  textOf,
  type KubeObject,
  type JsonRecord,
} from './objects';
import {
  asList,
  compareCreation,
  DEPLOYMENT,
  isReady,
  isTerminal,
  keyOf,
  numberOr,
  podTemplateHash,
  POD,
  randomSuffix,
  REPLICA_SET,
  setCondition,
  type ControllerContext,
} from './controllerContext';

const REVISION = 'deployment.kubernetes.io/revision';
const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
/** Deployment annotations the controller does not copy to ReplicaSets (kubectl's rollback skips the same). */
const NOT_COPIED = new Set([
  LAST_APPLIED,
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  'deprecated.deployment.rollback.to',
]);

/** The replica set controller: keeps `spec.replicas` live pods and reports their readiness. */
export function reconcileReplicaSet(ctx: ControllerContext, replicaSet: KubeObject): void {
  const desired = numberOr(replicaSet.spec?.replicas, 1);
  let pods = ctx.ownedBy(POD, replicaSet).filter((p) => !isTerminal(p));
  const template = isJsonObject(replicaSet.spec?.template) ? replicaSet.spec.template : {};
  while (pods.length < desired) {
    pods.push(ctx.createPod(replicaSet, template, `${replicaSet.metadata.name ?? ''}-${randomSuffix()}`, {}));
  }
  if (pods.length > desired) {
    // Remove the least useful first: not ready, then the youngest.
    const ranked = [...pods].sort((a, b) => Number(isReady(a)) - Number(isReady(b)) || compareCreation(b, a));
    for (const pod of ranked.slice(0, pods.length - desired)) ctx.deletePod(replicaSet, pod);
    pods = ctx.ownedBy(POD, replicaSet).filter((p) => !isTerminal(p));
  }
  const ready = pods.filter(isReady).length;
  const status: JsonRecord = {
    replicas: pods.length,
    fullyLabeledReplicas: pods.length,
    readyReplicas: ready,
    availableReplicas: ready,
    observedGeneration: replicaSet.metadata.generation ?? 1,
  };
  if (!deepEqual(replicaSet.status, status)) ctx.writeStatus(REPLICA_SET, replicaSet, status);
}

/**
 * The deployment controller: finds or creates the ReplicaSet of the current template (numbering
 * revisions as kubectl rollout history/undo expect), scales old ones down once the new one is
 * available, prunes history, and derives status and the Available/Progressing conditions,
 * including ProgressDeadlineExceeded.
 */
export function reconcileDeployment(ctx: ControllerContext, deployment: KubeObject): void {
  const spec = deployment.spec ?? {};
  const desired = numberOr(spec.replicas, 1);
  const template = isJsonObject(spec.template) ? spec.template : {};
  const uid = deployment.metadata.uid ?? '';
  const now = Date.now();
  let replicaSets = ctx.ownedBy(REPLICA_SET, deployment);
  let progressed = false;
  let createdNew = false;
  const maxRevision = Math.max(0, ...replicaSets.map(revisionOf));
  let newReplicaSet = replicaSets.find((rs) => templatesMatch(rs.spec?.template, template));
  const paused = spec.paused === true;
  if (!paused) {
    const annotations = copiedAnnotations(deployment);
    if (newReplicaSet === undefined) {
      const hash = podTemplateHash(template);
      const templateMetadata = isJsonObject(template.metadata) ? template.metadata : {};
      const templateLabels = isJsonObject(templateMetadata.labels)
        ? (templateMetadata.labels as Record<string, string>)
        : {};
      const selector = isJsonObject(spec.selector) ? deepClone(spec.selector) : {};
      selector.matchLabels = {
        ...(isJsonObject(selector.matchLabels) ? selector.matchLabels : {}),
        'pod-template-hash': hash,
      };
      const rsTemplate = deepClone(template);
      rsTemplate.metadata = {
        ...templateMetadata,
        labels: { ...templateLabels, 'pod-template-hash': hash },
      };
      newReplicaSet = ctx.store.create(REPLICA_SET, {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${deployment.metadata.name ?? ''}-${hash}`,
          namespace: deployment.metadata.namespace,
          labels: { ...templateLabels, 'pod-template-hash': hash },
          annotations: {
            ...annotations,
            [REVISION]: String(maxRevision + 1),
            [DESIRED_REPLICAS]: String(desired),
            [MAX_REPLICAS]: String(desired + maxSurge(deployment, desired)),
          },
          ownerReferences: [ownerReferenceTo(deployment)],
        },
        spec: {
          replicas: desired,
          minReadySeconds: spec.minReadySeconds ?? 0,
          selector,
          template: rsTemplate,
        },
      });
      createdNew = true;
      progressed = true;
      ctx.recordEvent(deployment, {
        type: 'Normal',
        reason: 'ScalingReplicaSet',
        message: `Scaled up replica set ${newReplicaSet.metadata.name ?? ''} from 0 to ${desired}`,
        count: 1,
        key: `scale/${newReplicaSet.metadata.name ?? ''}/${desired}`,
      });
    } else {
      const rsAnnotations = { ...annotationsOf(newReplicaSet), ...annotations };
      const revision = revisionOf(newReplicaSet);
      if (revision < maxRevision) {
        // Rolling back to an old template: its ReplicaSet becomes the newest revision again.
        rsAnnotations[REVISION] = String(maxRevision + 1);
        rsAnnotations[REVISION_HISTORY] = [annotationsOf(newReplicaSet)[REVISION_HISTORY], String(revision)]
          .filter((x) => x !== undefined && x !== '')
          .join(',');
        progressed = true;
      }
      rsAnnotations[DESIRED_REPLICAS] = String(desired);
      rsAnnotations[MAX_REPLICAS] = String(desired + maxSurge(deployment, desired));
      const previousReplicas = numberOr(newReplicaSet.spec?.replicas, 0);
      if (previousReplicas !== desired || !deepEqual(rsAnnotations, annotationsOf(newReplicaSet))) {
        newReplicaSet = ctx.writeMain(REPLICA_SET, {
          ...newReplicaSet,
          metadata: { ...newReplicaSet.metadata, annotations: rsAnnotations },
          spec: { ...newReplicaSet.spec, replicas: desired },
        });
        if (previousReplicas !== desired) {
          progressed = true;
          ctx.recordEvent(deployment, {
            type: 'Normal',
            reason: 'ScalingReplicaSet',
            message: `Scaled ${desired > previousReplicas ? 'up' : 'down'} replica set ${newReplicaSet.metadata.name ?? ''} from ${previousReplicas} to ${desired}`,
            count: 1,
            key: `scale/${newReplicaSet.metadata.name ?? ''}/${desired}/${nowIso()}`,
          });
        }
      }
    }
    // Old ReplicaSets scale down once the new one is fully available (Recreate: at once).
    const newAvailable = numberOr(newReplicaSet.status?.availableReplicas, 0);
    const recreate = isJsonObject(spec.strategy) && spec.strategy.type === 'Recreate';
    for (const old of replicaSets) {
      if (old.metadata.uid === newReplicaSet.metadata.uid) continue;
      const oldReplicas = numberOr(old.spec?.replicas, 0);
      if (oldReplicas > 0 && (recreate || newAvailable >= desired)) {
        ctx.writeMain(REPLICA_SET, { ...old, spec: { ...old.spec, replicas: 0 } });
        progressed = true;
        ctx.recordEvent(deployment, {
          type: 'Normal',
          reason: 'ScalingReplicaSet',
          message: `Scaled down replica set ${old.metadata.name ?? ''} from ${oldReplicas} to 0`,
          count: 1,
          key: `scale/${old.metadata.name ?? ''}/0/${nowIso()}`,
        });
      }
    }
    // revisionHistoryLimit: drop the oldest idle ReplicaSets.
    const limit = numberOr(spec.revisionHistoryLimit, 10);
    const idle = ctx
      .ownedBy(REPLICA_SET, deployment)
      .filter(
        (rs) =>
          rs.metadata.uid !== newReplicaSet?.metadata.uid &&
          numberOr(rs.spec?.replicas, 0) === 0 &&
          numberOr(rs.status?.replicas, 0) === 0,
      )
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit)))
      ctx.store.delete(REPLICA_SET, rs.metadata.namespace, rs.metadata.name ?? '');
    replicaSets = ctx.ownedBy(REPLICA_SET, deployment);
    newReplicaSet =
      replicaSets.find((rs) => rs.metadata.uid === newReplicaSet?.metadata.uid) ?? newReplicaSet;
    const revision = annotationsOf(newReplicaSet)[REVISION];
    if (revision !== undefined && annotationsOf(deployment)[REVISION] !== revision) {
      deployment = ctx.writeMain(DEPLOYMENT, {
        ...deployment,
        metadata: {
          ...deployment.metadata,
          annotations: { ...annotationsOf(deployment), [REVISION]: revision },
        },
      });
    }
  }

  const sum = (field: string): number =>
    replicaSets.reduce((total, rs) => total + numberOr(rs.status?.[field], 0), 0);
  const previous = deployment.status ?? {};
  const updated = newReplicaSet === undefined ? 0 : numberOr(newReplicaSet.status?.replicas, 0);
  const status: JsonRecord = {
    observedGeneration: deployment.metadata.generation ?? 1,
    replicas: sum('replicas'),
    updatedReplicas: updated,
    readyReplicas: sum('readyReplicas'),
    availableReplicas: sum('availableReplicas'),
    unavailableReplicas: Math.max(0, desired - sum('availableReplicas')),
  };
  const grew = (field: string): boolean => numberOr(status[field], 0) > numberOr(previous[field], 0);
  if (
    grew('updatedReplicas') ||
    grew('availableReplicas') ||
    grew('readyReplicas') ||
    previous.observedGeneration !== status.observedGeneration
  )
    progressed = true;

  const conditions = asList(previous.conditions);
  const nowText = nowIso();
  const newName = newReplicaSet?.metadata.name ?? '';
  const available = numberOr(status.availableReplicas, 0) >= desired - maxUnavailable(deployment, desired);
  setCondition(
    conditions,
    {
      type: 'Available',
      status: available ? 'True' : 'False',
      reason: available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
      message: available
        ? 'Deployment has minimum availability.'
        : 'Deployment does not have minimum availability.',
    },
    nowText,
  );
  const complete =
    newReplicaSet !== undefined &&
    updated === desired &&
    status.replicas === updated &&
    numberOr(status.availableReplicas, 0) >= updated;
  const progressing = conditions.find((c) => c.type === 'Progressing');
  const deadlineMs = numberOr(spec.progressDeadlineSeconds, 600) * 1000;
  if (paused) {
    setCondition(
      conditions,
      {
        type: 'Progressing',
        status: 'Unknown',
        reason: 'DeploymentPaused',
        message: 'Deployment is paused',
      },
      nowText,
    );
  } else if (complete) {
    setCondition(
      conditions,
      {
        type: 'Progressing',
        status: 'True',
        reason: 'NewReplicaSetAvailable',
        message: `ReplicaSet "${newName}" has successfully progressed.`,
      },
      nowText,
    );
    ctx.lastProgressAt.delete(uid);
  } else if (
    progressed ||
    progressing === undefined ||
    progressing.reason === 'NewReplicaSetAvailable' ||
    progressing.reason === 'DeploymentPaused'
  ) {
    ctx.lastProgressAt.set(uid, now);
    setCondition(
      conditions,
      createdNew
        ? {
            type: 'Progressing',
            status: 'True',
            reason: 'NewReplicaSetCreated',
            message: `Created new replica set "${newName}"`,
          }
        : {
            type: 'Progressing',
            status: 'True',
            reason: 'ReplicaSetUpdated',
            message: `ReplicaSet "${newName}" is progressing.`,
          },
      nowText,
      true,
    );
    ctx.wakeAt(keyOf(DEPLOYMENT, deployment), now + deadlineMs);
  } else if (progressing.reason !== 'ProgressDeadlineExceeded') {
    const since = ctx.lastProgressAt.get(uid) ?? Date.parse(textOf(progressing.lastUpdateTime, nowText));
    if (now >= since + deadlineMs) {
      setCondition(
        conditions,
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: `ReplicaSet "${newName}" has timed out progressing.`,
        },
        nowText,
      );
    } else {
      ctx.wakeAt(keyOf(DEPLOYMENT, deployment), since + deadlineMs);
    }
  }
  status.conditions = conditions;
  if (!deepEqual(previous, status)) ctx.writeStatus(DEPLOYMENT, deployment, status);
}

function revisionOf(replicaSet: KubeObject | undefined): number {
  return Number(annotationsOf(replicaSet ?? { apiVersion: '', kind: '', metadata: {} })[REVISION] ?? 0) || 0;
}

function copiedAnnotations(deployment: KubeObject): Record<string, string> {
  return Object.fromEntries(Object.entries(annotationsOf(deployment)).filter(([k]) => !NOT_COPIED.has(k)));
}

/** A ReplicaSet's template equals the Deployment's when they differ only in the pod-template-hash label. */
function templatesMatch(replicaSetTemplate: unknown, deploymentTemplate: JsonRecord): boolean {
  if (!isJsonObject(replicaSetTemplate)) return false;
  const withoutHash = deepClone(replicaSetTemplate);
  const metadata = isJsonObject(withoutHash.metadata) ? withoutHash.metadata : {};
  if (isJsonObject(metadata.labels)) {
    delete metadata.labels['pod-template-hash'];
    if (
      Object.keys(metadata.labels).length === 0 &&
      !isJsonObject(
        isJsonObject(deploymentTemplate.metadata) ? deploymentTemplate.metadata.labels : undefined,
      )
    )
      delete metadata.labels;
  }
  return deepEqual(withoutHash, deploymentTemplate);
}

/** Resolves an int-or-percent (`25%`) against `total`, rounding up for surge and down for unavailability. */
function intOrPercent(value: unknown, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+)%$/.exec(textOf(value));
  if (match === null) return Number(value) || 0;
  const exact = (Number(match[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

function rollingUpdateOf(deployment: KubeObject): JsonRecord {
  const strategy = isJsonObject(deployment.spec?.strategy) ? deployment.spec.strategy : {};
  return isJsonObject(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
}

function maxSurge(deployment: KubeObject, desired: number): number {
  return intOrPercent(rollingUpdateOf(deployment).maxSurge ?? '25%', desired, true);
}

function maxUnavailable(deployment: KubeObject, desired: number): number {
  const strategy = isJsonObject(deployment.spec?.strategy) ? deployment.spec.strategy : {};
  if (strategy.type === 'Recreate') return 0;
  return intOrPercent(rollingUpdateOf(deployment).maxUnavailable ?? '25%', desired, false);
}
