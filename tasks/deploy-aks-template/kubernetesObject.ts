/** A JSON object as YAML and `kubectl get -o json` give it: anything may be under any key. */
export interface JsonObject {
  [key: string]: unknown;
}

export interface ObjectMetadata extends JsonObject {
  name: string;
  namespace?: string;
  annotations?: Record<string, string>;
}

/** An object checked to have what the API server needs to address it. */
export interface KubernetesObject extends JsonObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMetadata;
}

/** Where an object came from, for messages: the template file, its 1-based document, the List item. */
export interface ManifestSource {
  readonly file: string;
  readonly document: number;
  readonly item?: number;
}

export interface Manifest {
  readonly source: ManifestSource;
  readonly object: KubernetesObject;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The API group of an apiVersion: `apps/v1` → `apps`, the core `v1` → ``. */
export function apiGroupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** `Deployment web`, or `Deployment staging/web` once it has a namespace: how messages name an object. */
export function describeObject(object: KubernetesObject): string {
  const { name, namespace } = object.metadata;
  return namespace === undefined ? `${object.kind} ${name}` : `${object.kind} ${namespace}/${name}`;
}

/** `metadata.name` of an object as kubectl printed it, undefined when it has none. */
export function nameOf(object: JsonObject): string | undefined {
  const metadata = object.metadata;
  return isJsonObject(metadata) && typeof metadata.name === 'string' ? metadata.name : undefined;
}
