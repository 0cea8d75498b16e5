/** JSON shapes and small helpers shared by the API server, the store and the controller. */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** The metadata fields the sandbox reads; everything else passes through untouched. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  [key: string]: unknown;
}

/** A Kubernetes object as JSON. Controllers cast `spec`/`status` to the shapes they need. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [key: string]: unknown;
}

/** A JSON object's fields, their values not yet checked. */
export type JsonRecord = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function deepClone<T>(value: T): T {
  return structuredClone(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, index) => deepEqual(item, b[index]));
  }
  if (isJsonObject(a) && isJsonObject(b)) {
    const aKeys = Object.keys(a).filter((k) => a[k] !== undefined);
    const bKeys = Object.keys(b).filter((k) => b[k] !== undefined);
    return aKeys.length === bKeys.length && aKeys.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

export function nowIso(): string {
  // Kubernetes timestamps have second precision (RFC 3339, no fraction).
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A Kubernetes API error; `toStatus()` is the body the server sends. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details === undefined ? {} : { details: this.details }),
      code: this.code,
    };
  }

  static notFound(qualifiedResource: string, name: string, group: string, plural: string): ApiError {
    return new ApiError(404, 'NotFound', `${qualifiedResource} "${name}" not found`, {
      name,
      group,
      kind: plural,
    });
  }

  static alreadyExists(qualifiedResource: string, name: string, group: string, plural: string): ApiError {
    return new ApiError(409, 'AlreadyExists', `${qualifiedResource} "${name}" already exists`, {
      name,
      group,
      kind: plural,
    });
  }

  static badRequest(message: string): ApiError {
    return new ApiError(400, 'BadRequest', message);
  }

  /** 422 with field causes, the way kubectl prints "The Deployment "web" is invalid: …". */
  static invalid(
    kind: string,
    name: string,
    group: string,
    causes: { field: string; message: string; reason?: string }[],
  ): ApiError {
    const text = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
    const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
    return new ApiError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${text}`, {
      name,
      group,
      kind,
      causes: causes.map((c) => ({
        reason: c.reason ?? 'FieldValueInvalid',
        message: c.message,
        field: c.field,
      })),
    });
  }
}

export function labelsOf(object: KubeObject): Record<string, string> {
  return object.metadata.labels ?? {};
}

export function annotationsOf(object: KubeObject): Record<string, string> {
  return object.metadata.annotations ?? {};
}

/** The owner that is this object's controller, if any. */
export function controllerOf(object: KubeObject): OwnerReference | undefined {
  return object.metadata.ownerReferences?.find((o) => o.controller === true);
}

export function ownerReferenceTo(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** A scalar as text; objects, arrays, null and undefined become `fallback`. */
export function textOf(value: unknown, fallback = ''): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return fallback;
}
