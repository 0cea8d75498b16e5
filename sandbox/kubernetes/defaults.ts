import { ApiError, deepEqual, isJsonObject, textOf, type KubeObject, type JsonRecord } from './objects';
import type { ResourceType } from './resources';
import { labelSelectorFromSpec } from './selectors';

/** Cluster-wide allocations defaulting needs (Service IPs and node ports). */
export interface Allocator {
  clusterIp(): string;
  nodePort(): number;
}

function dict(parent: JsonRecord, key: string): JsonRecord {
  const value = parent[key];
  if (isJsonObject(value)) return value;
  const created: JsonRecord = {};
  parent[key] = created;
  return created;
}

function setDefault(target: JsonRecord, key: string, value: unknown): void {
  if (target[key] === undefined || target[key] === null) target[key] = value;
}

function list(parent: JsonRecord, key: string): JsonRecord[] {
  const value = parent[key];
  return Array.isArray(value) ? value.filter(isJsonObject) : [];
}

/**
 * The defaults a real API server fills in on every write, for the fields clients and controllers
 * read: replicas, strategies, progressDeadlineSeconds, Service IPs/ports, Secret stringData.
 * Rollout status checks (`updateStrategy.type == RollingUpdate`) fail without them.
 */
export function applyDefaults(
  resourceType: ResourceType,
  object: KubeObject,
  existing: KubeObject | undefined,
  allocator: Allocator,
): void {
  const spec = (): JsonRecord => dict(object, 'spec');
  switch (resourceType.kind) {
    case 'Namespace':
      object.metadata.labels = {
        ...object.metadata.labels,
        'kubernetes.io/metadata.name': object.metadata.name ?? '',
      };
      setDefault(spec(), 'finalizers', ['kubernetes']);
      object.status = { phase: 'Active' };
      break;
    case 'Pod':
      defaultPodSpec(spec(), 'Always');
      break;
    case 'Deployment': {
      const s = spec();
      setDefault(s, 'replicas', 1);
      setDefault(s, 'revisionHistoryLimit', 10);
      setDefault(s, 'progressDeadlineSeconds', 600);
      const strategy = dict(s, 'strategy');
      setDefault(strategy, 'type', 'RollingUpdate');
      if (strategy.type === 'RollingUpdate') {
        const rolling = dict(strategy, 'rollingUpdate');
        setDefault(rolling, 'maxSurge', '25%');
        setDefault(rolling, 'maxUnavailable', '25%');
      }
      defaultTemplate(s, 'Always');
      break;
    }
    case 'StatefulSet': {
      const s = spec();
      setDefault(s, 'replicas', 1);
      setDefault(s, 'podManagementPolicy', 'OrderedReady');
      setDefault(s, 'revisionHistoryLimit', 10);
      const strategy = dict(s, 'updateStrategy');
      setDefault(strategy, 'type', 'RollingUpdate');
      if (strategy.type === 'RollingUpdate') setDefault(dict(strategy, 'rollingUpdate'), 'partition', 0);
      setDefault(s, 'persistentVolumeClaimRetentionPolicy', { whenDeleted: 'Retain', whenScaled: 'Retain' });
      defaultTemplate(s, 'Always');
      break;
    }
    case 'DaemonSet': {
      const s = spec();
      setDefault(s, 'revisionHistoryLimit', 10);
      const strategy = dict(s, 'updateStrategy');
      setDefault(strategy, 'type', 'RollingUpdate');
      if (strategy.type === 'RollingUpdate') {
        const rolling = dict(strategy, 'rollingUpdate');
        setDefault(rolling, 'maxUnavailable', 1);
        setDefault(rolling, 'maxSurge', 0);
      }
      defaultTemplate(s, 'Always');
      break;
    }
    case 'ReplicaSet':
      setDefault(spec(), 'replicas', 1);
      defaultTemplate(spec(), 'Always');
      break;
    case 'Job': {
      const s = spec();
      setDefault(s, 'parallelism', 1);
      setDefault(s, 'completions', 1);
      setDefault(s, 'backoffLimit', 6);
      setDefault(s, 'completionMode', 'NonIndexed');
      setDefault(s, 'suspend', false);
      setDefault(s, 'podReplacementPolicy', 'TerminatingOrFailed');
      if (s.manualSelector !== true) {
        // The server generates the selector from the Job's uid (already assigned by the caller).
        const uid = existing?.metadata.uid ?? object.metadata.uid ?? '';
        const jobName = object.metadata.name ?? '';
        const ownLabels = {
          'batch.kubernetes.io/controller-uid': uid,
          'batch.kubernetes.io/job-name': jobName,
          'controller-uid': uid,
          'job-name': jobName,
        };
        if (!isJsonObject(s.selector))
          s.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
        const templateMetadata = dict(dict(s, 'template'), 'metadata');
        templateMetadata.labels = {
          ...(isJsonObject(templateMetadata.labels) ? templateMetadata.labels : {}),
          ...ownLabels,
        };
      }
      defaultTemplate(s, undefined);
      break;
    }
    case 'CronJob': {
      const s = spec();
      setDefault(s, 'suspend', false);
      setDefault(s, 'concurrencyPolicy', 'Allow');
      setDefault(s, 'successfulJobsHistoryLimit', 3);
      setDefault(s, 'failedJobsHistoryLimit', 1);
      break;
    }
    case 'Service':
      defaultService(spec(), existing, allocator);
      if (existing === undefined) object.status = { loadBalancer: {} };
      break;
    case 'Secret': {
      setDefault(object, 'type', 'Opaque');
      // The server folds stringData into data and never stores stringData.
      const stringData = (object as JsonRecord).stringData;
      if (isJsonObject(stringData)) {
        const data = dict(object, 'data');
        for (const [key, value] of Object.entries(stringData))
          data[key] = Buffer.from(textOf(value), 'utf8').toString('base64');
      }
      delete (object as JsonRecord).stringData;
      break;
    }
    case 'Ingress':
      if (existing === undefined) object.status = { loadBalancer: {} };
      break;
  }
}

