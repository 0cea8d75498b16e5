import * as crypto from 'node:crypto';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import type { AcrSandbox } from './index';
import { getManifest, putManifest, sha256Digest, uploadBlob, type RegistryEndpoint } from './registry';

/**
 * Test images without Docker: content is generated in-process and pushed over the distribution API
 * (through the ACR front, with the sandbox's owner token).
 *
 * Why not an OCI layout and skopeo: a child process per push costs ~100 ms and a temp folder, the
 * layout must be written to disk first, and errors come back as text. The API push is ~40 lines,
 * streams layers of any size straight from a generator (nothing is held in memory or on disk), and
 * returns the digests directly. skopeo is still exercised where it matters: copying between registries.
 */

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  /**
   * Real gzip'd tars: skopeo (containers/image) sniffs layer bytes and gzips anything uncompressed
   * on its way to a registry, which changes digests; real images are compressed anyway.
   */
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  empty: 'application/vnd.oci.empty.v1+json',
} as const;

/** The OCI empty descriptor's content. */
const EMPTY_JSON = Buffer.from('{}');

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly platform?: Platform;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface PushImageOptions {
  /** Tag to set (besides the digest); none pushes by digest only. */
  readonly tag?: string;
  readonly extraTags?: readonly string[];
  /** `os/arch[/variant]`; default `['linux/amd64']`. */
  readonly platforms?: readonly string[];
  /** Push an OCI index even for one platform; default: an index when there is more than one. */
  readonly index?: boolean;
  /**
   * Random bytes per layer (each platform gets its own layers); default `[2048, 8192]`. Each layer is
   * a gzip'd tar holding one file of that many bytes, stored uncompressed (random data does not
   * compress), so a blob is that size plus ~1.5 KiB of tar and under 0.1 % of gzip framing.
   */
  readonly layerSizes?: readonly number[];
  /** Artifact types of referrers to attach to the top-level digest (e.g. `application/vnd.example.sbom`). */
  readonly referrers?: readonly string[];
  /** Annotations of the top-level manifest or index. */
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface PushedPlatform {
  readonly platform: string;
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly layerDigests: readonly string[];
  readonly layers: readonly { readonly digest: string; readonly size: number; readonly diffId: string }[];
}

export interface PushedImage {
  readonly repository: string;
  readonly tags: readonly string[];
  /** The top-level digest: the index when there is one, else the image manifest. */
  readonly digest: string;
  readonly mediaType: string;
  /** The top-level manifest's size, for descriptors (e.g. a referrer's `subject`). */
  readonly size: number;
  readonly indexDigest?: string;
  /** One per platform, in the order asked for. */
  readonly manifestDigests: readonly string[];
  readonly platforms: readonly PushedPlatform[];
  readonly referrerDigests: readonly string[];
  /** Configs and layers of every platform (not the referrers' blobs). */
  readonly blobDigests: readonly string[];
  /** Whether referrers were recorded in the `sha256-<hex>` fallback tag (no referrers API). */
  readonly usedReferrersTag: boolean;
}

/** Pushes a generated image to a sandbox registry through its ACR front. */
export async function pushImage(
  acr: AcrSandbox,
  registry: string,
  repository: string,
  options: PushImageOptions = {},
): Promise<PushedImage> {
  return pushImageTo(acr.ownerEndpoint(registry), repository, options);
}

/** A blob generated on demand: the same bytes every time it is opened. */
export interface GeneratedBlob {
  readonly digest: string;
  readonly size: number;
  open(): Readable;
}

export interface GeneratedLayer extends GeneratedBlob {
  /** sha256 of the uncompressed tar: what the image config lists in `rootfs.diff_ids`. */
  readonly diffId: string;
}

const CHUNK = 1024 * 1024;

/**
 * `size` pseudo-random bytes from `seed` (AES-128-CTR keystream): fast (GB/s), never held in memory,
 * and reproducible, so a digest is computed in one pass and the upload streams another.
 */
function randomBytesFrom(seed: Buffer, size: number): Generator<Buffer> {
  const cipher = crypto.createCipheriv('aes-128-ctr', seed, Buffer.alloc(16));
  const zeros = Buffer.alloc(Math.min(CHUNK, Math.max(size, 1)));
  return (function* chunks(): Generator<Buffer> {
    for (let remaining = size; remaining > 0;) {
      const length = Math.min(remaining, zeros.length);
      remaining -= length;
      yield cipher.update(zeros.subarray(0, length));
    }
  })();
}

async function digestOf(stream: Readable): Promise<{ digest: string; size: number }> {
  const hash = crypto.createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** A blob of `size` random bytes. */
export async function generatedBlob(
  size: number,
  seed: Buffer = crypto.randomBytes(16),
): Promise<GeneratedBlob> {
  const open = (): Readable => Readable.from(randomBytesFrom(seed, size));
  return { ...(await digestOf(open())), open };
}

/** A ustar header for one regular file (root-owned, mtime 0: reproducible). */
export function tarHeader(name: string, size: number, mode = 0o644): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string): void =>
    void header.write(value, offset, length, 'ascii');
  const octal = (value: number, length: number): string => `${value.toString(8).padStart(length - 1, '0')}\0`;
  field(0, 100, name);
  field(100, 8, octal(mode, 8));
  field(108, 8, octal(0, 8));
  field(116, 8, octal(0, 8));
  field(124, 12, octal(size, 12));
  field(136, 12, octal(0, 12));
  field(148, 8, '        ');
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let checksum = 0;
  for (const byte of header) checksum += byte;
  field(148, 8, `${checksum.toString(8).padStart(6, '0')}\0 `);
  return header;
}

