import * as assert from 'node:assert/strict';
import {
  MEDIA_TYPES,
  parseManifest,
  sha256Of,
  UnsupportedManifestError,
  type Descriptor,
  type RawManifest,
} from '../../tasks/promote-image/manifests';
import { blobsHeldWith, buildPlan, type ManifestNode } from '../../tasks/promote-image/plan';

function blob(
  name: string,
  size: number,
  mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip',
): Descriptor {
  return { mediaType, digest: sha256Of(Buffer.from(name)), size };
}

function raw(
  document: Record<string, unknown>,
  mediaType = typeof document['mediaType'] === 'string' ? document['mediaType'] : '',
): RawManifest {
  const bytes = Buffer.from(JSON.stringify(document));
  return { digest: sha256Of(bytes), mediaType, bytes };
}

function node(
  manifest: RawManifest,
  children: ManifestNode[] = [],
  referrers: ManifestNode[] = [],
): ManifestNode {
  return {
    manifest,
    parsed: parseManifest(manifest),
    children,
    referrers: referrers.map((r) => ({
      descriptor: {
        mediaType: r.manifest.mediaType,
        digest: r.manifest.digest,
        size: r.manifest.bytes.length,
      },
      node: r,
    })),
  };
}

function image(config: Descriptor, layers: Descriptor[], extra: Record<string, unknown> = {}): RawManifest {
  return raw({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config, layers, ...extra });
}

function descriptorOf(manifest: RawManifest): Descriptor {
  return { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length };
}

const CONFIG_AMD64 = blob('config-amd64', 900, 'application/vnd.oci.image.config.v1+json');
const CONFIG_ARM64 = blob('config-arm64', 901, 'application/vnd.oci.image.config.v1+json');
const BASE = blob('shared base layer', 30_000);
const APP_AMD64 = blob('app amd64', 5_000);
const APP_ARM64 = blob('app arm64', 5_100);

describe('PromoteImage copy plan', () => {
  it('copies the config and layers of a single image, then the image', () => {
    const manifest = image(CONFIG_AMD64, [BASE, APP_AMD64]);

    const plan = buildPlan(node(manifest), ['1.0.0']);

    assert.deepEqual(plan, {
      digest: manifest.digest,
      blobs: [CONFIG_AMD64, BASE, APP_AMD64],
      manifests: [manifest],
      referrerLinks: [],
      tags: ['1.0.0'],
      totalBlobBytes: 900 + 30_000 + 5_000,
    });
  });

  it('copies every platform of an index, a shared layer once, children before the index', () => {
    const amd64 = image(CONFIG_AMD64, [BASE, APP_AMD64]);
    const arm64 = image(CONFIG_ARM64, [BASE, APP_ARM64]);
    const index = raw({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: [
        { ...descriptorOf(amd64), platform: { os: 'linux', architecture: 'amd64' } },
        { ...descriptorOf(arm64), platform: { os: 'linux', architecture: 'arm64' } },
      ],
    });

    const plan = buildPlan(node(index, [node(amd64), node(arm64)]), []);

    assert.deepEqual(
      plan.blobs.map((b) => b.digest),
      [CONFIG_AMD64, BASE, APP_AMD64, CONFIG_ARM64, APP_ARM64].map((b) => b.digest),
    );
    assert.deepEqual(
      plan.manifests.map((m) => m.digest),
      [amd64.digest, arm64.digest, index.digest],
    );
    assert.equal(plan.digest, index.digest);
  });

  it('reads a Docker manifest list and Docker v2 manifests the same way', () => {
    const child = raw({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.dockerManifest,
      config: { ...CONFIG_AMD64, mediaType: 'application/vnd.docker.container.image.v1+json' },
      layers: [{ ...BASE, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' }],
    });
    const list = raw({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.dockerManifestList,
      manifests: [descriptorOf(child)],
    });

    const plan = buildPlan(node(list, [node(child)]), []);

    assert.deepEqual(
      plan.blobs.map((b) => b.digest),
      [CONFIG_AMD64.digest, BASE.digest],
    );
    assert.deepEqual(
      plan.manifests.map((m) => m.mediaType),
      [MEDIA_TYPES.dockerManifest, MEDIA_TYPES.dockerManifestList],
    );
  });

  it('copies referrers after the promoted image, a signature of an SBOM after the SBOM', () => {
    const empty = blob('{}', 2, 'application/vnd.oci.empty.v1+json');
    const app = image(CONFIG_AMD64, [APP_AMD64]);
    const sbomContent = blob('sbom', 700, 'application/spdx+json');
    const sbom = image(empty, [sbomContent], {
      artifactType: 'application/spdx+json',
      subject: descriptorOf(app),
    });
    const signatureContent = blob('signature', 300, 'application/vnd.cncf.notary.signature');
    const signature = image(empty, [signatureContent], { subject: descriptorOf(sbom) });

    const plan = buildPlan(node(app, [], [node(sbom, [], [node(signature)])]), ['1']);

    assert.deepEqual(
      plan.manifests.map((m) => m.digest),
      [app.digest, sbom.digest, signature.digest],
    );
    assert.deepEqual(
      plan.blobs.map((b) => b.digest),
      [CONFIG_AMD64, APP_AMD64, empty, sbomContent, signatureContent].map((b) => b.digest),
    );
    assert.deepEqual(
      plan.referrerLinks.map((l) => [l.subject, l.descriptor.digest]),
      [
        [app.digest, sbom.digest],
        [sbom.digest, signature.digest],
      ],
    );
  });

  it('leaves out foreign layers, which the source registry does not hold', () => {
    const foreign: Descriptor = {
      mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
      digest: sha256Of(Buffer.from('windows base')),
      size: 1_000_000,
      urls: ['https://mcr.microsoft.com/v2/windows/servercore/blobs/sha256:0'],
    };
    const manifest = image(CONFIG_AMD64, [foreign, APP_AMD64]);

    assert.deepEqual(buildPlan(node(manifest), []).blobs, [CONFIG_AMD64, APP_AMD64]);
  });

  it('refuses Docker schema 1 manifests, whose bytes cannot be copied with their digest', () => {
    const schema1 = raw(
      { schemaVersion: 1, name: 'team/web', fsLayers: [] },
      'application/vnd.docker.distribution.manifest.v1+prettyjws',
    );
    assert.throws(
      () => parseManifest(schema1),
      (error: unknown) =>
        error instanceof UnsupportedManifestError &&
        error.mediaType === 'application/vnd.docker.distribution.manifest.v1+prettyjws',
    );
  });

  describe('blobs the target holds with its manifests', () => {
    const amd64 = image(CONFIG_AMD64, [BASE, APP_AMD64]);
    const arm64 = image(CONFIG_ARM64, [BASE, APP_ARM64]);
    const index = raw({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: [descriptorOf(amd64), descriptorOf(arm64)],
    });

    it('are the config and layers of each image manifest the target holds', () => {
      const held = blobsHeldWith([amd64, arm64, index], new Set([amd64.digest]));

      assert.deepEqual([...held].sort(), [CONFIG_AMD64, BASE, APP_AMD64].map((b) => b.digest).sort());
    });

    it('are none when the target holds only an index, which names manifests rather than blobs', () => {
      assert.deepEqual(blobsHeldWith([amd64, arm64, index], new Set([index.digest])), new Set());
    });

    it('are none when the target holds no manifest of the plan', () => {
      assert.deepEqual(blobsHeldWith([amd64, arm64, index], new Set()), new Set());
    });
  });
});
