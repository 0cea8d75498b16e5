import { applyPatch, JsonPatchError, type Operation } from 'fast-json-patch';
import { apply as applyMergePatch } from 'json-merge-patch';
import { ApiError, deepClone, deepEqual, isJsonObject } from './objects';

/**
 * The patch formats kubectl sends. Strategic merge needs to know which lists merge by which key;
 * real servers read that from the Go types (`patchMergeKey`). The sandbox keys lists by field name,
 * which gives the same answer for every field of the workload types it serves.
 */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  ownerReferences: 'uid',
  conditions: 'type',
  resourceClaims: 'name',
};

/** Lists of scalars that merge as sets (patchStrategy "merge") instead of being replaced. */
const SET_LISTS = new Set(['finalizers']);

function mergeKeyFor(field: string, items: readonly unknown[]): string | undefined {
  if (field === 'ports') {
    // Container ports merge on containerPort, Service ports on port.
    return items.some((i) => isJsonObject(i) && 'containerPort' in i) ? 'containerPort' : 'port';
  }
  return MERGE_KEYS[field];
}

/** RFC 7386 JSON merge patch (`application/merge-patch+json`); json-merge-patch mutates, so on a copy. */
export function jsonMergePatch(target: unknown, patch: unknown): unknown {
  return applyMergePatch(deepClone(target), patch);
}

/**
 * Strategic merge patch (`application/strategic-merge-patch+json`): maps merge, `null` deletes,
 * keyed lists merge item by item, other lists are replaced. Understands the directives kubectl's
 * three-way patches contain: `$patch` (replace/delete/merge), `$setElementOrder/<list>`,
 * `$deleteFromPrimitiveList/<list>` and `$retainKeys`.
 */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  return mergeValue(target, patch, '');
}

function mergeValue(original: unknown, patch: unknown, field: string): unknown {
  if (Array.isArray(patch)) return mergeList(original, patch, field);
  if (!isJsonObject(patch)) return deepClone(patch);
  if (patch.$patch === 'replace') return stripDirectives(patch);
  const result: Record<string, unknown> = isJsonObject(original) ? deepClone(original) : {};
  const orders = new Map<string, unknown[]>();
  if (Array.isArray(patch.$retainKeys)) {
    const retained = new Set([...patch.$retainKeys.map(String), ...Object.keys(patch)]);
    for (const key of Object.keys(result)) if (!retained.has(key)) delete result[key];
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys') continue;
    if (key.startsWith('$setElementOrder/')) {
      if (Array.isArray(value)) orders.set(key.slice('$setElementOrder/'.length), value);
      continue;
    }
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const list = key.slice('$deleteFromPrimitiveList/'.length);
      const current = result[list];
      if (Array.isArray(current) && Array.isArray(value)) {
        result[list] = current.filter((item) => !value.some((v) => deepEqual(v, item)));
      }
      continue;
    }
    if (value === null) {
      delete result[key];
      continue;
    }
    if (isJsonObject(value) && value.$patch === 'delete') {
      delete result[key];
      continue;
    }
    result[key] = mergeValue(result[key], value, key);
  }
  for (const [list, order] of orders) {
    const current = result[list];
    if (Array.isArray(current)) result[list] = reorder(current, order, list);
  }
  return result;
}

function mergeList(original: unknown, patch: unknown[], field: string): unknown[] {
  if (patch.some((item) => isJsonObject(item) && item.$patch === 'replace')) {
    return patch.filter((item) => !(isJsonObject(item) && item.$patch === 'replace')).map(stripDirectives);
  }
  const current: unknown[] = Array.isArray(original) ? deepClone(original as unknown[]) : [];
  if (SET_LISTS.has(field)) {
    const union = [...current];
    for (const item of patch) if (!union.some((u) => deepEqual(u, item))) union.push(deepClone(item));
    return union;
  }
  const key = mergeKeyFor(field, [...current, ...patch]);
  if (key === undefined || !patch.every(isJsonObject)) return patch.map(stripDirectives);
  for (const item of patch) {
    const index = current.findIndex((c) => isJsonObject(c) && deepEqual(c[key], item[key]));
    if (item.$patch === 'delete') {
      if (index >= 0) current.splice(index, 1);
    } else if (index >= 0) {
      current[index] = mergeValue(current[index], item, field);
    } else {
      current.push(mergeValue(undefined, item, field));
    }
  }
  return current;
}

