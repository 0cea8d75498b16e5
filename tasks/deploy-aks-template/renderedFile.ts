import * as fs from 'node:fs';
import * as path from 'node:path';
import { maskSecrets } from '../common/secrets';
import { isJsonObject, type Manifest } from './kubernetesObject';
import { plainScalarValue, serializeManifests } from './render';

export interface RenderedFiles {
  /** What kubectl applies (the `renderedManifests` output): mode 0600, as Secrets are in it. */
  readonly manifests: string;
  /** The copy attached to the run: every Secret's values, and every known secret value, as `***`. */
  readonly attachment: string;
}

/**
 * Writes what kubectl applies and the copy attached to the run. The agent uploads an attachment as it
 * is, unmasked: `secrets` (the pipeline's secret variables, which `variables` tokens may have put
 * anywhere, an env value or a connection string in a ConfigMap) are replaced by `***` in the copy.
 */
export function writeRenderedFiles(
  directory: string,
  manifests: readonly Manifest[],
  yaml: string,
  secrets: readonly string[],
): RenderedFiles {
  const files = {
    manifests: path.join(directory, 'manifests.yaml'),
    attachment: path.join(directory, 'rendered-manifests.yaml'),
  };
  fs.writeFileSync(files.manifests, yaml, { mode: 0o600 });
  const attached = hideSecretValues(manifests).map(({ source, object }) => ({
    source,
    object: maskedStrings(object, secrets),
  }));
  fs.writeFileSync(files.attachment, serializeManifests(attached), { mode: 0o600 });
  return files;
}

/**
 * The manifests with each Secret's `data` and `stringData` values replaced by `***`: anyone who can
 * read the run can read its attachments.
 */
export function hideSecretValues(manifests: readonly Manifest[]): Manifest[] {
  return manifests.map((manifest) => {
    const { object } = manifest;
    if (object.kind !== 'Secret' || object.apiVersion !== 'v1') return manifest;
    const hidden = { ...object };
    for (const field of ['data', 'stringData']) {
      const values = object[field];
      if (isJsonObject(values))
        hidden[field] = Object.fromEntries(Object.keys(values).map((key) => [key, '***']));
    }
    return { source: manifest.source, object: hidden };
  });
}

/**
 * The credentials among the Secrets of the manifests (`stringData`, and `data` decoded from base64),
 * to register before anything could print them: a crash-looping container's log, which the task
 * prints, may show the password it was given. Only values under credential-like keys (`password`,
 * `apiKey`, `token`, …) and of 8 characters or more: a Secret also holds user names, database names
 * and hosts, and masking those would blank ordinary words (`app`, a registry's name) out of the
 * whole job's log.
 */
export function secretObjectValues(manifests: readonly Manifest[]): string[] {
  const values: string[] = [];
  const take = (key: string, value: string): void => {
    if (CREDENTIAL_KEY.test(key) && value.length >= 8) values.push(value);
  };
  for (const { object } of manifests) {
    if (object.kind !== 'Secret' || object.apiVersion !== 'v1') continue;
    const { data, stringData } = object;
    if (isJsonObject(stringData))
      for (const [key, value] of Object.entries(stringData)) if (typeof value === 'string') take(key, value);
    if (isJsonObject(data))
      for (const [key, value] of Object.entries(data))
        if (typeof value === 'string') take(key, Buffer.from(value, 'base64').toString('utf8'));
  }
  return values;
}

const CREDENTIAL_KEY = /pass|pwd|secret|token|key|credential|connection.?string|private|signature|sas/i;

/** A copy of `value` with the secrets masked in every string in it, keys included, so the YAML stays valid. */
function maskedStrings<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  const scalarSecrets = new Set(
    secrets
      .map((secret) => plainScalarValue(secret.trim()))
      .filter((v) => typeof v === 'number' || typeof v === 'boolean'),
  );
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return maskSecrets(node, secrets);
    // A secret variable that reads as a number (a PIN, a port) or a boolean is written as one, and
    // maybe in another form (`0644123` is octal, written 215123; `+49151` is written 49151).
    if (typeof node === 'number' || typeof node === 'boolean') {
      const text = String(node);
      const masked = maskSecrets(text, secrets);
      return masked !== text || scalarSecrets.has(node) ? '***' : node;
    }
    if (Array.isArray(node)) return node.map(walk);
    if (isJsonObject(node))
      return Object.fromEntries(
        Object.entries(node).map(([key, child]) => [maskSecrets(key, secrets), walk(child)]),
      );
    return node;
  };
  return walk(value) as T;
}
