import * as fs from 'node:fs';
import type { Kubectl } from './kubectl';
import { apiGroupOf, isJsonObject, type JsonObject } from './kubernetesObject';

/** What addresses an object in the cluster: all `kubectl get --filename` needs of it. */
export interface ObjectAddress {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  /** Undefined for a cluster-scoped object. */
  readonly namespace: string | undefined;
}

/**
 * `apps/Deployment/staging/web`: the group rather than the apiVersion, because the API server answers
 * in its preferred version of the group, which need not be the one asked for.
 */
export function addressKey(address: ObjectAddress): string {
  return `${apiGroupOf(address.apiVersion)}/${address.kind}/${address.namespace ?? ''}/${address.name}`;
}

export function addressOf(object: JsonObject): ObjectAddress | undefined {
  const { apiVersion, kind, metadata } = object;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || !isJsonObject(metadata)) return undefined;
  if (typeof metadata.name !== 'string') return undefined;
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : undefined;
  return { apiVersion, kind, name: metadata.name, namespace };
}

/**
 * The objects at these addresses as the cluster has them, by addressKey, read in one kubectl process
 * (each kubectl start costs a tenth of a second, and a deploy would otherwise start one per object):
 * the addresses are written to `file` as a List of stubs for `kubectl get --filename`. An object the
 * cluster does not have is absent from the map.
 */
export async function lookUp(
  kubectl: Kubectl,
  file: string,
  addresses: readonly ObjectAddress[],
): Promise<Map<string, JsonObject>> {
  if (addresses.length === 0) return new Map();
  const items = addresses.map(({ apiVersion, kind, name, namespace }) => ({
    apiVersion,
    kind,
    metadata: namespace === undefined ? { name } : { name, namespace },
  }));
  fs.writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }), { mode: 0o600 });
  const found = new Map<string, JsonObject>();
  for (const object of await kubectl.getObjects([file])) {
    const address = addressOf(object);
    if (address !== undefined) found.set(addressKey(address), object);
  }
  return found;
}

export function namespaceAddress(name: string): ObjectAddress {
  return { apiVersion: 'v1', kind: 'Namespace', name, namespace: undefined };
}
