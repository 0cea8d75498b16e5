import type { ServerResponse } from 'node:http';
import {
  OCI_INDEX,
  OCI_MANIFEST,
  isDigest,
  parseManifest,
  sendAcrError,
  type SandboxRegistry,
} from './state';

/** ACR's referrers API (`GET /v2/<repo>/referrers/<digest>`), from the manifests the registry stores. */
export function answerReferrers(
  registry: SandboxRegistry,
  repository: string,
  subject: string,
  query: URLSearchParams,
  response: ServerResponse,
): void {
  if (!isDigest(subject)) {
    sendAcrError(response, 400, 'DIGEST_INVALID', 'provided digest did not match uploaded content');
    return;
  }
  const storage = registry.backend.storage;
  const artifactType = query.get('artifactType');
  const manifests = storage.manifests(repository).flatMap((stored) => {
    const content = storage.readBlob(stored.digest);
    if (content === undefined) return [];
    const parsed = parseManifest(content);
    if (parsed?.subject?.digest !== subject) return [];
    const type = parsed.artifactType ?? parsed.config?.mediaType;
    if (artifactType !== null && type !== artifactType) return [];
    return [
      {
        mediaType: parsed.mediaType ?? OCI_MANIFEST,
        digest: stored.digest,
        size: content.length,
        ...(type === undefined ? {} : { artifactType: type }),
        ...(parsed.annotations === undefined ? {} : { annotations: parsed.annotations }),
      },
    ];
  });
  const pageSize = registry.referrersPageSize ?? Math.max(manifests.length, 1);
  const page = Number(query.get('page') ?? '0');
  const onPage = manifests.slice(page * pageSize, (page + 1) * pageSize);
  const next = new URLSearchParams(query);
  next.set('page', String(page + 1));
  const text = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: onPage });
  response.writeHead(200, {
    'content-type': OCI_INDEX,
    'content-length': Buffer.byteLength(text),
    'docker-distribution-api-version': 'registry/2.0',
    ...(artifactType === null ? {} : { 'oci-filters-applied': 'artifactType' }),
    ...((page + 1) * pageSize < manifests.length
      ? { link: `</v2/${repository}/referrers/${subject}?${next.toString()}>; rel="next"` }
      : {}),
  });
  response.end(text);
}

/**
 * `OCI-Subject` for a manifest PUT when the registry emulates the referrers API and the manifest
 * names a subject: it tells clients they need not tag a fallback `sha256-<hex>` index.
 */
export function subjectHeader(registry: SandboxRegistry, manifest: Buffer): Record<string, string> {
  if (!registry.referrersApi) return {};
  const subject = parseManifest(manifest)?.subject?.digest;
  // An unreadable manifest gets no header; the registry answers MANIFEST_INVALID itself.
  return subject === undefined ? {} : { 'oci-subject': subject };
}
