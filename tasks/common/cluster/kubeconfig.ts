import * as path from 'node:path';
import * as YAML from 'yaml';
import { userError } from '../messages';

/**
 * Kubeconfigs as plain data, and the few rewrites we make to them. Nothing here prints a
 * kubeconfig or quotes from one: errors name where it came from and what is missing.
 */

type Json = Record<string, unknown>;

/** A parsed kubeconfig and where it came from, for messages: the input and its value. */
export interface Kubeconfig {
  readonly document: Json;
  readonly source: KubeconfigSource;
}

export interface KubeconfigSource {
  /** The input that led to it (`kubeconfig`, `kubernetesServiceConnection`, `cluster`). */
  readonly input: string;
  /** The input's value: a path, a service connection id, a cluster name. */
  readonly value: string;
}

/** The cluster and user that the current context selects. */
export interface CurrentContext {
  readonly name: string;
  readonly namespace: string | undefined;
  readonly cluster: Json;
  readonly user: Json;
  readonly server: string;
}

/** The application id of AKS's Microsoft Entra server app, audience of tokens for Entra ID clusters. */
export const AKS_SERVER_APP_ID = '6dae42f8-4368-4678-94ff-3960e28e3630';

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function namedEntries(document: Json, list: string, field: string): { name: string; value: Json }[] {
  const entries = document[list];
  if (!Array.isArray(entries)) return [];
  return entries.flatMap((entry: unknown) =>
    isObject(entry) && typeof entry['name'] === 'string' && isObject(entry[field])
      ? [{ name: entry['name'], value: entry[field] }]
      : [],
  );
}

/**
 * Parses kubeconfig text. A YAML error is reported by line only: yaml's own message quotes the
 * offending text, which may be a token.
 */
export function parseKubeconfig(text: string, source: KubeconfigSource): Kubeconfig {
  let document: unknown;
  try {
    document = YAML.parse(text);
  } catch (error: unknown) {
    const line = error instanceof YAML.YAMLError ? (error.linePos?.[0]?.line ?? '?') : '?';
    throw userError('KubeconfigInvalidYaml', source.input, source.value, line);
  }
  if (!isObject(document)) throw userError('KubeconfigInvalidYaml', source.input, source.value, 1);
  return { document, source };
}

export function serializeKubeconfig(kubeconfig: Kubeconfig): string {
  return YAML.stringify(kubeconfig.document);
}

/**
 * Every credential a kubeconfig carries, in the forms a log could show: tokens, passwords, client
 * keys and certificates (base64 as written, and decoded), auth-provider tokens and secrets, and the
 * environment values of exec plugins (kubelogin takes client secrets that way).
 */
export function kubeconfigSecrets(kubeconfig: Kubeconfig): string[] {
  const secrets: string[] = [];
  const add = (value: unknown): void => {
    if (typeof value === 'string' && value.trim() !== '') secrets.push(value);
  };
  const addBase64 = (value: unknown): void => {
    add(value);
    if (typeof value === 'string') add(Buffer.from(value, 'base64').toString('utf8'));
  };
  for (const { value: user } of namedEntries(kubeconfig.document, 'users', 'user')) {
    add(user['token']);
    add(user['password']);
    addBase64(user['client-key-data']);
    addBase64(user['client-certificate-data']);
    const provider = user['auth-provider'];
    if (isObject(provider) && isObject(provider['config'])) {
      for (const [key, value] of Object.entries(provider['config']))
        if (/token|secret|key|password/i.test(key)) add(value);
    }
    const exec = user['exec'];
    if (isObject(exec) && Array.isArray(exec['env'])) {
      for (const variable of exec['env'] as unknown[]) if (isObject(variable)) add(variable['value']);
    }
  }
  return secrets;
}

export function contextNames(kubeconfig: Kubeconfig): string[] {
  return namedEntries(kubeconfig.document, 'contexts', 'context').map((c) => c.name);
}

/** Makes `name` the current context; a name the kubeconfig does not define fails naming its contexts. */
export function useContext(kubeconfig: Kubeconfig, name: string): void {
  const names = contextNames(kubeconfig);
  if (!names.includes(name)) {
    const { input, value } = kubeconfig.source;
    throw userError('KubeconfigContextNotFound', input, value, name, names.join(', ') || '-');
  }
  kubeconfig.document['current-context'] = name;
}

/**
 * The current context with its cluster, server and user. Fails with one line when there is no
 * current-context or when it points at entries that are not there.
 */