/** `$setElementOrder`: listed items first, in the given order; the rest keep their relative order. */
function reorder(items: unknown[], order: unknown[], field: string): unknown[] {
  const key = mergeKeyFor(field, items);
  const identity = (item: unknown): unknown => (key !== undefined && isJsonObject(item) ? item[key] : item);
  const wanted = order.map(identity);
  const listed: unknown[] = [];
  for (const id of wanted) {
    const found = items.find((item) => deepEqual(identity(item), id));
    if (found !== undefined) listed.push(found);
  }
  const rest = items.filter((item) => !wanted.some((id) => deepEqual(identity(item), id)));
  return [...listed, ...rest];
}

function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isJsonObject(value)) return deepClone(value);
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (key.startsWith('$')) continue;
    result[key] = stripDirectives(item);
  }
  return result;
}

/**
 * RFC 6902 JSON patch (`application/json-patch+json`), as `kubectl rollout undo` sends for Deployments.
 * Validated like the API server: a `replace` or `remove` of a missing path, or a failed `test`, is a 422.
 */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw ApiError.badRequest('json patch must be an array of operations');
  try {
    return applyPatch(deepClone(target), operations as Operation[], true).newDocument;
  } catch (error: unknown) {
    if (!(error instanceof JsonPatchError)) throw error;
    const operation = (error.operation ?? {}) as Partial<Operation> & { from?: string };
    throw new ApiError(
      422,
      'Invalid',
      `the server rejected our request due to an error in our request: ${patchErrorDetail(error.name, operation)}`,
    );
  }
}

function patchErrorDetail(
  name: InstanceType<typeof JsonPatchError>['name'],
  operation: Partial<Operation> & { from?: string },
): string {
  const path = String(operation.path);
  switch (name) {
    case 'TEST_OPERATION_FAILED':
      return `testing value ${path} failed`;
    case 'OPERATION_PATH_UNRESOLVABLE':
    case 'OPERATION_PATH_CANNOT_ADD':
      return `path ${path} does not exist`;
    case 'OPERATION_FROM_UNRESOLVABLE':
      return `from ${String(operation.from)} does not exist`;
    case 'OPERATION_OP_INVALID':
      return `unknown json patch operation: ${String(operation.op)}`;
    default:
      return `invalid json patch operation ${JSON.stringify(operation)} (${name})`;
  }
}

/**
 * Server-side apply, simplified: the applied configuration is merged into the live object (maps
 * merge, keyed lists merge by key, other lists are owned whole), and fields this field manager
 * applied last time but no longer applies are removed. Real servers track ownership per field
 * across managers (managedFields) and report conflicts; the sandbox does neither.
 */
export function serverSideApply(live: unknown, applied: unknown, previouslyApplied: unknown): unknown {
  const merged = mergeValue(live, applied, '');
  return previouslyApplied === undefined ? merged : removeDropped(merged, previouslyApplied, applied, '');
}

function removeDropped(current: unknown, previous: unknown, next: unknown, field: string): unknown {
  if (isJsonObject(current) && isJsonObject(previous)) {
    const nextMap = isJsonObject(next) ? next : {};
    for (const key of Object.keys(previous)) {
      if (!(key in nextMap)) delete current[key];
      else current[key] = removeDropped(current[key], previous[key], nextMap[key], key);
    }
    return current;
  }
  if (Array.isArray(current) && Array.isArray(previous)) {
    const currentList = current as unknown[];
    const previousList = previous as unknown[];
    const key = mergeKeyFor(field, [...currentList, ...previousList]);
    if (key === undefined) return current;
    const nextList: unknown[] = Array.isArray(next) ? (next as unknown[]) : [];
    return currentList
      .filter((item) => {
        if (!isJsonObject(item)) return true;
        const wasApplied = previousList.some((p) => isJsonObject(p) && deepEqual(p[key], item[key]));
        const isApplied = nextList.some((n) => isJsonObject(n) && deepEqual(n[key], item[key]));
        return !wasApplied || isApplied;
      })
      .map((item) => {
        if (!isJsonObject(item)) return item;
        const before = previousList.find((p) => isJsonObject(p) && deepEqual(p[key], item[key]));
        const after = nextList.find((n) => isJsonObject(n) && deepEqual(n[key], item[key]));
        return before === undefined ? item : removeDropped(item, before, after, field);
      });
  }
  return current;
}
