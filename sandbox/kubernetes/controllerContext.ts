import * as crypto from 'node:crypto';
import { deepClone, isJsonObject, textOf, type JsonRecord, type KubeObject } from './objects';
import type { PodEventSpec } from './pods';
import { resourceTypeOf, type ResourceType } from './resources';
import type { ObjectStore } from './store';

// What the reconcilers (deployments.ts, revisioned.ts, jobs.ts, network.ts) share with the
// controller (controller.ts): its services, the resource types, small helpers.

export interface ControllerOptions {
  readonly store: ObjectStore;
  /** Delay of the default `ready` behaviour. */
  readonly defaultReadyDelayMs: number;
  /** How long a LoadBalancer Service / Ingress waits for its address. */
  readonly loadBalancerDelayMs: number;
  /** Seeds the deterministic public IPs so two clusters do not hand out the same ones. */
  readonly addressSeed: string;
}

/** An event to record; `key` deduplicates (same key: the count is updated instead). */
export type EventSpec = Omit<PodEventSpec, 'key'> & { key?: string };

/**
 * The controller services reconcilers use. Every write goes through the store, so each one
 * publishes a watch event and requeues whatever depends on the object.
 */
export interface ControllerContext {
  readonly store: ObjectStore;
  readonly options: ControllerOptions;
  /** Exact time of a Deployment's last progress (by uid), for progressDeadlineSeconds. */
  readonly lastProgressAt: Map<string, number>;
  /** When the controller first saw an object (by uid or key), in epoch ms. */
  readonly firstSeenAt: Map<string, number>;
  enqueue(type: ResourceType, object: KubeObject): void;
  /** Reconciles `key` again at `at` (epoch ms). */
  wakeAt(key: string, at: number): void;
  writeStatus(type: ResourceType, object: KubeObject, status: JsonRecord): KubeObject;
  writeMain(type: ResourceType, object: KubeObject): KubeObject;
  recordEvent(involved: KubeObject, spec: EventSpec): void;
  nodes(): KubeObject[];
  ownedBy(type: ResourceType, owner: KubeObject): KubeObject[];
  createPod(
    owner: KubeObject,
    template: JsonRecord,
    name: string,
    extraLabels: Record<string, string>,
    nodeName?: string,
  ): KubeObject;
  deletePod(owner: KubeObject, pod: KubeObject): void;
  firstSeen(key: string): number;
}

export const POD = resourceTypeOf('Pod');
export const NODE = resourceTypeOf('Node');
export const EVENT = resourceTypeOf('Event');
export const SERVICE = resourceTypeOf('Service');
export const DEPLOYMENT = resourceTypeOf('Deployment', 'apps');
export const REPLICA_SET = resourceTypeOf('ReplicaSet', 'apps');
export const STATEFUL_SET = resourceTypeOf('StatefulSet', 'apps');
export const DAEMON_SET = resourceTypeOf('DaemonSet', 'apps');
export const CONTROLLER_REVISION = resourceTypeOf('ControllerRevision', 'apps');
export const JOB = resourceTypeOf('Job', 'batch');
export const INGRESS = resourceTypeOf('Ingress', 'networking.k8s.io');

export function keyOf(type: ResourceType, object: KubeObject): string {
  return `${type.kind}|${object.metadata.namespace ?? ''}|${object.metadata.name ?? ''}`;
}

export function asList(value: unknown): JsonRecord[] {
  return Array.isArray(value) ? value.filter(isJsonObject).map((v) => deepClone(v)) : [];
}

export function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

export function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let text = '';
  for (const byte of crypto.randomBytes(5)) text += alphabet[byte % alphabet.length];
  return text;
}

export function labelsOfPod(pod: KubeObject): Record<string, string> {
  return pod.metadata.labels ?? {};
}

export function imagesOf(pod: KubeObject): string[] {
  return [...asList(pod.spec?.containers), ...asList(pod.spec?.initContainers)].map((c) => textOf(c.image));
}

export function isTerminal(pod: KubeObject): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

export function isReady(pod: KubeObject): boolean {
  return asList(pod.status?.conditions).some((c) => c.type === 'Ready' && c.status === 'True');
}

export function compareCreation(a: KubeObject, b: KubeObject): number {
  return String(a.metadata.creationTimestamp ?? '').localeCompare(String(b.metadata.creationTimestamp ?? ''));
}

/** Sorted-key JSON, so equal templates hash equally whatever order their fields arrived in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isJsonObject(value)) {
    return `{${Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Like the real controller: FNV-1a over the template, digits mapped onto the "safe" alphabet. */
export function podTemplateHash(template: unknown): string {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(canonicalJson(template), 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...String(hash)].map((digit) => alphabet[digit.charCodeAt(0) % alphabet.length]).join('');
}

/**
 * Sets a condition the way controllers do: lastTransitionTime moves only when status flips,
 * lastUpdateTime when anything changes (or when `touch` says progress happened).
 */
export function setCondition(conditions: JsonRecord[], wanted: JsonRecord, now: string, touch = false): void {
  const index = conditions.findIndex((c) => c.type === wanted.type);
  const existing = index >= 0 ? conditions[index] : undefined;
  const same =
    existing !== undefined &&
    existing.status === wanted.status &&
    existing.reason === wanted.reason &&
    existing.message === wanted.message;
  if (same && !touch) return;
  const next: JsonRecord = {
    ...wanted,
    lastUpdateTime: now,
    lastTransitionTime:
      existing !== undefined && existing.status === wanted.status ? existing.lastTransitionTime : now,
  };
  if (existing === undefined) conditions.push(next);
  else conditions[index] = next;
}

export function keepTransitionTimes(previous: JsonRecord[], next: JsonRecord[]): JsonRecord[] {
  return next.map((condition) => {
    const before = previous.find((p) => p.type === condition.type);
    return before !== undefined && before.status === condition.status
      ? { ...condition, lastTransitionTime: before.lastTransitionTime }
      : condition;
  });
}