export function currentContext(kubeconfig: Kubeconfig): CurrentContext {
  const { input, value } = kubeconfig.source;
  const name = kubeconfig.document['current-context'];
  if (typeof name !== 'string' || name === '') throw userError('KubeconfigNoCurrentContext', input, value);
  const context = namedEntries(kubeconfig.document, 'contexts', 'context').find((c) => c.name === name);
  if (context === undefined) {
    throw userError(
      'KubeconfigContextNotFound',
      input,
      value,
      name,
      contextNames(kubeconfig).join(', ') || '-',
    );
  }
  const clusterName = context.value['cluster'];
  const cluster = namedEntries(kubeconfig.document, 'clusters', 'cluster').find(
    (c) => c.name === clusterName,
  );
  if (cluster === undefined) throw userError('KubeconfigIncomplete', input, value, name, 'cluster');
  const server = cluster.value['server'];
  if (typeof server !== 'string' || server === '')
    throw userError('KubeconfigIncomplete', input, value, name, 'server');
  const userName = context.value['user'];
  // A context without a user is valid: kubectl then talks to the server anonymously.
  const user =
    namedEntries(kubeconfig.document, 'users', 'user').find((u) => u.name === userName)?.value ?? {};
  const namespace = context.value['namespace'];
  return {
    name,
    namespace: typeof namespace === 'string' && namespace !== '' ? namespace : undefined,
    cluster: cluster.value,
    user,
    server: server.replace(/\/+$/, ''),
  };
}

/**
 * The Entra ID application a user signs in to when it is AKS's kubelogin exec plugin (or the
 * retired `azure` auth-provider): the `--server-id` it passes, or AKS's server app. Undefined for
 * every other kind of user.
 */
export function entraServerId(user: Json): string | undefined {
  const exec = user['exec'];
  if (isObject(exec)) {
    const command = typeof exec['command'] === 'string' ? path.basename(exec['command']) : '';
    const args = Array.isArray(exec['args']) ? (exec['args'] as unknown[]).map(String) : [];
    if (!/^kubelogin(\.exe)?$/i.test(command)) return undefined;
    const index = args.indexOf('--server-id');
    return (index >= 0 ? args[index + 1] : undefined) ?? AKS_SERVER_APP_ID;
  }
  const provider = user['auth-provider'];
  if (isObject(provider) && provider['name'] === 'azure') {
    const config = isObject(provider['config']) ? provider['config'] : {};
    return typeof config['apiserver-id'] === 'string' ? config['apiserver-id'] : AKS_SERVER_APP_ID;
  }
  return undefined;
}

/**
 * Gives the current context's user a bearer token in place of whatever it had (an exec plugin):
 * kubectl then needs no kubelogin, whichever way the service connection signs in.
 */
export function withBearerToken(kubeconfig: Kubeconfig, token: string): void {
  const userName = currentContextEntry(kubeconfig)?.['user'];
  const users = kubeconfig.document['users'];
  if (!Array.isArray(users)) return;
  for (const entry of users as unknown[]) {
    if (isObject(entry) && entry['name'] === userName) entry['user'] = { token };
  }
}

function currentContextEntry(kubeconfig: Kubeconfig): Json | undefined {
  const name = kubeconfig.document['current-context'];
  return namedEntries(kubeconfig.document, 'contexts', 'context').find((c) => c.name === name)?.value;
}

const FILE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  clusters: ['certificate-authority'],
  users: ['client-certificate', 'client-key', 'tokenFile'],
};

/**
 * kubectl reads the files a kubeconfig names relative to the kubeconfig's own folder. Our copy
 * lives in the agent's temp folder, so those paths are made absolute against the original's
 * folder (and an exec plugin's command when it is a relative path, as kubectl resolves it).
 */
export function resolveRelativePaths(kubeconfig: Kubeconfig, originalDirectory: string): void {
  const resolve = (entry: Json, field: string): void => {
    const value = entry[field];
    if (typeof value === 'string' && value !== '' && !path.isAbsolute(value))
      entry[field] = path.resolve(originalDirectory, value);
  };
  for (const [list, fields] of Object.entries(FILE_FIELDS)) {
    const field = list === 'clusters' ? 'cluster' : 'user';
    for (const { value } of namedEntries(kubeconfig.document, list, field)) {
      for (const name of fields) resolve(value, name);
      const exec = value['exec'];
      if (isObject(exec) && typeof exec['command'] === 'string' && /[\\/]/.test(exec['command']))
        resolve(exec, 'command');
    }
  }
}

export interface ServiceAccountKubeconfigOptions {
  readonly name: string;
  readonly server: string;
  /** certificate-authority-data (base64 PEM); undefined with `insecure`. */
  readonly certificateAuthorityData: string | undefined;
  readonly insecureSkipTlsVerify: boolean;
  readonly token: string;
  readonly namespace: string | undefined;
}

/** The kubeconfig of a Kubernetes service connection of the service-account kind. */
export function serviceAccountKubeconfig(
  options: ServiceAccountKubeconfigOptions,
  source: KubeconfigSource,
): Kubeconfig {
  const cluster: Json = { server: options.server };
  // kubectl refuses a CA together with insecure-skip-tls-verify.
  if (options.insecureSkipTlsVerify) cluster['insecure-skip-tls-verify'] = true;
  else if (options.certificateAuthorityData !== undefined)
    cluster['certificate-authority-data'] = options.certificateAuthorityData;
  const context: Json = { cluster: options.name, user: options.name };
  if (options.namespace !== undefined) context['namespace'] = options.namespace;
  return {
    source,
    document: {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: options.name, cluster }],
      users: [{ name: options.name, user: { token: options.token } }],
      contexts: [{ name: options.name, context }],
      'current-context': options.name,
    },
  };
}
