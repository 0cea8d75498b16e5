import { parseManifest, type Descriptor, type ParsedManifest, type RawManifest } from './manifests';

/** A manifest with everything it refers to and everything that refers to it, as read from the source. */
export interface ManifestNode {
  readonly manifest: RawManifest;
  readonly parsed: ParsedManifest;
  /** An index's child manifests (every platform, attestation manifests too), in its order. */
  readonly children: readonly ManifestNode[];
  /** Artifacts whose `subject` is this manifest, with the descriptor the source listed them by. */
  readonly referrers: readonly { readonly descriptor: Descriptor; readonly node: ManifestNode }[];
}

/** A referrer to record in the target's `sha256-<hex>` index when the target has no referrers API. */
export interface ReferrerLink {
  readonly subject: string;
  readonly descriptor: Descriptor;
}

export interface CopyPlan {
  /** The promoted digest. */
  readonly digest: string;
  /** Configs and layers of every manifest, each once, in first-seen order. */
  readonly blobs: readonly Descriptor[];
  /** Children before their index, the promoted manifest, then referrers (children first). */
  readonly manifests: readonly RawManifest[];
  readonly referrerLinks: readonly ReferrerLink[];
  readonly tags: readonly string[];
  /** Bytes of all blobs (what a copy into an empty registry moves). */
  readonly totalBlobBytes: number;
}

/**
 * What to copy and in which order: every blob before any manifest (a registry refuses a manifest
 * whose blobs it lacks), children before the index that lists them, the promoted manifest before
 * its referrers (so a signature never names a subject the target lacks), tags last (so a tag
 * appears only once everything behind it is in place).
 */
export function buildPlan(root: ManifestNode, tags: readonly string[]): CopyPlan {
  const blobs = new Map<string, Descriptor>();
  const manifests = new Map<string, RawManifest>();
  const referrerLinks: ReferrerLink[] = [];
  const referrerQueue: ManifestNode[] = [];

  const visit = (node: ManifestNode): void => {
    if (manifests.has(node.manifest.digest)) return;
    for (const child of node.children) visit(child);
    if (node.parsed.kind === 'image') {
      for (const blob of [node.parsed.config, ...node.parsed.layers]) {
        if (isDistributable(blob) && !blobs.has(blob.digest)) blobs.set(blob.digest, blob);
      }
    }
    manifests.set(node.manifest.digest, node.manifest);
    collectReferrers(node);
  };
  const collectReferrers = (node: ManifestNode): void => {
    for (const referrer of node.referrers) {
      if (
        !referrerLinks.some(
          (l) => l.subject === node.manifest.digest && l.descriptor.digest === referrer.descriptor.digest,
        )
      )
        referrerLinks.push({ subject: node.manifest.digest, descriptor: referrer.descriptor });
      referrerQueue.push(referrer.node);
    }
  };

  visit(root);
  // Referrers after the whole promoted graph; a referrer's own referrers (a signed SBOM) follow it.
  for (let next = referrerQueue.shift(); next !== undefined; next = referrerQueue.shift()) visit(next);

  const blobList = [...blobs.values()];
  return {
    digest: root.manifest.digest,
    blobs: blobList,
    manifests: [...manifests.values()],
    referrerLinks,
    tags: [...tags],
    totalBlobBytes: blobList.reduce((sum, blob) => sum + blob.size, 0),
  };
}

/**
 * Foreign (non-distributable) layers, such as Windows base layers, live at their `urls`, not in the
 * registry: the source has no copy to send, and the target accepts the manifest without them.
 */
export function isDistributable(blob: Descriptor): boolean {
  return !/\.(foreign|nondistributable)\./.test(blob.mediaType ?? '') && (blob.urls ?? []).length === 0;
}

/**
 * The blobs a target holds for certain because it holds a manifest that names them: a registry
 * takes a manifest only once every blob it names is there (MANIFEST_BLOB_UNKNOWN in the
 * distribution spec; ACR and the distribution registry both check), and keeps the blobs of the
 * manifests it holds. `held`: the digests of the manifests the target holds.
 */
export function blobsHeldWith(manifests: readonly RawManifest[], held: ReadonlySet<string>): Set<string> {
  const blobs = new Set<string>();
  for (const manifest of manifests) {
    if (!held.has(manifest.digest)) continue;
    const parsed = parseManifest(manifest);
    if (parsed.kind !== 'image') continue;
    for (const blob of [parsed.config, ...parsed.layers]) blobs.add(blob.digest);
  }
  return blobs;
}
