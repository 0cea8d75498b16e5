import * as crypto from 'node:crypto';
import { pipeline, Transform, type Readable } from 'node:stream';
import { ConcurrencyLimit } from '../common/concurrency';
import { DEFAULT_RETRY, withRetries, type RetryHooks, type RetryPolicyOptions } from '../common/retry';
import {
  MEDIA_TYPES,
  parseManifest,
  referrersTagOf,
  sha256Of,
  type Descriptor,
  type RawManifest,
} from './manifests';
import { blobsHeldWith, buildPlan, type CopyPlan, type ManifestNode } from './plan';
import { DigestMismatchError, type ReferrerListing, type RegistryClient } from './registryClient';
import { decideTags, type TagConflict, type TagDecision } from './tagProtection';

export interface CopyEndpoint {
  readonly client: RegistryClient;
  readonly repository: string;
}

export interface CopyOptions {
  /** `reference`: a tag or a digest; a tag is resolved to a digest once, and only that digest is read after. */
  readonly source: CopyEndpoint & { readonly reference: string };
  readonly target: CopyEndpoint & { readonly tags: readonly string[] };
  readonly includeReferrers: boolean;
  readonly overwrite: boolean;
  /** Blobs in flight at once; default 6 (what skopeo uses). */
  readonly concurrency?: number;
  /** Per blob: a blob whose transfer breaks is sent again from its first byte. */
  readonly blobRetry?: RetryPolicyOptions;
  readonly retryHooks?: RetryHooks;
  readonly log?: (line: string) => void;
}

export interface CopyStats {
  readonly blobsCopied: number;
  readonly blobsSkipped: number;
  readonly blobsMounted: number;
  /** Blob bytes sent to the target (0 when it had everything). */
  readonly bytesCopied: number;
  readonly manifestsCopied: number;
  readonly manifestsSkipped: number;
  readonly tagsWritten: number;
  readonly durationMs: number;
}

export interface CopyResult {
  readonly digest: string;
  readonly plan: CopyPlan;
  readonly tags: readonly TagDecision[];
  readonly stats: CopyStats;
}

/** Target tags point at other digests and overwrite is off: nothing was written. */
export class TagConflictError extends Error {
  constructor(
    readonly registry: string,
    readonly repository: string,
    readonly conflicts: readonly TagConflict[],
  ) {
    super(
      conflicts
        .map((c) => `${registry}/${repository}:${c.tag} points at ${c.current}, not ${c.promoted}`)
        .join('; '),
    );
    this.name = 'TagConflictError';
  }
}

/**
 * Where a promotion stood when it failed after writing target tags, which the author must hear:
 * `partial`, some tags written (they hold the promoted digest) and the rest not; `unverified`, the
 * tags may not hold it (the registry stored or serves another digest); `unlocked`, every tag holds
 * it but locking them failed.
 */
export type TagsWrittenState = 'partial' | 'unverified' | 'unlocked';

/** A failure after target tags were written: production changed, and the message must say how. */
export class TagsWrittenError extends Error {
  constructor(
    readonly tags: readonly string[],
    readonly state: TagsWrittenState,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'TagsWrittenError';
  }
}

export class ImageNotFoundError extends Error {
  constructor(
    readonly registry: string,
    readonly repository: string,
    readonly reference: string,
  ) {
    super(
      `${registry}/${repository}${reference.startsWith('sha256:') ? '@' : ':'}${reference} was not found`,
    );
    this.name = 'ImageNotFoundError';
  }
}

/** Referrer chains (a signature of an SBOM of an image) are followed this deep, no deeper. */
const MAX_REFERRER_DEPTH = 3;
const DEFAULT_CONCURRENCY = 6;
const CHECK_CONCURRENCY = 16;

/**
 * Promotes one digest: resolve, read the whole graph, check the target tags, then copy blobs,
 * manifests (byte for byte, each digest verified) and finally the tags. Nothing is written to the
 * target before the tag check has passed, and no tag is written before everything it names is there.
 */
