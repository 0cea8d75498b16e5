import {
  deepClone,
  deepEqual,
  isJsonObject,
  ownerReferenceTo,
  type KubeObject,
  type JsonRecord,
} from './objects';
import {
  CONTROLLER_REVISION,
  DAEMON_SET,
  isReady,
  labelsOfPod,
  numberOr,
  podTemplateHash,
  POD,
  randomSuffix,
  STATEFUL_SET,
  type ControllerContext,
} from './controllerContext';

// StatefulSets and DaemonSets: both keep their template history in ControllerRevisions, which
// `kubectl rollout history|undo` read for them.

/** The ControllerRevision of `owner`'s current template, created or promoted to the newest revision. */
export function ensureRevision(
  ctx: ControllerContext,
  owner: KubeObject,
  hash: string,
  name: string,
): KubeObject {
  const revisions = ctx.ownedBy(CONTROLLER_REVISION, owner);
  const maxRevision = Math.max(0, ...revisions.map((r) => numberOr(r.revision, 0)));
  const existing = revisions.find((r) => r.metadata.name === name);
  if (existing !== undefined) {
    if (numberOr(existing.revision, 0) < maxRevision)
      return ctx.writeMain(CONTROLLER_REVISION, { ...existing, revision: maxRevision + 1 });
    return existing;
  }
  const selectorLabels =
    isJsonObject(owner.spec?.selector) && isJsonObject(owner.spec.selector.matchLabels)
      ? (owner.spec.selector.matchLabels as Record<string, string>)
      : {};
  const template = deepClone(isJsonObject(owner.spec?.template) ? owner.spec.template : {});
  const created = ctx.store.create(CONTROLLER_REVISION, {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name,
      namespace: owner.metadata.namespace,
      labels: { ...selectorLabels, 'controller.kubernetes.io/hash': hash },
      ownerReferences: [ownerReferenceTo(owner)],
    },
    // The shape kubectl rollout undo applies as a strategic merge patch.
    data: { spec: { template: { ...template, $patch: 'replace' } } },
    revision: maxRevision + 1,
  });
  const limit = numberOr(owner.spec?.revisionHistoryLimit, 10);
  const old = revisions.sort((a, b) => numberOr(a.revision, 0) - numberOr(b.revision, 0));
  for (const revision of old.slice(0, Math.max(0, old.length + 1 - (limit + 1)))) {
    ctx.store.delete(CONTROLLER_REVISION, revision.metadata.namespace, revision.metadata.name ?? '');
  }
  return created;
}

/**
 * OrderedReady (or Parallel) pods `<name>-<ordinal>`; a rolling update replaces the highest
 * outdated ordinal once all pods are ready; currentRevision catches up when the update is done.
 */
export function reconcileStatefulSet(ctx: ControllerContext, statefulSet: KubeObject): void {
  const spec = statefulSet.spec ?? {};
  const name = statefulSet.metadata.name ?? '';
  const desired = numberOr(spec.replicas, 1);
  const template = isJsonObject(spec.template) ? spec.template : {};
  const hash = podTemplateHash(template);
  const updateRevision = `${name}-${hash}`;
  ensureRevision(ctx, statefulSet, hash, updateRevision);
  const parallel = spec.podManagementPolicy === 'Parallel';
  const strategy = isJsonObject(spec.updateStrategy) ? spec.updateStrategy : {};
  const partition = isJsonObject(strategy.rollingUpdate) ? numberOr(strategy.rollingUpdate.partition, 0) : 0;
  const previous = statefulSet.status ?? {};
  const currentRevision =
    typeof previous.currentRevision === 'string' && previous.currentRevision !== ''
      ? previous.currentRevision
      : updateRevision;
  const byOrdinal = new Map<number, KubeObject>();
  for (const pod of ctx.ownedBy(POD, statefulSet)) {
    const ordinal = Number(/-(\d+)$/.exec(pod.metadata.name ?? '')?.[1] ?? -1);
    byOrdinal.set(ordinal, pod);
  }
  // Scale down from the highest ordinal.
  for (const [ordinal, pod] of [...byOrdinal.entries()].sort((a, b) => b[0] - a[0])) {
    if (ordinal < desired) continue;
    ctx.deletePod(statefulSet, pod);
    byOrdinal.delete(ordinal);
    if (!parallel) break;
  }
  // Create missing ordinals; OrderedReady waits for each predecessor to be ready.
  for (let ordinal = 0; ordinal < desired; ordinal++) {
    const existing = byOrdinal.get(ordinal);
    if (existing !== undefined) {
      if (!parallel && !isReady(existing)) break;
      continue;
    }
    const revision = ordinal < partition ? currentRevision : updateRevision;
    const revisionTemplate =
      revision === updateRevision ? template : (templateOfRevision(ctx, statefulSet, revision) ?? template);
    const pod = ctx.createPod(statefulSet, revisionTemplate, `${name}-${ordinal}`, {
      'controller-revision-hash': revision,
      'statefulset.kubernetes.io/pod-name': `${name}-${ordinal}`,
      'apps.kubernetes.io/pod-index': String(ordinal),
    });
    byOrdinal.set(ordinal, pod);
    if (!parallel) break;
  }
  // Rolling update: replace the highest outdated ordinal once every pod is ready.
  const pods = [...byOrdinal.values()];
  const allReady = pods.length === desired && pods.every(isReady);
  if (allReady && strategy.type !== 'OnDelete') {
    const outdated = [...byOrdinal.entries()]
      .filter(
        ([ordinal, pod]) =>
          ordinal >= partition && labelsOfPod(pod)['controller-revision-hash'] !== updateRevision,
      )
      .sort((a, b) => b[0] - a[0])[0];
    if (outdated !== undefined) {
      ctx.deletePod(statefulSet, outdated[1]);
      byOrdinal.delete(outdated[0]);
      ctx.enqueue(STATEFUL_SET, statefulSet);
    }
  }
  const current = [...byOrdinal.values()];
  const updated = current.filter((p) => labelsOfPod(p)['controller-revision-hash'] === updateRevision).length;
  const ready = current.filter(isReady).length;
  const rolledOut = updated === desired && ready === desired && current.length === desired;
  const status: JsonRecord = {
    observedGeneration: statefulSet.metadata.generation ?? 1,
    replicas: current.length,
    readyReplicas: ready,
    currentReplicas: rolledOut
      ? updated
      : current.filter((p) => labelsOfPod(p)['controller-revision-hash'] === currentRevision).length,
    updatedReplicas: updated,
    currentRevision: rolledOut ? updateRevision : currentRevision,
    updateRevision,
    collisionCount: 0,
    availableReplicas: ready,
  };
  if (!deepEqual(previous, status)) ctx.writeStatus(STATEFUL_SET, statefulSet, status);
}

