import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { hasEnded } from '../support/processes';
import { startAcr, type AcrSandbox } from '../../sandbox/acr';
import type { SandboxBase } from '../../sandbox/base';
import { sandboxSuite } from './harness';
import { accepts } from './ports';
import { MEDIA_TYPES, generatedLayer, pushImage, referrersTagOf } from '../../sandbox/acr/images';
import {
  findDockerRegistry,
  getManifest,
  registryRequest,
  sha256Digest,
  startRegistry,
  type RegistryEndpoint,
} from '../../sandbox/acr/registry';

async function blob(endpoint: RegistryEndpoint, repository: string, digest: string): Promise<Buffer> {
  const response = await registryRequest(endpoint, 'GET', `/v2/${repository}/blobs/${digest}`);
  assert.equal(response.status, 200, `GET blob ${digest}`);
  return response.body;
}

function tarList(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('tar', ['-tzvf', file], { encoding: 'utf8' }, (error, stdout, stderr) =>
      error === null ? resolve(stdout) : reject(new Error(`${error.message}: ${stderr}`)),
    );
  });
}

describe('sandbox registry: a real Debian docker-registry', function () {
  let directory: string;

  before(function () {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'aks-delivery-registry-'));
  });

  after(function () {
    fs.rmSync(directory, { recursive: true, force: true });
  });

  it('starts on a free loopback port, answers /v2/, and is gone (process and port) after close', async function () {
    const registry = await startRegistry(directory);

    const ping = await registryRequest(registry.endpoint, 'GET', '/v2/');
    const running = !hasEnded(registry.pid);
    await registry.close();

    assert.equal(ping.status, 200);
    assert.equal(ping.headers['docker-distribution-api-version'], 'registry/2.0');
    assert.equal(running, true);
    assert.equal(hasEnded(registry.pid), true, 'the process exited');
    assert.equal(await accepts(registry.port), false, 'the port is closed');
    assert.match(fs.readFileSync(path.join(directory, 'config.yml'), 'utf8'), /"relativeurls": true/);
  });

  it('says how to install docker-registry when it is missing', function () {
    assert.throws(() => findDockerRegistry('/nonexistent'), /apt-get install docker-registry/);
    assert.equal(findDockerRegistry('/usr/bin'), '/usr/bin/docker-registry');
  });
});