function defaultTemplate(spec: JsonRecord, restartPolicy: string | undefined): void {
  const template = dict(spec, 'template');
  defaultPodSpec(dict(template, 'spec'), restartPolicy);
}

function defaultPodSpec(podSpec: JsonRecord, restartPolicy: string | undefined): void {
  if (restartPolicy !== undefined) setDefault(podSpec, 'restartPolicy', restartPolicy);
  setDefault(podSpec, 'dnsPolicy', 'ClusterFirst');
  setDefault(podSpec, 'schedulerName', 'default-scheduler');
  setDefault(podSpec, 'terminationGracePeriodSeconds', 30);
  setDefault(podSpec, 'securityContext', {});
  for (const container of [...list(podSpec, 'containers'), ...list(podSpec, 'initContainers')]) {
    const image = typeof container.image === 'string' ? container.image : '';
    const tag = /@sha256:/.test(image) ? 'digest' : (/:([^/:]+)$/.exec(image)?.[1] ?? 'latest');
    setDefault(container, 'imagePullPolicy', tag === 'latest' ? 'Always' : 'IfNotPresent');
    setDefault(container, 'terminationMessagePath', '/dev/termination-log');
    setDefault(container, 'terminationMessagePolicy', 'File');
    setDefault(container, 'resources', {});
    for (const port of list(container, 'ports')) setDefault(port, 'protocol', 'TCP');
  }
}

function defaultService(spec: JsonRecord, existing: KubeObject | undefined, allocator: Allocator): void {
  setDefault(spec, 'type', 'ClusterIP');
  setDefault(spec, 'sessionAffinity', 'None');
  if (spec.type === 'ExternalName') return;
  const previous = isJsonObject(existing?.spec) ? existing.spec : {};
  // clusterIP is immutable: an update that omits it keeps the allocated one.
  setDefault(spec, 'clusterIP', previous.clusterIP ?? allocator.clusterIp());
  setDefault(spec, 'clusterIPs', spec.clusterIP === 'None' ? ['None'] : [spec.clusterIP]);
  setDefault(spec, 'ipFamilies', ['IPv4']);
  setDefault(spec, 'ipFamilyPolicy', 'SingleStack');
  setDefault(spec, 'internalTrafficPolicy', 'Cluster');
  const external = spec.type === 'LoadBalancer' || spec.type === 'NodePort';
  if (external) setDefault(spec, 'externalTrafficPolicy', 'Cluster');
  if (spec.type === 'LoadBalancer') setDefault(spec, 'allocateLoadBalancerNodePorts', true);
  const previousPorts = list(previous, 'ports');
  for (const port of list(spec, 'ports')) {
    setDefault(port, 'protocol', 'TCP');
    setDefault(port, 'targetPort', port.port);
    if (external) {
      const kept = previousPorts.find((p) => p.port === port.port)?.nodePort;
      setDefault(port, 'nodePort', kept ?? allocator.nodePort());
    }
  }
}

