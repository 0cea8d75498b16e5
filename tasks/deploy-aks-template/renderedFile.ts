import * as fs from 'node:fs';
import * as path from 'node:path';
import { isJsonObject, type Manifest } from './kubernetesObject';
import { serializeManifests } from './render';

export interface RenderedFiles {
  /** What kubectl applies (the `renderedManifests` output): mode 0600, as Secrets are in it. */
  readonly manifests: string;
  /** The copy attached to the run, every Secret's values replaced by `***`. */
  readonly attachment: string;
}

export function writeRenderedFiles(
  directory: string,
  manifests: readonly Manifest[],
  yaml: string,
): RenderedFiles {
  const files = {
    manifests: path.join(directory, 'manifests.yaml'),
    attachment: path.join(directory, 'rendered-manifests.yaml'),
  };
  fs.writeFileSync(files.manifests, yaml, { mode: 0o600 });
  fs.writeFileSync(files.attachment, serializeManifests(hideSecretValues(manifests)), { mode: 0o600 });
  return files;
}

/**
 * The manifests with each Secret's `data` and `stringData` values replaced by `***`. The agent masks
 * registered secrets in what it uploads, but a Secret's base64 `data` is in no variable it knows:
 * anyone who can read the run would read it in the attachment.
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