describe('sandbox images: generated OCI images pushed through the ACR front', function () {
  let base: SandboxBase;
  let acr: AcrSandbox;
  const plain = 'imagesplain';
  const withReferrers = 'imagesreferrers';

  sandboxSuite(async (started, keep) => {
    base = started;
    acr = await keep(startAcr(base, { registries: [plain, { name: withReferrers, referrersApi: true }] }));
  });

  it("pushes a single-platform image: manifest, config and gzip'd tar layers that tar reads", async function () {
    const endpoint = acr.ownerEndpoint(plain);

    const pushed = await pushImage(acr, plain, 'tools/cli', { tag: '1.2.3', layerSizes: [10_000, 1] });
    const manifest = await getManifest(endpoint, 'tools/cli', '1.2.3');
    const parsed = JSON.parse(manifest?.body.toString('utf8') ?? '{}') as {
      config: { digest: string };
      layers: { digest: string; size: number; mediaType: string }[];
    };
    const config = JSON.parse((await blob(endpoint, 'tools/cli', parsed.config.digest)).toString('utf8')) as {
      architecture: string;
      os: string;
      rootfs: { diff_ids: string[] };
    };
    const layer = await blob(endpoint, 'tools/cli', parsed.layers[0]?.digest ?? '');
    const file = path.join(base.directory, 'layer.tar.gz');
    fs.writeFileSync(file, layer);

    assert.equal(pushed.indexDigest, undefined);
    assert.equal(pushed.digest, manifest?.digest);
    assert.equal(manifest?.mediaType, MEDIA_TYPES.manifest);
    assert.deepEqual(pushed.manifestDigests, [pushed.digest]);
    assert.equal(config.architecture, 'amd64');
    assert.equal(config.os, 'linux');
    assert.deepEqual(
      parsed.layers.map((l) => l.mediaType),
      [MEDIA_TYPES.layer, MEDIA_TYPES.layer],
    );
    assert.equal(sha256Digest(layer), parsed.layers[0]?.digest);
    assert.equal(
      sha256Digest(zlib.gunzipSync(layer)),
      config.rootfs.diff_ids[0],
      'diff_id is the tar digest',
    );
    assert.match(await tarList(file), /10000 .* sandbox\/[0-9a-f]{32}\.bin/);
  });

  it('pushes a multi-arch OCI index whose platforms are their own manifests', async function () {
    const endpoint = acr.ownerEndpoint(plain);

    const pushed = await pushImage(acr, plain, 'app/multi', {
      tag: 'v1',
      extraTags: ['latest'],
      platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'],
      layerSizes: [512],
    });
    const index = await getManifest(endpoint, 'app/multi', 'latest');
    const parsed = JSON.parse(index?.body.toString('utf8') ?? '{}') as {
      manifests: { digest: string; platform: { architecture: string; variant?: string } }[];
    };
    const storage = acr.registry(plain).backend.storage;

    assert.equal(index?.mediaType, MEDIA_TYPES.index);
    assert.equal(pushed.indexDigest, index?.digest);
    assert.deepEqual(pushed.tags, ['v1', 'latest']);
    assert.deepEqual(
      parsed.manifests.map((m) => [m.digest, m.platform.architecture, m.platform.variant]),
      [
        [pushed.manifestDigests[0], 'amd64', undefined],
        [pushed.manifestDigests[1], 'arm64', undefined],
        [pushed.manifestDigests[2], 'arm', 'v7'],
      ],
    );
    assert.equal(new Set(pushed.blobDigests).size, 6, 'each platform has its own config and layer');
    for (const digest of pushed.manifestDigests) assert.ok(storage.hasManifest('app/multi', digest));
    assert.deepEqual(
      storage.tags('app/multi').map((t) => [t.name, t.digest]),
      [
        ['latest', pushed.digest],
        ['v1', pushed.digest],
      ],
    );
  });

  it('streams big layers from a generator through the front: 48 MiB', async function () {
    const pushed = await pushImage(acr, plain, 'app/big', { tag: '1', layerSizes: [48 * 1024 * 1024] });

    const storage = acr.registry(plain).backend.storage;
    const layer = pushed.platforms[0]?.layers[0];
    assert.ok(layer !== undefined);
    // gzip stores random data with a few bytes of framing per block.
    assert.ok(layer.size > 48 * 1024 * 1024 && layer.size < 48 * 1024 * 1024 * 1.001, `${layer.size}`);
    assert.equal(storage.blobSize(layer.digest), layer.size);
  });

  it('makes the same layer from the same seed, and another from another', async function () {
    const seed = crypto.randomBytes(16);

    const [one, again, other] = await Promise.all([
      generatedLayer(3000, seed),
      generatedLayer(3000, seed),
      generatedLayer(3000),
    ]);

    assert.equal(one.digest, again.digest);
    assert.equal(one.diffId, again.diffId);
    assert.notEqual(one.digest, other.digest);
  });

  it('attaches referrers through the referrers API where it exists, else through the sha256-<hex> tag', async function () {
    const types = ['application/vnd.example.sbom', 'application/vnd.example.signature'];

    const viaTag = await pushImage(acr, plain, 'app/signed', {
      tag: '1',
      platforms: ['linux/amd64', 'linux/arm64'],
      referrers: types,
    });
    const viaApi = await pushImage(acr, withReferrers, 'app/signed', { tag: '1', referrers: types });
    const fallback = await getManifest(acr.ownerEndpoint(plain), 'app/signed', referrersTagOf(viaTag.digest));
    const noFallback = await getManifest(
      acr.ownerEndpoint(withReferrers),
      'app/signed',
      referrersTagOf(viaApi.digest),
    );
    const referrer = await getManifest(
      acr.ownerEndpoint(plain),
      'app/signed',
      viaTag.referrerDigests[0] ?? '',
    );

    assert.equal(viaTag.usedReferrersTag, true);
    assert.deepEqual(
      (
        JSON.parse(fallback?.body.toString('utf8') ?? '{}') as { manifests: { digest: string }[] }
      ).manifests.map((m) => m.digest),
      viaTag.referrerDigests,
    );
    assert.equal(viaApi.usedReferrersTag, false);
    assert.equal(noFallback, undefined, 'no fallback tag where the API answered OCI-Subject');
    const parsed = JSON.parse(referrer?.body.toString('utf8') ?? '{}') as {
      artifactType: string;
      subject: { digest: string; mediaType: string };
      config: { mediaType: string };
    };
    assert.equal(parsed.artifactType, types[0]);
    assert.deepEqual([parsed.subject.digest, parsed.subject.mediaType], [viaTag.digest, MEDIA_TYPES.index]);
    assert.equal(parsed.config.mediaType, MEDIA_TYPES.empty);
  });

  it('records fixture pushes as the sandbox owner, so tests can tell them from client traffic', function () {
    const pushes = acr.requests.filter(
      (r) => r.method === 'PUT' && r.route === '/v2/{repo}/manifests/{reference}',
    );

    assert.ok(pushes.length > 0);
    assert.ok(pushes.every((r) => r.principal === 'sandbox-owner' && r.status === 201));
  });
});
