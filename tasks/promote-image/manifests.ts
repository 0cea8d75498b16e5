import * as crypto from 'node:crypto';

/** The manifest media types a promotion copies. Ask for all of them: a registry answers 404 to an Accept it cannot serve. */
export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerManifestList,
  MEDIA_TYPES.dockerManifest,
].join(', ');

const INDEX_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList]);
const IMAGE_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest]);

/** A content descriptor (OCI image spec), as manifests and the referrers API list them. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  /** Where a non-distributable (foreign) layer lives; such a layer is not in the registry. */
  readonly urls?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: { readonly os?: string; readonly architecture?: string; readonly variant?: string };
}

/** A manifest as the registry stores it: the exact bytes are the identity (their sha256 is the digest). */
export interface RawManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
}

/** What a manifest refers to. */
export type ParsedManifest =
  | { readonly kind: 'index'; readonly manifests: readonly Descriptor[]; readonly subject?: Descriptor }
  | {
      readonly kind: 'image';
      readonly config: Descriptor;
      readonly layers: readonly Descriptor[];
      readonly subject?: Descriptor;
    };

export class UnsupportedManifestError extends Error {
  constructor(
    readonly digest: string,
    readonly mediaType: string,
  ) {
    super(`manifest ${digest} has the unsupported media type '${mediaType}'`);
    this.name = 'UnsupportedManifestError';
  }
}

export function sha256Of(bytes: Buffer): string {
  return `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Reads an index / manifest list or an image manifest (OCI or Docker v2). The media type is the
 * Content-Type the registry served, else the document's own `mediaType`. Docker schema 1 and
 * anything else is refused: it cannot be copied byte for byte with its digest intact.
 */
export function parseManifest(manifest: RawManifest): ParsedManifest {
  let document: {
    mediaType?: unknown;
    manifests?: unknown;
    config?: unknown;
    layers?: unknown;
    subject?: unknown;
  };
  try {
    document = JSON.parse(manifest.bytes.toString('utf8')) as typeof document;
  } catch {
    throw new UnsupportedManifestError(manifest.digest, manifest.mediaType || 'not JSON');
  }
  const mediaType =
    manifest.mediaType !== ''
      ? manifest.mediaType
      : typeof document.mediaType === 'string'
        ? document.mediaType
        : '';
  const subject = isDescriptor(document.subject) ? { subject: document.subject } : {};
  // An OCI document without mediaType is told apart by its fields, as the image spec allows.
  if (INDEX_TYPES.has(mediaType) || (mediaType === '' && Array.isArray(document.manifests))) {
    return { kind: 'index', manifests: descriptors(manifest, document.manifests), ...subject };
  }
  if (IMAGE_TYPES.has(mediaType) || (mediaType === '' && document.config !== undefined)) {
    if (!isDescriptor(document.config)) throw new UnsupportedManifestError(manifest.digest, mediaType);
    return {
      kind: 'image',
      config: document.config,
      layers: descriptors(manifest, document.layers),
      ...subject,
    };
  }
  throw new UnsupportedManifestError(manifest.digest, mediaType);
}

function descriptors(manifest: RawManifest, value: unknown): Descriptor[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every(isDescriptor))
    throw new UnsupportedManifestError(manifest.digest, manifest.mediaType);
  return value;
}

function isDescriptor(value: unknown): value is Descriptor {
  if (value === null || typeof value !== 'object') return false;
  const d = value as Record<string, unknown>;
  return (
    typeof d['digest'] === 'string' &&
    /^sha256:[a-f0-9]{64}$/.test(d['digest']) &&
    typeof d['size'] === 'number' &&
    Number.isSafeInteger(d['size']) &&
    d['size'] >= 0 &&
    (d['mediaType'] === undefined || typeof d['mediaType'] === 'string')
  );
}

/** The OCI referrers tag schema: the tag under which a registry without the referrers API lists a digest's referrers. */
export function referrersTagOf(digest: string): string {
  return digest.replace(':', '-');
}