const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The validation errors kubectl users meet most often; everything else is accepted. */
export function validate(
  resourceType: ResourceType,
  object: KubeObject,
  existing: KubeObject | undefined,
): void {
  const name = object.metadata.name ?? '';
  const causes: { field: string; message: string; reason?: string }[] = [];
  if (name.length > 253 || !NAME_PATTERN.test(name)) {
    causes.push({
      field: 'metadata.name',
      message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
    });
  }
  const spec = isJsonObject(object.spec) ? object.spec : {};
  const template = isJsonObject(spec.template) ? spec.template : undefined;
  const workload = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(resourceType.kind);
  if (workload || resourceType.kind === 'Job') {
    const templateMetadata = isJsonObject(template?.metadata) ? template.metadata : {};
    const templateLabels = (isJsonObject(templateMetadata.labels) ? templateMetadata.labels : {}) as Record<
      string,
      string
    >;
    if (workload && !isJsonObject(spec.selector)) {
      causes.push({ field: 'spec.selector', message: 'Required value', reason: 'FieldValueRequired' });
    } else if (!labelSelectorFromSpec(spec.selector)(templateLabels)) {
      causes.push({
        field: 'spec.template.metadata.labels',
        message: `Invalid value: ${JSON.stringify(templateLabels)}: \`selector\` does not match template \`labels\``,
      });
    }
    validatePodSpec(isJsonObject(template?.spec) ? template.spec : {}, 'spec.template.spec', causes);
    if (resourceType.kind === 'Job') {
      const restartPolicy = isJsonObject(template?.spec) ? template.spec.restartPolicy : undefined;
      if (restartPolicy !== 'Never' && restartPolicy !== 'OnFailure') {
        causes.push({
          field: 'spec.template.spec.restartPolicy',
          message: `Unsupported value: "${textOf(restartPolicy)}": supported values: "OnFailure", "Never"`,
          reason: 'FieldValueNotSupported',
        });
      }
    }
    if (existing !== undefined && workload && !deepEqual(existing.spec?.selector, spec.selector)) {
      causes.push({
        field: 'spec.selector',
        message: `Invalid value: ${JSON.stringify(spec.selector)}: field is immutable`,
      });
    }
    if (
      existing !== undefined &&
      resourceType.kind === 'Job' &&
      !deepEqual(existing.spec?.template, spec.template)
    ) {
      causes.push({ field: 'spec.template', message: 'Invalid value: field is immutable' });
    }
  }
  if (resourceType.kind === 'Pod') validatePodSpec(spec, 'spec', causes);
  if (
    resourceType.kind === 'Service' &&
    spec.type !== 'ExternalName' &&
    list(spec, 'ports').length === 0 &&
    spec.clusterIP !== 'None'
  ) {
    causes.push({ field: 'spec.ports', message: 'Required value', reason: 'FieldValueRequired' });
  }
  if (causes.length > 0) throw ApiError.invalid(resourceType.kind, name, resourceType.group, causes);
}

function validatePodSpec(
  podSpec: JsonRecord,
  path: string,
  causes: { field: string; message: string; reason?: string }[],
): void {
  const containers = list(podSpec, 'containers');
  if (containers.length === 0)
    causes.push({ field: `${path}.containers`, message: 'Required value', reason: 'FieldValueRequired' });
  containers.forEach((container, index) => {
    if (typeof container.name !== 'string' || container.name === '') {
      causes.push({
        field: `${path}.containers[${index}].name`,
        message: 'Required value',
        reason: 'FieldValueRequired',
      });
    }
    if (typeof container.image !== 'string' || container.image === '') {
      causes.push({
        field: `${path}.containers[${index}].image`,
        message: 'Required value',
        reason: 'FieldValueRequired',
      });
    }
  });
}
