import { userError } from './messages';
import { formatImageReference, parseImageReference, type ImageReference } from '../common/imageReference';
import { describeObject, isJsonObject, type JsonObject, type Manifest } from './kubernetesObject';

/** The pod spec fields that hold containers, wherever a pod spec sits in an object. */
const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/** Names Docker Hub answers to; an image without a registry is on Docker Hub. */
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export interface ImageReplacement {
  /** How messages name the object, e.g. `Deployment web`. */
  readonly object: string;
  readonly file: string;
  /** Where the container sits, e.g. `spec.template.spec.initContainers[0]`. */
  readonly path: string;
  readonly container: string | undefined;
  readonly previousImage: string;
}

export interface ImageOverrideResult {
  readonly override: ImageReference;
  /** The image text written into the matching containers. */
  readonly image: string;
  readonly replacements: readonly ImageReplacement[];
}

/**
 * `registry/repository` as a registry sees it: no registry is Docker Hub, Docker Hub's single-name
 * repositories live under `library/`, and host names are case-insensitive. Two images name the same
 * repository exactly when their repository keys are equal.
 */
export function repositoryKey(reference: ImageReference): string {
  const registry = reference.registry?.toLowerCase();
  if (registry === undefined || DOCKER_HUB_ALIASES.has(registry)) {
    const repository = reference.repository.includes('/')
      ? reference.repository
      : `library/${reference.repository}`;
    return `docker.io/${repository}`;
  }
  return `${registry}/${reference.repository}`;
}

/** Whether a container's image text names the override's repository, whatever its tag or digest. */
export function imageMatchesOverride(image: string, override: ImageReference): boolean {
  const reference = tryParseImage(image);
  return reference !== undefined && repositoryKey(reference) === repositoryKey(override);
}

/**
 * Returns copies of the manifests in which each override has replaced the image of every container,
 * init container and ephemeral container of the same repository, wherever it sits (pod templates of
 * any kind, CronJob job templates, Pods, custom resources), and what each override replaced. An
 * override that matches no container fails naming it: a silent no-op would deploy the old image.
 */
export function applyImageOverrides(
  manifests: readonly Manifest[],
  overrides: readonly ImageReference[],
): { manifests: Manifest[]; results: ImageOverrideResult[] } {
  const replacements = overrides.map((): ImageReplacement[] => []);
  const images = overrides.map(formatImageReference);
  const keys = overrides.map(repositoryKey);
  keys.forEach((key, index) => {
    const first = keys.indexOf(key);
    // Two images for one repository would leave one of them deployed nowhere, whichever won.
    if (first !== index) throw userError('ImageOverrideRepeated', images[first], images[index], key);
  });
  const rendered = manifests.map((manifest) => {
    const object = structuredClone(manifest.object);
    forEachContainer(object, '', (container, path) => {
      const current = container.image;
      if (typeof current !== 'string') return;
      const index = overrides.findIndex((override) => imageMatchesOverride(current, override));
      const image = images[index];
      if (image === undefined) return;
      replacements[index]?.push({
        object: describeObject(object),
        file: manifest.source.file,
        path,
        container: typeof container.name === 'string' ? container.name : undefined,
        previousImage: current,
      });
      container.image = image;
    });
    return { source: manifest.source, object };
  });
  const results = overrides.map((override, index) => ({
    override,
    image: images[index] ?? '',
    replacements: replacements[index] ?? [],
  }));
  const unmatched = results.find((result) => result.replacements.length === 0);
  if (unmatched !== undefined) {
    throw userError('ImageOverrideMatchedNothing', unmatched.image, repositoryKey(unmatched.override));
  }
  return { manifests: rendered, results };
}

function forEachContainer(
  node: unknown,
  path: string,
  visit: (container: JsonObject, path: string) => void,
): void {
  if (Array.isArray(node)) {
    node.forEach((item, index) => forEachContainer(item, `${path}[${index}]`, visit));
    return;
  }
  if (!isJsonObject(node)) return;
  for (const [key, value] of Object.entries(node)) {
    const childPath = path === '' ? key : `${path}.${key}`;
    if (CONTAINER_LISTS.has(key) && Array.isArray(value)) {
      value.forEach((container, index) => {
        if (isJsonObject(container)) visit(container, `${childPath}[${index}]`);
      });
    } else {
      forEachContainer(value, childPath, visit);
    }
  }
}

/** A container image the parser refuses (a typo, say) is left for the API server to report. */
function tryParseImage(image: string): ImageReference | undefined {
  try {
    return parseImageReference(image);
  } catch {
    return undefined;
  }
}
