/**
 * Container image references as the distribution spec and Docker define them:
 * `[registry[:port]/]path[:tag][@algorithm:hex]`.
 */
export interface ImageReference {
  /** Host (and port) of the registry, or undefined when the reference names none. */
  readonly registry: string | undefined;
  /** Repository path within the registry, e.g. `team/web`. */
  readonly repository: string;
  readonly tag: string | undefined;
  /** `sha256:<64 hex>` (or another registered algorithm). */
  readonly digest: string | undefined;
}

export class ImageReferenceError extends Error {}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const REGISTRY =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::\d{1,5})?$/;
const MAX_NAME_LENGTH = 255;

/** Parses and validates a reference; the error says which part is wrong and how it should look. */
export function parseImageReference(text: string): ImageReference {
  const input = text.trim();
  if (input === '') throw new ImageReferenceError('the image reference is empty');

  let remainder = input;
  let digest: string | undefined;
  const at = remainder.indexOf('@');
  if (at >= 0) {
    digest = remainder.slice(at + 1);
    remainder = remainder.slice(0, at);
    if (!DIGEST.test(digest)) {
      throw new ImageReferenceError(
        `'${input}' has an invalid digest '${digest}': expected sha256: followed by 64 lower-case hex digits`,
      );
    }
  }

  let tag: string | undefined;
  const lastSlash = remainder.lastIndexOf('/');
  const lastColon = remainder.lastIndexOf(':');
  if (lastColon > lastSlash) {
    tag = remainder.slice(lastColon + 1);
    remainder = remainder.slice(0, lastColon);
    if (!TAG.test(tag)) {
      throw new ImageReferenceError(
        `'${input}' has an invalid tag '${tag}': up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'`,
      );
    }
  }

  let registry: string | undefined;
  const firstSlash = remainder.indexOf('/');
  if (firstSlash >= 0) {
    const first = remainder.slice(0, firstSlash);
    // Docker's rule: the first component is a registry when it looks like a host, not a path.
    if (
      first.includes('.') ||
      first.includes(':') ||
      first === 'localhost' ||
      first !== first.toLowerCase()
    ) {
      registry = first;
      remainder = remainder.slice(firstSlash + 1);
      if (!REGISTRY.test(registry)) {
        throw new ImageReferenceError(
          `'${input}' has an invalid registry '${registry}': expected a host name with an optional :port`,
        );
      }
    }
  }

  const repository = remainder;
  if (repository === '') throw new ImageReferenceError(`'${input}' names no repository`);
  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw new ImageReferenceError(
        `'${input}' has an invalid repository '${repository}': lower-case letters, digits and separators (. _ __ -) between them, in components separated by '/'`,
      );
    }
  }
  if ((registry === undefined ? 0 : registry.length + 1) + repository.length > MAX_NAME_LENGTH) {
    throw new ImageReferenceError(`'${input}' is longer than ${MAX_NAME_LENGTH} characters before the tag`);
  }
  return { registry, repository, tag, digest };
}

/** `registry/repository[:tag][@digest]`, the canonical text of a reference. */
export function formatImageReference(reference: ImageReference): string {
  const name =
    reference.registry === undefined ? reference.repository : `${reference.registry}/${reference.repository}`;
  return `${name}${reference.tag === undefined ? '' : `:${reference.tag}`}${reference.digest === undefined ? '' : `@${reference.digest}`}`;
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}