export async function copyImage(options: CopyOptions): Promise<CopyResult> {
  const started = Date.now();
  const log = options.log ?? ((): void => undefined);
  const { source, target } = options;

  // The target's tags are read while the source's graph is: the target's sign-in (its challenge,
  // token exchange and token) then costs no time of its own. Asked with the push scope, so the
  // token serves the blob checks and writes after it too.
  const current = new Map<string, string | undefined>();
  const tagsRead = Promise.all(
    [...new Set(target.tags)].map(async (tag) =>
      current.set(tag, await target.client.manifestDigest(target.repository, tag, 'push')),
    ),
  );
  // Whether the target holds each manifest is asked as soon as the source names its digest, while
  // the rest of the graph is read (reads only: nothing is written before the tag check below). A
  // target tag that names the digest already says so: a re-run does not ask again.
  const presence = new Map<string, Promise<boolean>>();
  const presenceOf = (digest: string): Promise<boolean> => {
    let held = presence.get(digest);
    if (held === undefined) {
      held = tagsRead.then(
        async () =>
          [...current.values()].includes(digest) ||
          (await target.client.manifestDigest(target.repository, digest, 'push')) === digest,
      );
      // Awaited below; until then a failure must not count as unhandled.
      held.catch(() => undefined);
      presence.set(digest, held);
    }
    return held;
  };
  // Settled at once, so a failure of one side never goes unhandled while the other is awaited.
  const [graph, tagsOutcome] = await Promise.allSettled([
    readGraph(source, options.includeReferrers, (digest) => void presenceOf(digest)),
    tagsRead,
  ]);
  if (graph.status === 'rejected') throw graph.reason;
  if (tagsOutcome.status === 'rejected') throw tagsOutcome.reason;
  const plan = buildPlan(graph.value, target.tags);
  log(
    `${source.client.host}/${source.repository}@${plan.digest}: ${plan.manifests.length} manifest(s), ${plan.blobs.length} blob(s), ${plan.totalBlobBytes} bytes`,
  );

  const tagCheck = decideTags(plan.tags, current, plan.digest, options.overwrite);
  if (!tagCheck.ok) throw new TagConflictError(target.client.host, target.repository, tagCheck.conflicts);

  const present = await Promise.all(plan.manifests.map((manifest) => presenceOf(manifest.digest)));
  const held = new Set(plan.manifests.filter((_, i) => present[i] === true).map((m) => m.digest));
  // A re-promotion finds every manifest in place and so asks for no blob at all.
  const blobStats = await copyBlobs(options, plan.blobs, blobsHeldWith(plan.manifests, held));
  const manifestStats = await copyManifests(target, plan.manifests, present);
  await linkReferrers(target, plan);

  const written: string[] = [];
  const top = plan.manifests.find((m) => m.digest === plan.digest);
  if (top === undefined) throw new Error(`the plan lacks the promoted manifest ${plan.digest}`);
  for (const decision of tagCheck.decisions) {
    if (decision.action === 'keep') continue;
    let stored;
    try {
      stored = await target.client.putManifest(target.repository, decision.tag, top);
    } catch (error: unknown) {
      throw written.length > 0 ? new TagsWrittenError(written, 'partial', error) : error;
    }
    written.push(decision.tag);
    if (stored.digest !== plan.digest)
      throw new TagsWrittenError(
        written,
        'unverified',
        new DigestMismatchError(
          `${target.client.host}/${target.repository}:${decision.tag}`,
          plan.digest,
          stored.digest,
        ),
      );
  }
  const tagsWritten = written.length;

  return {
    digest: plan.digest,
    plan,
    tags: tagCheck.decisions,
    stats: {
      ...blobStats,
      manifestsCopied: manifestStats.copied,
      manifestsSkipped: manifestStats.skipped,
      tagsWritten,
      durationMs: Date.now() - started,
    },
  };
}

/**
 * The promoted manifest with its children and referrers, every manifest read by digest and verified.
 * `discovered` hears each manifest digest as soon as it is known (before its bytes are read).
 */
