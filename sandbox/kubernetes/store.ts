import * as crypto from 'node:crypto';
import { ApiError, deepClone, deepEqual, nowIso, type KubeObject } from './objects';
import { qualifiedResourceName, RESOURCE_TYPES, type ResourceType } from './resources';
import type { FieldSelector, LabelSelector } from './selectors';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One committed write. `object` is a snapshot: listeners may keep it. */
export interface StoreEvent {
  readonly type: WatchEventType;
  readonly resourceType: ResourceType;
  readonly object: KubeObject;
  readonly resourceVersion: number;
}

export type StoreListener = (event: StoreEvent) => void;

export interface ListOptions {
  /** Omitted: all namespaces (or a cluster-scoped type). */
  readonly namespace?: string;
  readonly labelSelector?: LabelSelector;
  readonly fieldSelector?: FieldSelector;
}

/** `main`: a write to the resource (status kept); `status`: a write to the status subresource only. */
export type WriteTarget = 'main' | 'status';

/** How many past events a watch can resume from; older resourceVersions get 410 Gone, as on a real server. */
const HISTORY_LIMIT = 20_000;

/**
 * The cluster's objects, one global resourceVersion counter (like etcd's revision) and a bounded
 * event history so a watch can start from the resourceVersion a list returned.
 */
export class ObjectStore {
  private revision = 1000;
  private readonly objects = new Map<ResourceType, Map<string, KubeObject>>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<StoreListener>();

  get resourceVersion(): string {
    return String(this.revision);
  }

  get(resourceType: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.bucket(resourceType).get(keyOf(resourceType, namespace, name));
    return found === undefined ? undefined : deepClone(found);
  }

  /** Objects sorted by namespace, then name (the order a real server lists them in). */
  list(resourceType: ResourceType, options: ListOptions = {}): KubeObject[] {
    const result: KubeObject[] = [];
    for (const object of this.bucket(resourceType).values()) {
      if (
        options.namespace !== undefined &&
        resourceType.namespaced &&
        object.metadata.namespace !== options.namespace
      )
        continue;
      if (options.labelSelector !== undefined && !options.labelSelector(object.metadata.labels ?? {}))
        continue;
      if (options.fieldSelector !== undefined && !options.fieldSelector(object)) continue;
      result.push(deepClone(object));
    }
    return result.sort((a, b) => compareKeys(a, b));
  }

  /** Stores a new object, filling uid, creationTimestamp, generation and resourceVersion. */
  create(resourceType: ResourceType, object: KubeObject): KubeObject {
    const name = object.metadata.name;
    if (name === undefined || name === '')
      throw ApiError.invalid(resourceType.kind, '', resourceType.group, [
        {
          field: 'metadata.name',
          message: 'Required value: name or generateName is required',
          reason: 'FieldValueRequired',
        },
      ]);
    const key = keyOf(resourceType, object.metadata.namespace, name);
    const bucket = this.bucket(resourceType);
    if (bucket.has(key))
      throw ApiError.alreadyExists(
        qualifiedResourceName(resourceType),
        name,
        resourceType.group,
        resourceType.plural,
      );
    const stored = prepareNew(resourceType, object);
    stored.metadata.resourceVersion = String(++this.revision);
    bucket.set(key, stored);
    this.publish('ADDED', resourceType, stored);
    return deepClone(stored);
  }

  /**
   * Replaces an existing object. Keeps identity fields, keeps status on `main` writes of types with a
   * status subresource, bumps generation when anything but metadata/status changed, and makes no
   * write at all when nothing changed (a real server does not bump resourceVersion for a no-op).
   * A `metadata.resourceVersion` in `next` is a precondition (409 Conflict when stale).
   */
  update(resourceType: ResourceType, next: KubeObject, target: WriteTarget = 'main'): KubeObject {
    const { existing, candidate } = this.prepareUpdate(resourceType, next, target);
    if (deepEqual(existing, candidate)) return deepClone(existing);
    candidate.metadata.resourceVersion = String(++this.revision);
    this.bucket(resourceType).set(
      keyOf(resourceType, candidate.metadata.namespace, candidate.metadata.name ?? ''),
      candidate,
    );
    this.publish('MODIFIED', resourceType, candidate);
    return deepClone(candidate);
  }

  /** What `update` would store (generation included), without storing it: for `dryRun=All`. */
  previewUpdate(resourceType: ResourceType, next: KubeObject, target: WriteTarget = 'main'): KubeObject {
    return deepClone(this.prepareUpdate(resourceType, next, target).candidate);
  }

