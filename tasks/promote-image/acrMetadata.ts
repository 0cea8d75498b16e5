import { ACR_DNS_SUFFIXES } from './challenge';
import type { RegistryClient } from './registryClient';

/** The api-version @azure/container-registry 1.1 sends to the metadata API. */
export const ACR_METADATA_API_VERSION = '2021-07-01';

/** One call of ACR's metadata API, shaped as @azure/container-registry sends it. */
export interface AcrMetadataRequest {
  readonly method: 'PATCH';
  /** Path and query; repository, tag and digest percent-encoded as the SDK encodes path parameters. */
  readonly path: string;
  readonly repository: string;
  /** The scope ACR's challenge names for a PATCH. */
  readonly scope: string;
  readonly body: { readonly writeEnabled: false };
}

/**
 * `writeEnabled: false` is ACR's lock: a tag can then be neither moved nor deleted, a manifest
 * neither deleted nor overwritten (`az acr repository update --write-enabled false`). The other
 * attributes are left out of the body, so the registry keeps them as they are; the SDK's
 * `updateTagProperties({ canWrite: false })` sends the same body.
 */
const LOCKED = { writeEnabled: false } as const;

/** `RegistryArtifact.updateTagProperties`: `PATCH /acr/v1/{name}/_tags/{reference}`. */
export function lockTagRequest(repository: string, tag: string): AcrMetadataRequest {
  return {
    method: 'PATCH',
    path: `/acr/v1/${encodeURIComponent(repository)}/_tags/${encodeURIComponent(tag)}?api-version=${ACR_METADATA_API_VERSION}`,
    repository,
    scope: metadataWriteScope(repository),
    body: LOCKED,
  };
}

/** `RegistryArtifact.updateManifestProperties`: `PATCH /acr/v1/{name}/_manifests/{digest}`. */
export function lockManifestRequest(repository: string, digest: string): AcrMetadataRequest {
  return {
    method: 'PATCH',
    path: `/acr/v1/${encodeURIComponent(repository)}/_manifests/${encodeURIComponent(digest)}?api-version=${ACR_METADATA_API_VERSION}`,
    repository,
    scope: metadataWriteScope(repository),
    body: LOCKED,
  };
}

export function metadataWriteScope(repository: string): string {
  return `repository:${repository}:metadata_write`;
}

/** Whether a login server is an Azure Container Registry's, by its cloud's suffix or a known one. */
export function isAcrLoginServer(host: string, cloudSuffix: string | undefined): boolean {
  const name = host.toLowerCase().replace(/:\d+$/, '');
  return [...ACR_DNS_SUFFIXES, ...(cloudSuffix === undefined ? [] : [cloudSuffix])].some((suffix) =>
    name.endsWith(`.${suffix.toLowerCase()}`),
  );
}

/** A tag or manifest the metadata API did not know: it vanished between the copy and the lock. */
export class LockTargetMissingError extends Error {
  constructor(readonly what: string) {
    super(`${what} was not found when locking it`);
    this.name = 'LockTargetMissingError';
  }
}

/**
 * Locks the promoted manifest, then each tag. The manifest first: once it is locked, a tag that is
 * still unlocked can be moved away, but the promoted bytes cannot change or disappear.
 */
export async function lockPromoted(
  client: RegistryClient,
  repository: string,
  digest: string,
  tags: readonly string[],
): Promise<void> {
  const requests = [
    { what: `${client.host}/${repository}@${digest}`, request: lockManifestRequest(repository, digest) },
    ...tags.map((tag) => ({
      what: `${client.host}/${repository}:${tag}`,
      request: lockTagRequest(repository, tag),
    })),
  ];
  for (const { what, request } of requests) {
    if ((await client.acrMetadata(request)) === 404) throw new LockTargetMissingError(what);
  }
}