export async function readGraph(
  source: CopyEndpoint & { readonly reference: string },
  includeReferrers: boolean,
  discovered: (digest: string) => void = () => undefined,
): Promise<ManifestNode> {
  const { client, repository } = source;
  const seen = new Set<string>();
  const listing = (digest: string, depth: number): Promise<ReferrerListing | undefined> =>
    includeReferrers && depth < MAX_REFERRER_DEPTH
      ? client.referrers(repository, digest)
      : Promise.resolve(undefined);

  /**
   * `digest` when the index or listing that names the manifest gave it: its referrers are then
   * listed while its bytes are read, not after.
   */
  const nodeOf = async (
    read: () => Promise<RawManifest>,
    digest: string | undefined,
    depth: number,
  ): Promise<ManifestNode> => {
    const [manifestRead, earlyListing] = await Promise.allSettled([
      read(),
      digest === undefined ? Promise.resolve(undefined) : listing(digest, depth),
    ]);
    if (manifestRead.status === 'rejected') throw manifestRead.reason;
    if (earlyListing.status === 'rejected') throw earlyListing.reason;
    const manifest = manifestRead.value;
    if (digest === undefined) {
      seen.add(manifest.digest);
      discovered(manifest.digest);
    }
    const parsed = parseManifest(manifest);
    const named = (d: Descriptor): Promise<ManifestNode> => {
      seen.add(d.digest);
      discovered(d.digest);
      return nodeOf(() => fetchByDigest(d.digest), d.digest, depth);
    };
    const [childrenRead, listingRead] = await Promise.allSettled([
      parsed.kind === 'index' ? Promise.all(parsed.manifests.map(named)) : Promise.resolve([]),
      digest === undefined ? listing(manifest.digest, depth) : Promise.resolve(earlyListing.value),
    ]);
    if (childrenRead.status === 'rejected') throw childrenRead.reason;
    if (listingRead.status === 'rejected') throw listingRead.reason;
    const referrers: { descriptor: Descriptor; node: ManifestNode }[] = [];
    for (const descriptor of listingRead.value?.manifests ?? []) {
      if (seen.has(descriptor.digest)) continue;
      seen.add(descriptor.digest);
      discovered(descriptor.digest);
      referrers.push({
        descriptor,
        node: await nodeOf(() => fetchByDigest(descriptor.digest), descriptor.digest, depth + 1),
      });
    }
    return { manifest, parsed, children: childrenRead.value, referrers };
  };
  const fetchByDigest = async (digest: string): Promise<RawManifest> => {
    const manifest = await client.getManifest(repository, digest);
    if (manifest === undefined) throw new ImageNotFoundError(client.host, repository, digest);
    return manifest;
  };
  const top = async (): Promise<RawManifest> => {
    const manifest = await client.getManifest(repository, source.reference);
    if (manifest === undefined) throw new ImageNotFoundError(client.host, repository, source.reference);
    return manifest;
  };
  // A digest reference names the promoted manifest before it is read.
  const known = source.reference.startsWith('sha256:') ? source.reference : undefined;
  if (known !== undefined) {
    seen.add(known);
    discovered(known);
  }
  return nodeOf(top, known, 0);
}

async function copyBlobs(
  options: CopyOptions,
  blobs: readonly Descriptor[],
  /** Blobs the target is known to hold (blobsHeldWith): skipped without asking. */
  held: ReadonlySet<string>,
): Promise<Pick<CopyStats, 'blobsCopied' | 'blobsSkipped' | 'blobsMounted' | 'bytesCopied'>> {
  const { source, target } = options;
  const limit = new ConcurrencyLimit(options.concurrency ?? DEFAULT_CONCURRENCY);
  // The existence checks are HEADs without a body: more of them go at once than transfers do.
  const checks = new ConcurrencyLimit(CHECK_CONCURRENCY);
  const sameRegistry = source.client.host === target.client.host;
  const outcomes = await Promise.allSettled(
    blobs.map(async (blob): Promise<'copied' | 'skipped' | 'mounted'> => {
      if (held.has(blob.digest)) return 'skipped';
      // Asked with the push scope: the token the upload needs anyway serves the check too.
      if (await checks.run(() => target.client.blobExists(target.repository, blob.digest, 'push')))
        return 'skipped';
      return limit.run(async (): Promise<'copied' | 'mounted'> => {
        if (
          sameRegistry &&
          (await target.client.mountBlob(target.repository, blob.digest, source.repository))
        )
          return 'mounted';
        await withRetries(
          () =>
            target.client.uploadBlob(target.repository, blob, async () =>
              verifiedStream(await source.client.openBlob(source.repository, blob.digest), blob),
            ),
          { host: target.client.host },
          options.blobRetry ?? DEFAULT_RETRY,
          options.retryHooks,
        );
        return 'copied';
      });
    }),
  );
  const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
  const count = (what: string): number =>
    outcomes.filter((o) => o.status === 'fulfilled' && o.value === what).length;
  return {
    blobsCopied: count('copied'),
    blobsSkipped: count('skipped'),
    blobsMounted: count('mounted'),
    bytesCopied: blobs.reduce(
      (sum, blob, i) =>
        sum + (outcomes[i]?.status === 'fulfilled' && outcomes[i].value === 'copied' ? blob.size : 0),
      0,
    ),
  };
}

