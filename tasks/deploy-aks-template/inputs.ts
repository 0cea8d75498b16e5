import {
  parseKubectlVersion,
  readClusterConnection,
  type ClusterConnection,
  type ClusterInputName,
  type KubectlVersion,
} from '../common/cluster';
import { userError } from './messages';
import type { ImageReference } from '../common/imageReference';
import { InputReader, imageReferenceInput, numberedLines } from '../common/inputs';

// The connection and kubectl parts live in tasks/common/cluster, shared with RunAcceptanceTests.
export {
  CONNECTION_TYPES,
  parseKubectlVersion,
  readClusterConnection,
  type ClusterConnection,
  type KubectlVersion,
} from '../common/cluster';

export type InputName =
  | ClusterInputName
  | 'namespace'
  | 'templates'
  | 'images'
  | 'variables'
  | 'rolloutTimeout'
  | 'rollbackOnFailure'
  | 'forceConflicts'
  | 'kubectlVersion'
  | 'annotate'
  | 'dryRun';

export interface DeployAksTemplateInputs {
  readonly cluster: ClusterConnection;
  readonly namespace: string;
  /** Files, folders or globs, as given. */
  readonly templates: readonly string[];
  readonly images: readonly ImageReference[];
  readonly variables: ReadonlyMap<string, string>;
  readonly rolloutTimeoutSeconds: number;
  readonly rollbackOnFailure: boolean;
  /** Server-side apply with `--force-conflicts`: take fields over from their other managers. */
  readonly forceConflicts: boolean;
  readonly kubectlVersion: KubectlVersion;
  readonly annotate: boolean;
  readonly dryRun: boolean;
}

// RFC 1123 label, as Kubernetes requires for namespace names.
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function readInputs(): DeployAksTemplateInputs {
  const input = new InputReader<InputName>();
  const namespace = input.optional('namespace') ?? 'default';
  if (!NAMESPACE.test(namespace)) throw userError('InvalidNamespace', namespace);
  const templates = input.lines('templates');
  if (templates.length === 0) throw userError('InputRequired', 'templates');
  return {
    cluster: readClusterConnection(input),
    namespace,
    templates,
    images: input.lines('images').map(parseImageOverride),
    variables: parseVariables(input.credentialText('variables')),
    rolloutTimeoutSeconds: input.integer('rolloutTimeout', 600, { min: 0, max: 21600 }),
    rollbackOnFailure: input.boolean('rollbackOnFailure', false),
    forceConflicts: input.boolean('forceConflicts', false),
    kubectlVersion: parseKubectlVersion(input.optional('kubectlVersion') ?? 'auto'),
    annotate: input.boolean('annotate', true),
    dryRun: input.boolean('dryRun', false),
  };
}

/** An image override must name a repository and a tag or digest to put in its place. */
export function parseImageOverride(line: string): ImageReference {
  const reference = imageReferenceInput('images', line);
  if (reference.tag === undefined && reference.digest === undefined)
    throw userError('ImageOverrideNeedsTagOrDigest', line);
  return reference;
}

/**
 * `NAME=value` lines (blank lines ignored; spaces around the name and the value too: a trailing
 * space in a multi-line YAML input is invisible); the value may be empty and may contain `=`. A bad line is named by its number in the input, never quoted: its value may come
 * from a secret variable.
 */
export function parseVariables(text: string): ReadonlyMap<string, string> {
  const variables = new Map<string, string>();
  for (const line of numberedLines(text)) {
    const eq = line.text.indexOf('=');
    const name = eq < 0 ? '' : line.text.slice(0, eq).trim();
    if (!VARIABLE_NAME.test(name)) throw userError('InvalidVariableLine', line.number);
    if (variables.has(name)) throw userError('DuplicateVariable', name);
    variables.set(name, line.text.slice(eq + 1).trim());
  }
  return variables;
}