export function templateOfRevision(
  ctx: ControllerContext,
  owner: KubeObject,
  revisionName: string,
): JsonRecord | undefined {
  const revision = ctx.store.get(CONTROLLER_REVISION, owner.metadata.namespace, revisionName);
  const data =
    isJsonObject(revision?.data) && isJsonObject(revision.data.spec)
      ? revision.data.spec.template
      : undefined;
  if (!isJsonObject(data)) return undefined;
  const template = { ...data };
  delete template.$patch;
  return template;
}

/** One pod per node; a rolling update replaces one outdated pod at a time (maxUnavailable 1). */
export function reconcileDaemonSet(ctx: ControllerContext, daemonSet: KubeObject): void {
  const spec = daemonSet.spec ?? {};
  const template = isJsonObject(spec.template) ? spec.template : {};
  const hash = podTemplateHash(template);
  ensureRevision(ctx, daemonSet, hash, `${daemonSet.metadata.name ?? ''}-${hash}`);
  const nodes = ctx.nodes().map((n) => n.metadata.name ?? '');
  const pods = ctx.ownedBy(POD, daemonSet);
  const generation = String(daemonSet.metadata.generation ?? 1);
  for (const node of nodes) {
    if (pods.some((p) => p.spec?.nodeName === node)) continue;
    pods.push(
      ctx.createPod(
        daemonSet,
        template,
        `${daemonSet.metadata.name ?? ''}-${randomSuffix()}`,
        { 'controller-revision-hash': hash, 'pod-template-generation': generation },
        node,
      ),
    );
  }
  // RollingUpdate with maxUnavailable 1: replace one outdated pod at a time, when the rest are ready.
  const outdated = pods.filter((p) => labelsOfPod(p)['controller-revision-hash'] !== hash);
  const updateStrategy = isJsonObject(spec.updateStrategy) ? spec.updateStrategy : {};
  if (
    outdated.length > 0 &&
    updateStrategy.type !== 'OnDelete' &&
    pods.filter((p) => !isReady(p)).length === 0
  ) {
    const victim = outdated[0];
    if (victim !== undefined) {
      ctx.deletePod(daemonSet, victim);
      pods.splice(pods.indexOf(victim), 1);
      ctx.enqueue(DAEMON_SET, daemonSet);
    }
  }
  const ready = pods.filter(isReady).length;
  const status: JsonRecord = {
    currentNumberScheduled: pods.length,
    numberMisscheduled: 0,
    desiredNumberScheduled: nodes.length,
    numberReady: ready,
    observedGeneration: daemonSet.metadata.generation ?? 1,
    updatedNumberScheduled: pods.filter((p) => labelsOfPod(p)['controller-revision-hash'] === hash).length,
    numberAvailable: ready,
    numberUnavailable: Math.max(0, nodes.length - ready),
  };
  if (!deepEqual(daemonSet.status, status)) ctx.writeStatus(DAEMON_SET, daemonSet, status);
}
