import * as tl from 'azure-pipelines-task-lib/task';
import { readAzureConnection, type AzureConnection } from '../common/azureConnection';
import { userError } from './messages';
import { InputReader } from '../common/inputs';

export type InputName =
  | 'azureSubscription'
  | 'keyVaultName'
  | 'secrets'
  | 'envSafeNames'
  | 'failOnMissing'
  | 'runAsPreJob'
  | 'concurrency';

/** One requested secret and the pipeline variable it becomes. */
export interface SecretRequest {
  readonly secretName: string;
  readonly variableName: string;
}

export type SecretSelection =
  { readonly kind: 'all' } | { readonly kind: 'named'; readonly requests: readonly SecretRequest[] };

export interface FetchKeyVaultSecretsInputs {
  readonly connection: AzureConnection;
  /** `https://<name>.<suffix>/` */
  readonly vaultUrl: string;
  readonly selection: SecretSelection;
  readonly envSafeNames: boolean;
  readonly failOnMissing: boolean;
  readonly concurrency: number;
  /** The pipeline set System.UnsafeAllowMultilineSecret: the agent then accepts multi-line secret variables. */
  readonly allowMultilineSecrets: boolean;
}

/** Concurrency adapts to throttling (tasks/common/concurrency.ts), so a high default is safe. */
export const DEFAULT_CONCURRENCY = 32;

// Key Vault's rules: 3–24 characters, letters, digits and dashes, starting with a letter.
const VAULT_NAME = /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;
const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;
// Pipeline variable names: letters, digits, '.', '_' and '-'.
const VARIABLE_NAME = /^[A-Za-z0-9_.-]+$/;

export function readInputs(): FetchKeyVaultSecretsInputs {
  const input = new InputReader<InputName>();
  const connection = readAzureConnection('azureSubscription', input.required('azureSubscription'));
  return {
    connection,
    vaultUrl: vaultUrlOf(input.required('keyVaultName'), connection.cloud.keyVaultDnsSuffix),
    selection: parseSecretSelection(input.list('secrets')),
    envSafeNames: input.boolean('envSafeNames', true),
    failOnMissing: input.boolean('failOnMissing', true),
    concurrency: input.integer('concurrency', DEFAULT_CONCURRENCY, { min: 1, max: 64 }),
    allowMultilineSecrets: tl.getVariable('System.UnsafeAllowMultilineSecret')?.toLowerCase() === 'true',
  };
}

export function readRunAsPreJob(): boolean {
  return new InputReader<InputName>().boolean('runAsPreJob', false);
}

/** A vault given by name (the cloud's suffix is added) or by its full https URL. */
export function vaultUrlOf(nameOrUrl: string, dnsSuffix: string | undefined): string {
  if (/^https?:\/\//i.test(nameOrUrl)) {
    let url: URL;
    try {
      url = new URL(nameOrUrl);
    } catch {
      throw userError('InvalidVaultUrl', nameOrUrl);
    }
    if (url.protocol !== 'https:' || (url.pathname !== '/' && url.pathname !== '')) {
      throw userError('InvalidVaultUrl', nameOrUrl);
    }
    return `https://${url.host}/`;
  }
  if (!VAULT_NAME.test(nameOrUrl)) {
    throw userError('InvalidVaultName', nameOrUrl);
  }
  if (dnsSuffix === undefined) {
    throw userError('VaultSuffixUnknown', nameOrUrl);
  }
  return `https://${nameOrUrl.toLowerCase()}.${dnsSuffix}/`;
}

/** `*`, or `name` / `name:VariableName` items. */
export function parseSecretSelection(items: readonly string[]): SecretSelection {
  if (items.length === 0 || (items.length === 1 && items[0] === '*')) {
    return { kind: 'all' };
  }
  const requests = items.map((item): SecretRequest => {
    if (item === '*') throw userError('SecretsStarNotAlone');
    const colon = item.indexOf(':');
    const secretName = (colon < 0 ? item : item.slice(0, colon)).trim();
    const variableName = (colon < 0 ? item : item.slice(colon + 1)).trim();
    if (!SECRET_NAME.test(secretName)) throw userError('InvalidSecretName', secretName);
    if (!VARIABLE_NAME.test(variableName)) throw userError('InvalidVariableName', variableName, secretName);
    if (isReservedVariableName(variableName)) throw userError('ReservedVariableName', variableName);
    return { secretName, variableName };
  });
  return { kind: 'named', requests };
}

/**
 * Names the agent owns: the predefined variables (`System.AccessToken`, `Build.SourceBranch`, …),
 * some read-only, all meaning something to other tasks.
 */
const RESERVED_PREFIXES = [
  'system.',
  'agent.',
  'build.',
  'release.',
  'pipeline.',
  'environment.',
  'resources.',
  'task.',
];

export function isReservedVariableName(name: string): boolean {
  const lower = name.toLowerCase();
  return RESERVED_PREFIXES.some((prefix) => lower.startsWith(prefix));
}