/**
 * A gzip'd tar layer holding one file of `size` random bytes. gzip level 0 stores the data: random
 * bytes do not compress, and storing keeps generation at memory speed even for 100s of MiB.
 */
export async function generatedLayer(
  size: number,
  seed: Buffer = crypto.randomBytes(16),
): Promise<GeneratedLayer> {
  const name = `sandbox/${seed.toString('hex')}.bin`;
  const tar = (): Readable =>
    Readable.from(
      (function* entries(): Generator<Buffer> {
        yield tarHeader(name, size);
        yield* randomBytesFrom(seed, size);
        // Pad the file to a 512-byte record, then two zero records end the archive.
        yield Buffer.alloc(((512 - (size % 512)) % 512) + 1024);
      })(),
    );
  const open = (): Readable => tar().pipe(zlib.createGzip({ level: 0, chunkSize: 1024 * 1024 }));
  const [compressed, uncompressed] = await Promise.all([digestOf(open()), digestOf(tar())]);
  return { ...compressed, diffId: uncompressed.digest, open };
}

function parsePlatform(text: string): Platform {
  const [os = 'linux', architecture = 'amd64', variant] = text.split('/');
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

function jsonBuffer(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** Same as `pushImage`, to any distribution endpoint (a real registry directly, or a front). */
export async function pushImageTo(
  endpoint: RegistryEndpoint,
  repository: string,
  options: PushImageOptions = {},
): Promise<PushedImage> {
  const platforms = options.platforms ?? ['linux/amd64'];
  if (platforms.length === 0) throw new Error('pushImage needs at least one platform');
  const layerSizes = options.layerSizes ?? [2048, 8192];
  const asIndex = options.index ?? platforms.length > 1;
  const pushedPlatforms: PushedPlatform[] = [];
  const platformDescriptors: Descriptor[] = [];
  let single: { body: Buffer; digest: string } | undefined;

  for (const text of platforms) {
    const platform = parsePlatform(text);
    const layers = await Promise.all(layerSizes.map((size) => generatedLayer(size)));
    await Promise.all(
      layers.map((layer) =>
        uploadBlob(endpoint, repository, {
          digest: layer.digest,
          size: layer.size,
          content: () => Promise.resolve(layer.open()),
        }),
      ),
    );
    const config = jsonBuffer({
      created: new Date().toISOString(),
      ...platform,
      config: {
        Env: ['PATH=/usr/local/bin:/usr/bin:/bin'],
        Cmd: ['/app'],
        Labels: { 'sandbox.nonce': crypto.randomUUID() },
      },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(() => ({ created_by: 'aks-delivery sandbox: generated layer' })),
    });
    const configDigest = sha256Digest(config);
    await uploadBlob(endpoint, repository, { digest: configDigest, size: config.length, content: config });
    const manifest = jsonBuffer({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      config: { mediaType: MEDIA_TYPES.config, digest: configDigest, size: config.length },
      layers: layers.map((l) => ({ mediaType: MEDIA_TYPES.layer, digest: l.digest, size: l.size })),
      ...(asIndex || options.annotations === undefined ? {} : { annotations: options.annotations }),
    });
    const manifestDigest = sha256Digest(manifest);
    await putManifest(endpoint, repository, manifestDigest, MEDIA_TYPES.manifest, manifest);
    pushedPlatforms.push({
      platform: text,
      manifestDigest,
      configDigest,
      layerDigests: layers.map((l) => l.digest),
      layers: layers.map((l) => ({ digest: l.digest, size: l.size, diffId: l.diffId })),
    });
    platformDescriptors.push({
      mediaType: MEDIA_TYPES.manifest,
      digest: manifestDigest,
      size: manifest.length,
      platform,
    });
    single = { body: manifest, digest: manifestDigest };
  }

  let top: { body: Buffer; digest: string; mediaType: string };
  if (asIndex) {
    const index = jsonBuffer({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.index,
      manifests: platformDescriptors,
      ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
    });
    top = { body: index, digest: sha256Digest(index), mediaType: MEDIA_TYPES.index };
    await putManifest(endpoint, repository, top.digest, top.mediaType, top.body);
  } else {
    if (single === undefined) throw new Error('no platform was pushed');
    top = { ...single, mediaType: MEDIA_TYPES.manifest };
  }
  const tags = [...(options.tag === undefined ? [] : [options.tag]), ...(options.extraTags ?? [])];
  for (const tag of tags) await putManifest(endpoint, repository, tag, top.mediaType, top.body);

  const subject: Descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.body.length };
  const referrerDigests: string[] = [];
  let usedReferrersTag = false;
  for (const artifactType of options.referrers ?? []) {
    const pushed = await pushReferrer(endpoint, repository, subject, artifactType);
    referrerDigests.push(pushed.digest);
    usedReferrersTag ||= pushed.usedReferrersTag;
  }
  return {
    repository,
    tags,
    digest: top.digest,
    mediaType: top.mediaType,
    size: top.body.length,
    ...(asIndex ? { indexDigest: top.digest } : {}),
    manifestDigests: pushedPlatforms.map((p) => p.manifestDigest),
    platforms: pushedPlatforms,
    referrerDigests,
    blobDigests: pushedPlatforms.flatMap((p) => [p.configDigest, ...p.layerDigests]),
    usedReferrersTag,
  };
}

/** The OCI referrers tag schema: `sha256:<hex>` → `sha256-<hex>`. */
export function referrersTagOf(digest: string): string {
  return digest.replace(':', '-');
}

export interface ReferrerOptions {
  /** The artifact's single layer; default a small JSON document naming the subject. */
  readonly content?: Buffer;
  readonly contentMediaType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * Pushes an artifact that refers to `subject` (OCI 1.1: `subject` + `artifactType`, empty config).
 * When the registry does not answer with `OCI-Subject` (no referrers API), it also adds the artifact
 * to the `sha256-<hex>` fallback index, as oras and notation do.
 */
export async function pushReferrer(
  endpoint: RegistryEndpoint,
  repository: string,
  subject: Descriptor,
  artifactType: string,
  options: ReferrerOptions = {},
): Promise<{ digest: string; size: number; usedReferrersTag: boolean }> {
  const content =
    options.content ?? jsonBuffer({ artifactType, subject: subject.digest, nonce: crypto.randomUUID() });
  const contentDigest = sha256Digest(content);
  await uploadBlob(endpoint, repository, {
    digest: sha256Digest(EMPTY_JSON),
    size: EMPTY_JSON.length,
    content: EMPTY_JSON,
  });
  await uploadBlob(endpoint, repository, { digest: contentDigest, size: content.length, content });
  const annotations = {
    'org.opencontainers.image.created': new Date().toISOString(),
    ...options.annotations,
  };
  const manifest = jsonBuffer({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    artifactType,
    config: { mediaType: MEDIA_TYPES.empty, digest: sha256Digest(EMPTY_JSON), size: EMPTY_JSON.length },
    layers: [
      {
        mediaType: options.contentMediaType ?? 'application/json',
        digest: contentDigest,
        size: content.length,
      },
    ],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations,
  });
  const digest = sha256Digest(manifest);
  const put = await putManifest(endpoint, repository, digest, MEDIA_TYPES.manifest, manifest);
  if (put.headers['oci-subject'] !== undefined)
    return { digest, size: manifest.length, usedReferrersTag: false };

  const tag = referrersTagOf(subject.digest);
  const existing = await getManifest(endpoint, repository, tag);
  const index =
    existing === undefined
      ? { schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: [] as Descriptor[] }
      : (JSON.parse(existing.body.toString('utf8')) as {
          schemaVersion: number;
          mediaType: string;
          manifests: Descriptor[];
        });
  if (!index.manifests.some((m) => m.digest === digest)) {
    index.manifests.push({
      mediaType: MEDIA_TYPES.manifest,
      digest,
      size: manifest.length,
      artifactType,
      annotations,
    });
  }
  await putManifest(endpoint, repository, tag, MEDIA_TYPES.index, jsonBuffer(index));
  return { digest, size: manifest.length, usedReferrersTag: true };
}
