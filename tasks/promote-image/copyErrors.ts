import { firstLine, UserError } from '../common/errors';
import { loc, userError } from './messages';
import { ThrottledError } from '../common/retry';
import { ImageNotFoundError, TagConflictError, TagsWrittenError } from './copy';
import { UnsupportedManifestError } from './manifests';
import { RegistryAuthError } from './registryAuth';
import {
  DigestMismatchError,
  RegistryAccessError,
  RegistryAnswerError,
  RegistryPagingError,
} from './registryClient';
import { HttpStatusError } from './registryHttp';

export interface CopySides {
  readonly sourceRegistry: string;
  /** As the author wrote it (`team/web:1.4.2`), for messages about the `image` input. */
  readonly image: string;
  readonly targetRegistry: string;
}

/** Network failures before a connection stood: the registry was never reached. */
const UNREACHABLE_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'AKS_DELIVERY_PROXY_REFUSED',
  'AKS_DELIVERY_PROXY_NOT_A_TUNNEL',
]);

/** Network failures on a connection that stood: reset, cut off, or silent past the timeout. */
const CONNECTION_LOST_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_ABORTED',
]);

const TAGS_WRITTEN_MESSAGE = {
  partial: 'PromoteTagsWritten',
  unverified: 'PromoteTagsUnverified',
  unlocked: 'PromoteTagsNotLocked',
} as const satisfies Record<TagsWrittenError['state'], string>;

/**
 * The one line an author reads when a copy fails, naming the input and what to check, and whether
 * target tags were written before it; undefined for errors nobody could fix from the pipeline (the
 * entry reports those as unexpected).
 */
export function explainCopyError(error: unknown, sides: CopySides): UserError | undefined {
  if (!(error instanceof TagsWrittenError)) return explainFailure(error, sides, undefined);
  const tags = error.tags.join(', ');
  const state = loc(TAGS_WRITTEN_MESSAGE[error.state], tags);
  const explained = explainFailure(error.cause, sides, state);
  if (explained !== undefined) return explained;
  // Unforeseen, but the author must still hear that production changed.
  return new UserError(`${firstLine(error.message)}. ${state}`);
}

/**
 * `state` says which target tags were written before the failure; undefined: none was (every
 * check runs before the first write, and tags are written last).
 */
function explainFailure(error: unknown, sides: CopySides, state: string | undefined): UserError | undefined {
  const nothingTagged = state ?? loc('PromoteNothingTagged');
  const withState = (explained: UserError): UserError =>
    state === undefined ? explained : new UserError(`${explained.message} ${state}`);
  const inputOf = (registry: string, action: 'pull' | 'push'): string =>
    registry === sides.sourceRegistry && (action === 'pull' || registry !== sides.targetRegistry)
      ? 'sourceAzureSubscription'
      : 'targetAzureSubscription';

  if (error instanceof TagConflictError) {
    const tags = error.conflicts.map((c) => `${c.tag} (${c.current})`).join(', ');
    return userError(
      'PromoteTagConflict',
      `${error.registry}/${error.repository}`,
      tags,
      error.conflicts[0]?.promoted,
    );
  }
  if (error instanceof ImageNotFoundError) {
    const isTheImage =
      error.registry === sides.sourceRegistry &&
      (sides.image.endsWith(`:${error.reference}`) || sides.image.endsWith(`@${error.reference}`));
    return isTheImage
      ? userError('PromoteImageNotFound', sides.image, error.registry)
      : userError('PromoteSourceIncomplete', `${error.registry}/${error.repository}@${error.reference}`);
  }
  if (error instanceof RegistryAccessError) {
    return withState(
      userError(
        'PromoteAccessDenied',
        inputOf(error.registry, error.action),
        error.action,
        error.repository,
        error.registry,
        error.statusCode,
        error.action === 'pull' && error.registry === sides.sourceRegistry ? 'AcrPull' : 'AcrPush',
      ),
    );
  }
  if (error instanceof RegistryAuthError) {
    if (error.stage === 'basic') return withState(userError('PromoteCredentialsNeeded', error.registry));
    if (error.stage === 'anonymous')
      return withState(userError('PromoteAnonymousTokenRefused', error.registry, error.statusCode));
    const input = inputOf(error.registry, error.registry === sides.targetRegistry ? 'push' : 'pull');
    return withState(
      userError(
        error.stage === 'exchange' ? 'PromoteTokenExchangeRefused' : 'PromoteTokenRefused',
        error.registry,
        input,
        error.statusCode,
        input === 'sourceAzureSubscription' ? 'AcrPull' : 'AcrPush',
      ),
    );
  }
  if (error instanceof UnsupportedManifestError) {
    return userError('PromoteUnsupportedManifest', error.digest, error.mediaType);
  }
  if (error instanceof DigestMismatchError) {
    return userError('PromoteDigestMismatch', error.what, error.expected, error.actual, nothingTagged);
  }
  if (error instanceof RegistryAnswerError) {
    return userError(
      'PromoteRegistryNotJson',
      error.registry,
      error.request,
      error.contentType,
      nothingTagged,
    );
  }
  if (error instanceof RegistryPagingError) {
    return userError('PromoteRegistryFailed', error.message, nothingTagged);
  }
  if (error instanceof HttpStatusError || error instanceof ThrottledError) {
    return userError('PromoteRegistryFailed', error.message, nothingTagged);
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  const host = (error as { host?: unknown }).host;
  const registry = typeof host === 'string' ? host : `${sides.sourceRegistry} / ${sides.targetRegistry}`;
  if (UNREACHABLE_CODES.has(code)) return withState(userError('PromoteRegistryUnreachable', registry, code));
  if (CONNECTION_LOST_CODES.has(code))
    return userError('PromoteRegistryConnectionLost', registry, code, nothingTagged);
  return undefined;
}
