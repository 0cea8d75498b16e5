import type { UserError } from '../common/errors';
import { userError } from './messages';
import { ThrottledError } from '../common/retry';
import { ImageNotFoundError, TagConflictError } from './copy';
import { UnsupportedManifestError } from './manifests';
import { RegistryAuthError } from './registryAuth';
import { DigestMismatchError, RegistryAccessError } from './registryClient';
import { HttpStatusError } from './registryHttp';

export interface CopySides {
  readonly sourceRegistry: string;
  /** As the author wrote it (`team/web:1.4.2`), for messages about the `image` input. */
  readonly image: string;
  readonly targetRegistry: string;
}

/** Network failures that mean "could not talk to the registry at all", not "it answered badly". */
const UNREACHABLE_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'AKS_DELIVERY_PROXY_REFUSED',
  'AKS_DELIVERY_PROXY_NOT_A_TUNNEL',
]);

/**
 * The one line an author reads when a copy fails, naming the input and what to check; undefined
 * for errors nobody could fix from the pipeline (the entry reports those as unexpected).
 */
export function explainCopyError(error: unknown, sides: CopySides): UserError | undefined {
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
    return userError(
      'PromoteAccessDenied',
      inputOf(error.registry, error.action),
      error.action,
      error.repository,
      error.registry,
      error.statusCode,
      error.action === 'pull' && error.registry === sides.sourceRegistry ? 'AcrPull' : 'AcrPush',
    );
  }
  if (error instanceof RegistryAuthError) {
    if (error.stage === 'basic') return userError('PromoteCredentialsNeeded', error.registry);
    const input = inputOf(error.registry, error.registry === sides.targetRegistry ? 'push' : 'pull');
    return userError(
      error.stage === 'exchange' ? 'PromoteTokenExchangeRefused' : 'PromoteTokenRefused',
      error.registry,
      input,
      error.statusCode,
      input === 'sourceAzureSubscription' ? 'AcrPull' : 'AcrPush',
    );
  }
  if (error instanceof UnsupportedManifestError) {
    return userError('PromoteUnsupportedManifest', error.digest, error.mediaType);
  }
  if (error instanceof DigestMismatchError) {
    return userError('PromoteDigestMismatch', error.what, error.expected, error.actual);
  }
  if (error instanceof HttpStatusError) {
    return userError('PromoteRegistryFailed', error.message);
  }
  if (error instanceof ThrottledError) {
    return userError('PromoteRegistryFailed', error.message);
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) {
    const host = (error as { host?: unknown }).host;
    return userError(
      'PromoteRegistryUnreachable',
      typeof host === 'string' ? host : `${sides.sourceRegistry} / ${sides.targetRegistry}`,
      code,
    );
  }
  return undefined;
}
