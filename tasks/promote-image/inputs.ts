import { readAzureConnection, type AzureConnection } from '../common/azureConnection';
import { userError } from './messages';
import {
  ImageReferenceError,
  isValidTag,
  parseImageReference,
  type ImageReference,
} from '../common/imageReference';
import { InputReader, imageReferenceInput } from '../common/inputs';

export type InputName =
  | 'sourceAzureSubscription'
  | 'sourceRegistry'
  | 'image'
  | 'targetAzureSubscription'
  | 'targetRegistry'
  | 'targetRepository'
  | 'targetTags'
  | 'method'
  | 'includeReferrers'
  | 'overwrite'
  | 'lockTags';

export const PROMOTION_METHODS = ['copy', 'import'] as const;
export type PromotionMethod = (typeof PROMOTION_METHODS)[number];

export interface PromoteImageInputs {
  readonly source: {
    readonly connection: AzureConnection;
    /** Login server, e.g. `contosononprod.azurecr.io`. */
    readonly registry: string;
    /** Repository with a tag or a digest (or both), without the registry. */
    readonly image: ImageReference;
  };
  readonly target: {
    readonly connection: AzureConnection;
    readonly registry: string;
    readonly repository: string;
    /** Empty when promoting a digest without tags. */
    readonly tags: readonly string[];
  };
  readonly method: PromotionMethod;
  readonly includeReferrers: boolean;
  readonly overwrite: boolean;
  readonly lockTags: boolean;
}

export function readInputs(): PromoteImageInputs {
  const input = new InputReader<InputName>();
  const sourceConnectionId = input.required('sourceAzureSubscription');
  const sourceConnection = readAzureConnection('sourceAzureSubscription', sourceConnectionId);
  const targetConnectionId = input.optional('targetAzureSubscription') ?? sourceConnectionId;
  const targetConnection =
    targetConnectionId === sourceConnectionId
      ? sourceConnection
      : readAzureConnection('targetAzureSubscription', targetConnectionId);

  const sourceRegistry = loginServerOf('sourceRegistry', input.required('sourceRegistry'));
  const targetRegistry = loginServerOf('targetRegistry', input.required('targetRegistry'));
  const image = sourceImageOf(input.required('image'), sourceRegistry);
  const repository = targetRepositoryOf(input.optional('targetRepository') ?? image.repository);
  const tags = targetTagsOf(input.lines('targetTags'), image);

  return {
    source: { connection: sourceConnection, registry: sourceRegistry, image },
    target: {
      connection: targetConnection,
      registry: targetRegistry,
      repository,
      tags,
    },
    method: input.choice('method', PROMOTION_METHODS, 'copy'),
    includeReferrers: input.boolean('includeReferrers', true),
    overwrite: input.boolean('overwrite', false),
    lockTags: input.boolean('lockTags', false),
  };
}

/** A registry login server: host[:port], no scheme or path (`https://` is tolerated and dropped). */
export function loginServerOf(inputName: InputName, value: string): string {
  const host = value
    .replace(/^https:\/\//i, '')
    .replace(/\/+$/, '')
    .toLowerCase();
  if (!/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::\d{1,5})?$/.test(host)) {
    throw userError('InvalidRegistry', inputName, value);
  }
  return host;
}

/** The source image, which may repeat the source registry but must not name another one. */
export function sourceImageOf(value: string, sourceRegistry: string): ImageReference {
  const reference = imageReferenceInput('image', value);
  if (reference.registry !== undefined && reference.registry.toLowerCase() !== sourceRegistry) {
    throw userError('ImageRegistryMismatch', value, sourceRegistry);
  }
  if (reference.tag === undefined && reference.digest === undefined) {
    throw userError('ImageNeedsTagOrDigest', value);
  }
  return { ...reference, registry: undefined };
}

function targetRepositoryOf(value: string): string {
  try {
    const reference = parseImageReference(value);
    if (reference.registry !== undefined || reference.tag !== undefined || reference.digest !== undefined) {
      throw new ImageReferenceError('');
    }
    return reference.repository;
  } catch (error: unknown) {
    if (error instanceof ImageReferenceError) throw userError('InvalidTargetRepository', value);
    throw error;
  }
}

/**
 * The tags to set in the target: the `targetTags` lines, or else the source's own tag; none when a
 * digest is promoted without tags.
 */
export function targetTagsOf(lines: readonly string[], image: ImageReference): readonly string[] {
  for (const tag of lines) {
    if (!isValidTag(tag)) throw userError('InvalidTargetTag', tag);
  }
  if (new Set(lines).size !== lines.length) throw userError('DuplicateTargetTag');
  if (lines.length > 0) return lines;
  return image.tag === undefined ? [] : [image.tag];
}
