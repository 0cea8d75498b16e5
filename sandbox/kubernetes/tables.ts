import { isJsonObject, textOf, type KubeObject, type JsonRecord } from './objects';
import type { ResourceType } from './resources';

/**
 * Server-side printing: `kubectl get` asks for `as=Table` and prints the columns the server
 * chooses. Without tables kubectl would print only NAME and AGE, so the common kinds get the
 * columns a real API server gives them.
 */
export function wantsTable(accept: string | undefined): boolean {
  return accept !== undefined && /as=Table/.test(accept);
}

type Cell = string | number;
interface Column {
  readonly name: string;
  readonly type: 'string' | 'integer';
  /** 1: only with `-o wide`. */
  readonly priority?: number;
  readonly cell: (object: KubeObject) => Cell;
}

const dict = (value: unknown): JsonRecord => (isJsonObject(value) ? value : {});
const list = (value: unknown): JsonRecord[] => (Array.isArray(value) ? value.filter(isJsonObject) : []);
const num = (value: unknown): number => (typeof value === 'number' ? value : 0);

/** `kubectl`-style short durations: 45s, 3m12s, 5h, 2d3h. */
export function humanDuration(milliseconds: number): string {
  const seconds = Math.max(0, Math.floor(milliseconds / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return `${minutes}m${seconds % 60 === 0 ? '' : `${seconds % 60}s`}`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d${hours % 24 === 0 ? '' : `${hours % 24}h`}`;
}

function age(object: KubeObject): string {
  const created = Date.parse(String(object.metadata.creationTimestamp ?? ''));
  return Number.isNaN(created) ? '<unknown>' : humanDuration(Date.now() - created);
}

const name: Column = { name: 'Name', type: 'string', cell: (o) => o.metadata.name ?? '' };
const ageColumn: Column = { name: 'Age', type: 'string', cell: age };

function podStatusReason(pod: KubeObject): string {
  const status = dict(pod.status);
  for (const container of list(status.initContainerStatuses)) {
    const waiting = dict(dict(container.state).waiting);
    if (typeof waiting.reason === 'string' && waiting.reason !== 'PodInitializing')
      return `Init:${waiting.reason}`;
  }
  let reason = textOf(status.phase, 'Pending');
  for (const container of list(status.containerStatuses)) {
    const state = dict(container.state);
    const waiting = dict(state.waiting);
    const terminated = dict(state.terminated);
    if (typeof waiting.reason === 'string') reason = waiting.reason;
    else if (typeof terminated.reason === 'string') reason = terminated.reason;
  }
  return reason;
}

function containerImages(object: KubeObject): { names: string; images: string } {
  const containers = list(dict(dict(object.spec?.template).spec).containers);
  return {
    names: containers.map((c) => String(c.name)).join(','),
    images: containers.map((c) => String(c.image)).join(','),
  };
}

function selectorText(selector: unknown): string {
  const labels = dict(dict(selector).matchLabels);
  const text = Object.entries(labels)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
  return text === '' ? '<none>' : text;
}

function servicePorts(service: KubeObject): string {
  const ports = list(service.spec?.ports).map(
    (p) =>
      `${textOf(p.port)}${p.nodePort === undefined ? '' : `:${textOf(p.nodePort)}`}/${textOf(p.protocol, 'TCP')}`,
  );
  return ports.length === 0 ? '<none>' : ports.join(',');
}

function externalIp(service: KubeObject): string {
  const type = textOf(service.spec?.type, 'ClusterIP');
  const addresses = list(dict(service.status?.loadBalancer).ingress).map((i) => textOf(i.ip ?? i.hostname));
  if (type === 'LoadBalancer') return addresses.length > 0 ? addresses.join(',') : '<pending>';
  return '<none>';
}

const COLUMNS: Readonly<Record<string, readonly Column[]>> = {
  Pod: [
    name,
    {
      name: 'Ready',
      type: 'string',
      cell: (p) => {
        const statuses = list(p.status?.containerStatuses);
        return `${statuses.filter((s) => s.ready === true).length}/${list(p.spec?.containers).length}`;
      },
    },
    { name: 'Status', type: 'string', cell: podStatusReason },
    {
      name: 'Restarts',
      type: 'string',
      cell: (p) =>
        String(list(p.status?.containerStatuses).reduce((total, s) => total + num(s.restartCount), 0)),
    },
    ageColumn,
    { name: 'IP', type: 'string', priority: 1, cell: (p) => textOf(p.status?.podIP, '<none>') },
    { name: 'Node', type: 'string', priority: 1, cell: (p) => textOf(p.spec?.nodeName, '<none>') },
  ],
  Deployment: [
    name,
    {
      name: 'Ready',
      type: 'string',
      cell: (d) => `${num(d.status?.readyReplicas)}/${num(d.spec?.replicas)}`,
    },
    { name: 'Up-to-date', type: 'integer', cell: (d) => num(d.status?.updatedReplicas) },
    { name: 'Available', type: 'integer', cell: (d) => num(d.status?.availableReplicas) },
    ageColumn,
    { name: 'Containers', type: 'string', priority: 1, cell: (d) => containerImages(d).names },
    { name: 'Images', type: 'string', priority: 1, cell: (d) => containerImages(d).images },
    { name: 'Selector', type: 'string', priority: 1, cell: (d) => selectorText(d.spec?.selector) },
  ],
  ReplicaSet: [
    name,
    { name: 'Desired', type: 'integer', cell: (r) => num(r.spec?.replicas) },
    { name: 'Current', type: 'integer', cell: (r) => num(r.status?.replicas) },
    { name: 'Ready', type: 'integer', cell: (r) => num(r.status?.readyReplicas) },
    ageColumn,
    { name: 'Containers', type: 'string', priority: 1, cell: (r) => containerImages(r).names },
    { name: 'Images', type: 'string', priority: 1, cell: (r) => containerImages(r).images },
  ],
  StatefulSet: [
    name,
    {
      name: 'Ready',
      type: 'string',
      cell: (s) => `${num(s.status?.readyReplicas)}/${num(s.spec?.replicas)}`,
    },
    ageColumn,
    { name: 'Containers', type: 'string', priority: 1, cell: (s) => containerImages(s).names },
    { name: 'Images', type: 'string', priority: 1, cell: (s) => containerImages(s).images },
  ],
  DaemonSet: [
    name,
    { name: 'Desired', type: 'integer', cell: (d) => num(d.status?.desiredNumberScheduled) },
    { name: 'Current', type: 'integer', cell: (d) => num(d.status?.currentNumberScheduled) },
    { name: 'Ready', type: 'integer', cell: (d) => num(d.status?.numberReady) },
    { name: 'Up-to-date', type: 'integer', cell: (d) => num(d.status?.updatedNumberScheduled) },
    { name: 'Available', type: 'integer', cell: (d) => num(d.status?.numberAvailable) },
    ageColumn,
  ],
  Job: [
    name,
    {
      name: 'Status',
      type: 'string',
      cell: (j) => {
        const conditions = list(j.status?.conditions).filter((c) => c.status === 'True');
        if (conditions.some((c) => c.type === 'Complete')) return 'Complete';
        if (conditions.some((c) => c.type === 'Failed')) return 'Failed';
        return j.spec?.suspend === true ? 'Suspended' : 'Running';
      },
    },
    {
      name: 'Completions',
      type: 'string',
      cell: (j) => `${num(j.status?.succeeded)}/${num(j.spec?.completions) || 1}`,
    },
    ageColumn,
  ],
  Service: [
    name,
    { name: 'Type', type: 'string', cell: (s) => textOf(s.spec?.type, 'ClusterIP') },
    { name: 'Cluster-IP', type: 'string', cell: (s) => textOf(s.spec?.clusterIP, '<none>') },
    { name: 'External-IP', type: 'string', cell: externalIp },
    { name: 'Port(s)', type: 'string', cell: servicePorts },
    ageColumn,
    {
      name: 'Selector',
      type: 'string',
      priority: 1,
      cell: (s) =>
        Object.entries(dict(s.spec?.selector))
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(',') || '<none>',
    },
  ],
  Ingress: [
    name,
    { name: 'Class', type: 'string', cell: (i) => textOf(i.spec?.ingressClassName, '<none>') },
    {
      name: 'Hosts',
      type: 'string',
      cell: (i) =>
        list(i.spec?.rules)
          .map((r) => textOf(r.host, '*'))
          .join(',') || '*',
    },
    {
      name: 'Address',
      type: 'string',
      cell: (i) =>
        list(dict(i.status?.loadBalancer).ingress)
          .map((a) => textOf(a.ip ?? a.hostname))
          .join(','),
    },
    { name: 'Ports', type: 'string', cell: (i) => (list(i.spec?.tls).length > 0 ? '80, 443' : '80') },
    ageColumn,
  ],
  ConfigMap: [
    name,
    {
      name: 'Data',
      type: 'integer',
      cell: (c) => Object.keys(dict(c.data)).length + Object.keys(dict(c.binaryData)).length,
    },
    ageColumn,
  ],
  Secret: [
    name,
    { name: 'Type', type: 'string', cell: (s) => textOf(s.type, 'Opaque') },
    { name: 'Data', type: 'integer', cell: (s) => Object.keys(dict(s.data)).length },
    ageColumn,
  ],
  Namespace: [
    name,
    { name: 'Status', type: 'string', cell: (n) => textOf(n.status?.phase, 'Active') },
    ageColumn,
  ],
  Node: [
    name,
    {
      name: 'Status',
      type: 'string',
      cell: (n) =>
        list(n.status?.conditions).some((c) => c.type === 'Ready' && c.status === 'True')
          ? 'Ready'
          : 'NotReady',
    },
    { name: 'Roles', type: 'string', cell: () => '<none>' },
    ageColumn,
    { name: 'Version', type: 'string', cell: (n) => textOf(dict(n.status?.nodeInfo).kubeletVersion) },
  ],
  Event: [
    {
      name: 'Last Seen',
      type: 'string',
      cell: (e) =>
        typeof e.lastTimestamp === 'string'
          ? humanDuration(Date.now() - Date.parse(e.lastTimestamp))
          : '<unknown>',
    },
    { name: 'Type', type: 'string', cell: (e) => textOf(e.type) },
    { name: 'Reason', type: 'string', cell: (e) => textOf(e.reason) },
    {
      name: 'Object',
      type: 'string',
      cell: (e) =>
        `${textOf(dict(e.involvedObject).kind).toLowerCase()}/${textOf(dict(e.involvedObject).name)}`,
    },
    { name: 'Message', type: 'string', cell: (e) => textOf(e.message) },
  ],
};

export function toTable(
  type: ResourceType,
  items: readonly KubeObject[],
  resourceVersion: string,
  includeObject: boolean,
): Record<string, unknown> {
  const columns = COLUMNS[type.kind] ?? [name, ageColumn];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c === name ? 'name' : '',
      description: '',
      priority: c.priority ?? 0,
    })),
    rows: items.map((item) => ({
      cells: columns.map((c) => c.cell(item)),
      ...(includeObject
        ? { object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: item.metadata } }
        : {}),
    })),
  };
}