  private prepareUpdate(
    resourceType: ResourceType,
    next: KubeObject,
    target: WriteTarget,
  ): { existing: KubeObject; candidate: KubeObject } {
    const name = next.metadata.name ?? '';
    const existing = this.bucket(resourceType).get(keyOf(resourceType, next.metadata.namespace, name));
    if (existing === undefined)
      throw ApiError.notFound(
        qualifiedResourceName(resourceType),
        name,
        resourceType.group,
        resourceType.plural,
      );
    const precondition = next.metadata.resourceVersion;
    if (
      precondition !== undefined &&
      precondition !== '' &&
      precondition !== existing.metadata.resourceVersion
    ) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${qualifiedResourceName(resourceType)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, group: resourceType.group, kind: resourceType.plural },
      );
    }
    const candidate =
      target === 'status' ? { ...deepClone(existing), status: deepClone(next.status) } : deepClone(next);
    if (target === 'main' && resourceType.hasStatusSubresource) {
      if (existing.status === undefined) delete candidate.status;
      else candidate.status = deepClone(existing.status);
    }
    candidate.apiVersion = existing.apiVersion;
    candidate.kind = existing.kind;
    candidate.metadata = {
      ...(target === 'status' ? existing.metadata : candidate.metadata),
      name,
      uid: existing.metadata.uid,
      creationTimestamp: existing.metadata.creationTimestamp,
      resourceVersion: existing.metadata.resourceVersion,
      ...(resourceType.namespaced ? { namespace: existing.metadata.namespace } : {}),
    };
    if (resourceType.hasGeneration) {
      const generation = existing.metadata.generation ?? 1;
      candidate.metadata.generation = deepEqual(specPart(existing), specPart(candidate))
        ? generation
        : generation + 1;
    }
    return { existing, candidate };
  }

  delete(resourceType: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const key = keyOf(resourceType, namespace, name);
    const bucket = this.bucket(resourceType);
    const existing = bucket.get(key);
    if (existing === undefined)
      throw ApiError.notFound(
        qualifiedResourceName(resourceType),
        name,
        resourceType.group,
        resourceType.plural,
      );
    bucket.delete(key);
    // A delete is a write too: the DELETED event carries a new resourceVersion.
    const deleted = {
      ...existing,
      metadata: { ...existing.metadata, resourceVersion: String(++this.revision) },
    };
    this.publish('DELETED', resourceType, deleted);
    return deepClone(deleted);
  }

  /** Events after `resourceVersion`, or undefined when the history no longer reaches back that far. */
  eventsSince(resourceVersion: number): StoreEvent[] | undefined {
    const oldest = this.history[0];
    if (oldest !== undefined && resourceVersion < oldest.resourceVersion - 1) return undefined;
    return this.history.filter((e) => e.resourceVersion > resourceVersion);
  }

  /** Every committed write, synchronously, in order. Returns the unsubscribe function. */
  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  // Conveniences for tests: look objects up by kind instead of by ResourceType.

  getByKind(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.get(typeOfKind(kind), namespace, name);
  }

  listByKind(kind: string, namespace?: string): KubeObject[] {
    return this.list(typeOfKind(kind), namespace === undefined ? {} : { namespace });
  }

  private bucket(resourceType: ResourceType): Map<string, KubeObject> {
    let bucket = this.objects.get(resourceType);
    if (bucket === undefined) {
      bucket = new Map();
      this.objects.set(resourceType, bucket);
    }
    return bucket;
  }

  private publish(type: WatchEventType, resourceType: ResourceType, object: KubeObject): void {
    const event: StoreEvent = {
      type,
      resourceType,
      object: deepClone(object),
      resourceVersion: this.revision,
    };
    this.history.push(event);
    if (this.history.length > HISTORY_LIMIT) this.history.splice(0, this.history.length - HISTORY_LIMIT);
    for (const listener of [...this.listeners]) listener(event);
  }
}

function typeOfKind(kind: string): ResourceType {
  const found = RESOURCE_TYPES.find((t) => t.kind === kind);
  if (found === undefined) throw new Error(`the sandbox serves no kind ${kind}`);
  return found;
}

function keyOf(resourceType: ResourceType, namespace: string | undefined, name: string): string {
  return resourceType.namespaced ? `${namespace ?? ''}/${name}` : name;
}

function compareKeys(a: KubeObject, b: KubeObject): number {
  const left = `${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`;
  const right = `${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`;
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Everything that counts as "spec" for generation: all top-level fields but identity, metadata and status. */
function specPart(object: KubeObject): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([key]) => !NOT_SPEC.has(key)));
}

const NOT_SPEC = new Set(['apiVersion', 'kind', 'metadata', 'status']);

function prepareNew(resourceType: ResourceType, object: KubeObject): KubeObject {
  const stored = deepClone(object);
  stored.metadata = {
    ...stored.metadata,
    // The API server may pre-assign the uid (a Job's generated selector names it); clients cannot.
    uid: stored.metadata.uid ?? crypto.randomUUID(),
    creationTimestamp: nowIso(),
  };
  delete stored.metadata.deletionTimestamp;
  if (resourceType.hasGeneration) stored.metadata.generation = 1;
  else delete stored.metadata.generation;
  if (!resourceType.namespaced) delete stored.metadata.namespace;
  return stored;
}
