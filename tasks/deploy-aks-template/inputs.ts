import * as fs from 'node:fs';
import * as tl from 'azure-pipelines-task-lib/task';
import { readAzureConnection, type AzureConnection } from '../common/azureConnection';
import { userError } from './messages';
import type { ImageReference } from '../common/imageReference';
import { InputReader, imageReferenceInput } from '../common/inputs';

export type InputName =
  | 'connectionType'
  | 'azureSubscription'
  | 'resourceGroup'
  | 'cluster'
  | 'useClusterAdmin'
  | 'kubernetesServiceConnection'
  | 'kubeconfig'
  | 'namespace'
  | 'templates'
  | 'images'
  | 'variables'
  | 'rolloutTimeout'
  | 'rollbackOnFailure'
  | 'kubectlVersion'
  | 'annotate'
  | 'dryRun';

export const CONNECTION_TYPES = [
  'azureResourceManager',
  'kubernetesServiceConnection',
  'kubeconfig',
] as const;

export type ClusterConnection =
  | {
      readonly kind: 'azureResourceManager';
      readonly connection: AzureConnection;
      readonly resourceGroup: string;
      readonly cluster: string;
      readonly useClusterAdmin: boolean;
    }
  | {
      readonly kind: 'kubernetesServiceConnection';
      readonly endpointId: string;
      readonly authorizationType: string;
    }
  | { readonly kind: 'kubeconfig'; readonly path: string };

/** `auto` (kubectl on PATH, else the latest stable), `latest`, or a version like `1.32.4`. */
export type KubectlVersion =
  | { readonly kind: 'auto' }
  | { readonly kind: 'latest' }
  | { readonly kind: 'exact'; readonly version: string };

export interface DeployAksTemplateInputs {
  readonly cluster: ClusterConnection;
  readonly namespace: string;
  /** Files, folders or globs, as given. */
  readonly templates: readonly string[];
  readonly images: readonly ImageReference[];
  readonly variables: ReadonlyMap<string, string>;
  readonly rolloutTimeoutSeconds: number;
  readonly rollbackOnFailure: boolean;
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
    variables: parseVariables(input.lines('variables')),
    rolloutTimeoutSeconds: input.integer('rolloutTimeout', 600, { min: 0, max: 21600 }),
    rollbackOnFailure: input.boolean('rollbackOnFailure', false),
    kubectlVersion: parseKubectlVersion(input.optional('kubectlVersion') ?? 'auto'),
    annotate: input.boolean('annotate', true),
    dryRun: input.boolean('dryRun', false),
  };
}

function readClusterConnection(input: InputReader<InputName>): ClusterConnection {
  switch (input.choice('connectionType', CONNECTION_TYPES, 'azureResourceManager')) {
    case 'azureResourceManager':
      return {
        kind: 'azureResourceManager',
        connection: readAzureConnection('azureSubscription', input.required('azureSubscription')),
        resourceGroup: input.required('resourceGroup'),
        cluster: input.required('cluster'),
        useClusterAdmin: input.boolean('useClusterAdmin', false),
      };
    case 'kubernetesServiceConnection': {
      const endpointId = input.required('kubernetesServiceConnection');
      if (tl.getEndpointAuthorizationScheme(endpointId, true) === undefined) {
        throw userError('ConnectionNotFound', 'kubernetesServiceConnection', endpointId);
      }
      const authorizationType =
        tl.getEndpointDataParameter(endpointId, 'authorizationType', true) ?? 'Kubeconfig';
      return { kind: 'kubernetesServiceConnection', endpointId, authorizationType };
    }
    case 'kubeconfig': {
      const path = input.path('kubeconfig');
      if (path === undefined) throw userError('InputRequired', 'kubeconfig');
      if (!fs.existsSync(path) || !fs.statSync(path).isFile()) throw userError('KubeconfigNotFound', path);
      return { kind: 'kubeconfig', path };
    }
  }
}

/** An image override must name a repository and a tag or digest to put in its place. */
export function parseImageOverride(line: string): ImageReference {
  const reference = imageReferenceInput('images', line);
  if (reference.tag === undefined && reference.digest === undefined)
    throw userError('ImageOverrideNeedsTagOrDigest', line);
  return reference;
}

/**
 * `NAME=value` lines; the value may be empty and may contain `=`. A bad line is named by its
 * number, never quoted: its value may come from a secret variable.
 */
export function parseVariables(lines: readonly string[]): ReadonlyMap<string, string> {
  const variables = new Map<string, string>();
  lines.forEach((line, index) => {
    const eq = line.indexOf('=');
    const name = eq < 0 ? '' : line.slice(0, eq).trim();
    if (!VARIABLE_NAME.test(name)) throw userError('InvalidVariableLine', index + 1);
    if (variables.has(name)) throw userError('DuplicateVariable', name);
    variables.set(name, line.slice(eq + 1));
  });
  return variables;
}

export function parseKubectlVersion(value: string): KubectlVersion {
  const lower = value.toLowerCase();
  if (lower === 'auto') return { kind: 'auto' };
  if (lower === 'latest') return { kind: 'latest' };
  const match = /^v?(\d+\.\d+\.\d+)$/.exec(value);
  if (match?.[1] === undefined) throw userError('InvalidKubectlVersion', value);
  return { kind: 'exact', version: match[1] };
}