/**
 * Passes a blob's bytes through while hashing them, and holds the last chunk back until the digest
 * and size are checked: a registry that has received every declared byte may commit the upload, so
 * a corrupted blob must never reach its end. (The registry also checks `?digest=`; this catches
 * it first and names the source.)
 */
export function verifiedStream(body: Readable, blob: Pick<Descriptor, 'digest' | 'size'>): Readable {
  const hash = crypto.createHash('sha256');
  let size = 0;
  let held: Buffer | undefined;
  const verifier = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      if (size > blob.size) {
        callback(
          new DigestMismatchError(
            `blob ${blob.digest} size`,
            String(blob.size),
            `more than ${blob.size} bytes`,
          ),
        );
        return;
      }
      const previous = held;
      held = chunk;
      callback(null, previous);
    },
    flush(callback) {
      const digest = `sha256:${hash.digest('hex')}`;
      if (size !== blob.size)
        callback(new DigestMismatchError(`blob ${blob.digest} size`, String(blob.size), String(size)));
      else if (digest !== blob.digest)
        callback(new DigestMismatchError(`blob ${blob.digest}`, blob.digest, digest));
      else callback(null, held);
    },
  });
  // pipeline, not pipe: a source that breaks off must fail the upload, not leave it waiting.
  return pipeline(body, verifier, () => undefined);
}

async function copyManifests(
  target: CopyEndpoint,
  manifests: readonly RawManifest[],
  present: readonly boolean[],
): Promise<{ copied: number; skipped: number }> {
  let copied = 0;
  let skipped = 0;
  // In plan order, one at a time: an index is only accepted once its children are in place.
  for (const [i, manifest] of manifests.entries()) {
    if (present[i] === true) {
      skipped++;
      continue;
    }
    const stored = await target.client.putManifest(target.repository, manifest.digest, manifest);
    if (stored.digest !== manifest.digest)
      throw new DigestMismatchError(
        `${target.client.host}/${target.repository} manifest`,
        manifest.digest,
        stored.digest,
      );
    copied++;
  }
  return { copied, skipped };
}

/**
 * A target without the referrers API learns of referrers only through the `sha256-<hex>` tag
 * (OCI distribution spec, "referrers tag schema"): add the referrers it lacks to that index, keeping
 * what is there. A target with the API lists referrers from their `subject` field by itself.
 */
async function linkReferrers(target: CopyEndpoint, plan: CopyPlan): Promise<void> {
  const bySubject = new Map<string, Descriptor[]>();
  for (const link of plan.referrerLinks) {
    bySubject.set(link.subject, [...(bySubject.get(link.subject) ?? []), link.descriptor]);
  }
  for (const [subject, descriptors] of bySubject) {
    const listed = await target.client.referrers(target.repository, subject);
    if (listed.source === 'api') continue;
    const missing = descriptors.filter((d) => !listed.manifests.some((m) => m.digest === d.digest));
    if (missing.length === 0) continue;
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociIndex,
        manifests: [...listed.manifests, ...missing],
      }),
    );
    await target.client.putManifest(target.repository, referrersTagOf(subject), {
      digest: sha256Of(bytes),
      mediaType: MEDIA_TYPES.ociIndex,
      bytes,
    });
  }
}
