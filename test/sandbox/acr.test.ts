import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { ContainerRegistryClient, ContainerRegistryContentClient } from '@azure/container-registry';
import { ContainerRegistryManagementClient } from '@azure/arm-containerregistry';
import { ACR_REFRESH_TOKEN_USERNAME, startAcr, type AcrSandbox } from '../../sandbox/acr';
import { startArm, type ArmServer } from '../../sandbox/arm';
import type { SandboxBase } from '../../sandbox/base';
import { MEDIA_TYPES, pushImage, referrersTagOf, type PushedImage } from '../../sandbox/acr/images';
import { getManifest, sha256Digest } from '../../sandbox/acr/registry';
import { requestThroughProxy } from '../../sandbox/tls/trust';
import { sandboxSuite } from './harness';

const NONPROD = 'contosononprod';
const PROD = 'contosoprod';
/** Admin user and anonymous pull enabled. */
const PUBLIC = 'contosopublic';

/** The pipeline's service principal: may pull and push on both registries. */
const PIPELINE = {
  appid: '7a1d2c3b-0000-4000-8000-0000000acr01',
  oid: '9e8d7c6b-0000-4000-8000-0000000acr01',
};
/** A reader: pull only, on the non-production registry. */
const READER = { appid: '7a1d2c3b-0000-4000-8000-0000000acr02', oid: '9e8d7c6b-0000-4000-8000-0000000acr02' };

/** A TokenCredential returning sandbox-minted Entra tokens for whatever scope is asked. */
function sandboxCredential(
  base: SandboxBase,
  principal: { appid: string; oid: string },
): TokenCredential & { scopes: string[] } {
  const scopes: string[] = [];
  return {
    scopes,
    getToken: (scope): Promise<AccessToken> => {
      const wanted = Array.isArray(scope) ? (scope[0] ?? '') : scope;
      scopes.push(wanted);
      const token = base.tokens.mint({
        aud: wanted.replace(/\/\.default$/, ''),
        tid: base.tenantId,
        ...principal,
      });
      return Promise.resolve({ token, expiresOnTimestamp: Date.now() + 3_600_000 });
    },
  };
}

async function all<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterator) items.push(item);
  return items;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

function run(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { env, encoding: 'utf8', timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({
        exitCode: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
        stdout,
        stderr,
      });
    });
  });
}

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  message: string;
  details?: { errors?: { code?: string; message?: string }[] };
}

describe('sandbox ACR: real registries behind ACR token auth, metadata API and ARM import', function () {
  let base: SandboxBase;
  let arm: ArmServer;
  let acr: AcrSandbox;
  let web: PushedImage;
  let pipeline: ReturnType<typeof sandboxCredential>;
  let reader: ReturnType<typeof sandboxCredential>;
  // core-rest-pipeline parses proxyOptions.host as a URL: it needs the scheme.
  const clientOptions = (): { proxyOptions: { host: string; port: number } } => ({
    proxyOptions: { host: 'http://127.0.0.1', port: base.proxy.port },
  });

  sandboxSuite(
    async (started, keep) => {
      base = started;
      arm = await keep(startArm(base));
      acr = await keep(
        startAcr(base, {
          registries: [
            NONPROD,
            { name: PROD, resourceGroup: 'rg-production', referrersApi: true },
            { name: PUBLIC, adminPassword: 'public-admin-password', anonymousPullEnabled: true },
          ],
          arm,
        }),
      );
      acr.grant(NONPROD, PIPELINE.appid, ['pull', 'push', 'delete']);
      acr.grant(PROD, PIPELINE.oid, ['pull', 'push']);
      acr.grant(NONPROD, READER.oid, ['pull']);
      pipeline = sandboxCredential(base, PIPELINE);
      reader = sandboxCredential(base, READER);
      web = await pushImage(acr, NONPROD, 'app/web', {
        tag: '1.0.0',
        platforms: ['linux/amd64', 'linux/arm64'],
        layerSizes: [4096, 65_536],
        referrers: ['application/vnd.example.sbom'],
      });
    },
    { inProcess: true },
  );

  it('challenges token-less requests the way ACR does, with the scope each request needs', async function () {
    const url = (p: string): string => `https://${NONPROD}.azurecr.io${p}`;
    const realm = `Bearer realm="https://${NONPROD}.azurecr.io/oauth2/token",service="${NONPROD}.azurecr.io"`;

    const pull = await requestThroughProxy(base, url('/v2/app/web/manifests/1.0.0'));
    const push = await requestThroughProxy(base, url('/v2/app/web/blobs/uploads/'), { method: 'POST' });
    const remove = await requestThroughProxy(base, url(`/v2/app/web/manifests/${web.digest}`), {
      method: 'DELETE',
    });
    const catalog = await requestThroughProxy(base, url('/acr/v1/_catalog'));
    const ping = await requestThroughProxy(base, url('/v2/'));

    assert.equal(pull.status, 401);
    assert.equal(pull.headers['www-authenticate'], `${realm},scope="repository:app/web:pull"`);
    assert.deepEqual(JSON.parse(pull.body), {
      errors: [
        {
          code: 'UNAUTHORIZED',
          message: 'authentication required, visit https://aka.ms/acr/authorization for more information.',
          detail: null,
        },
      ],
    });
    assert.equal(push.headers['www-authenticate'], `${realm},scope="repository:app/web:pull,push"`);
    assert.equal(remove.headers['www-authenticate'], `${realm},scope="repository:app/web:delete"`);
    assert.equal(catalog.headers['www-authenticate'], `${realm},scope="registry:catalog:*"`);
    assert.equal(ping.status, 401);
    assert.equal(ping.headers['www-authenticate'], realm);
  });

  it('exchanges an Entra token for a refresh token and that for a scoped access token (raw protocol)', async function () {
    const form = (
      fields: Record<string, string>,
    ): { method: string; headers: Record<string, string>; body: string } => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
    const aad = base.tokens.mint({ aud: 'https://management.azure.com', tid: base.tenantId, ...READER });
    const wrongAudience = base.tokens.mint({ aud: 'https://vault.azure.net', tid: base.tenantId, ...READER });

    const exchanged = await requestThroughProxy(
      base,
      `https://${NONPROD}.azurecr.io/oauth2/exchange`,
      form({
        grant_type: 'access_token',
        service: `${NONPROD}.azurecr.io`,
        tenant: base.tenantId,
        access_token: aad,
      }),
    );
    const refused = await requestThroughProxy(
      base,
      `https://${NONPROD}.azurecr.io/oauth2/exchange`,
      form({ grant_type: 'access_token', service: `${NONPROD}.azurecr.io`, access_token: wrongAudience }),
    );
    const refreshToken = (JSON.parse(exchanged.body) as { refresh_token: string }).refresh_token;
    const issued = await requestThroughProxy(
      base,
      `https://${NONPROD}.azurecr.io/oauth2/token`,
      form({
        grant_type: 'refresh_token',
        service: `${NONPROD}.azurecr.io`,
        scope: 'repository:app/web:pull,push',
        refresh_token: refreshToken,
      }),
    );
    const accessToken = (JSON.parse(issued.body) as { access_token: string }).access_token;
    const claims = JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      access: unknown;
      aud: string;
    };
    const onOtherRegistry = await requestThroughProxy(
      base,
      `https://${PROD}.azurecr.io/oauth2/token`,
      form({
        grant_type: 'refresh_token',
        service: `${PROD}.azurecr.io`,
        scope: 'repository:app/web:pull',
        refresh_token: refreshToken,
      }),
    );
    const pulled = await requestThroughProxy(
      base,
      `https://${NONPROD}.azurecr.io/v2/app/web/manifests/1.0.0`,
      {
        headers: { authorization: `Bearer ${accessToken}`, accept: MEDIA_TYPES.index },
      },
    );

    assert.equal(exchanged.status, 200);
    assert.equal(refused.status, 401);
    assert.equal(issued.status, 200);
    // The reader asked for pull and push and got what it holds: pull.
    assert.deepEqual(claims.access, [{ type: 'repository', name: 'app/web', actions: ['pull'] }]);
    assert.equal(claims.aud, `${NONPROD}.azurecr.io`);
    assert.equal(onOtherRegistry.status, 401, 'a refresh token is good for its own registry only');
    assert.equal(pulled.status, 200);
    assert.equal(pulled.headers['docker-content-digest'], web.digest);
  });

  it('lists repositories and tags and reads manifest properties with ContainerRegistryClient after a real token exchange', async function () {
    const client = new ContainerRegistryClient(`https://${NONPROD}.azurecr.io`, reader, clientOptions());
    const exchangesBefore = acr.requestCount('POST', '/oauth2/exchange', NONPROD);
    const tokensBefore = acr.requestCount('POST', '/oauth2/token', NONPROD);

    const repositories = await all(client.listRepositoryNames());
    const artifact = client.getArtifact('app/web', '1.0.0');
    const properties = await artifact.getManifestProperties();
    const tags = await all(client.getRepository('app/web').listManifestProperties());
    const tagProperties = await artifact.getTagProperties('1.0.0');
    const platform = await client
      .getArtifact('app/web', web.manifestDigests[1] ?? '')
      .getManifestProperties();

    assert.deepEqual(repositories, ['app/web']);
    assert.equal(properties.digest, web.digest);
    assert.deepEqual(properties.tags, ['1.0.0']);
    assert.deepEqual(
      properties.relatedArtifacts.map((r) => [r.digest, r.operatingSystem, r.architecture]),
      [
        [web.manifestDigests[0], 'linux', 'amd64'],
        [web.manifestDigests[1], 'linux', 'arm64'],
      ],
    );
    assert.equal(platform.architecture, 'arm64');
    assert.equal(platform.operatingSystem, 'linux');
    assert.ok(
      tags.some((m) => m.digest === web.referrerDigests[0]),
      'the SBOM is a manifest of the repository',
    );
    assert.equal(tagProperties.digest, web.digest);
    assert.equal(tagProperties.canWrite, true);
    assert.ok(
      acr.requestCount('POST', '/oauth2/exchange', NONPROD) > exchangesBefore,
      'the AAD token was exchanged',
    );
    assert.ok(
      acr.requestCount('POST', '/oauth2/token', NONPROD) > tokensBefore,
      'access tokens were fetched',
    );
    assert.ok(reader.scopes.includes('https://containerregistry.azure.net/.default'), reader.scopes.join());
    assert.ok(
      acr.requests.some(
        (r) => r.route === '/acr/v1/_catalog' && r.status === 200 && r.principal === READER.oid,
      ),
    );
  });

  it('downloads and uploads blobs and manifests with ContainerRegistryContentClient', async function () {
    const source = new ContainerRegistryContentClient(
      `https://${NONPROD}.azurecr.io`,
      'app/web',
      pipeline,
      clientOptions(),
    );
    const target = new ContainerRegistryContentClient(
      `https://${NONPROD}.azurecr.io`,
      'app/api',
      pipeline,
      clientOptions(),
    );
    const layerDigest = web.platforms[0]?.layerDigests[1] ?? '';

    const index = await source.getManifest('1.0.0');
    const downloaded = await source.downloadBlob(layerDigest);
    const layer = await readAll(downloaded.content);
    // More than one 4 MiB chunk: the SDK PATCHes chunks and follows relative Locations.
    const uploadedLayer = crypto.randomBytes(4 * 1024 * 1024 + 1000);
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [sha256Digest(uploadedLayer)] },
      }),
    );
    const layerResult = await target.uploadBlob(uploadedLayer);
    const configResult = await target.uploadBlob(config);
    const manifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      config: { mediaType: MEDIA_TYPES.config, digest: configResult.digest, size: config.length },
      layers: [{ mediaType: MEDIA_TYPES.layer, digest: layerResult.digest, size: uploadedLayer.length }],
    };
    const set = await target.setManifest(manifest, { tag: '0.1.0' });
    const readBack = await target.getManifest('0.1.0');

    assert.equal(index.digest, web.digest);
    assert.equal(index.mediaType, MEDIA_TYPES.index);
    assert.equal(sha256Digest(layer), layerDigest);
    assert.equal(layer.length, web.platforms[0]?.layers[1]?.size);
    assert.equal(layerResult.digest, sha256Digest(uploadedLayer));
    assert.equal(layerResult.sizeInBytes, uploadedLayer.length);
    assert.equal(readBack.digest, set.digest);
    assert.deepEqual(readBack.manifest, manifest);
    assert.ok(acr.requestCount('PATCH', '/v2/{repo}/blobs/uploads/{uuid}', NONPROD) >= 2);
  });

  it('refuses a push by a pull-only principal with 401 UNAUTHORIZED, as ACR does', async function () {
    const client = new ContainerRegistryContentClient(
      `https://${NONPROD}.azurecr.io`,
      'app/web',
      reader,
      clientOptions(),
    );

    const pulled = await client.getManifest(web.digest);
    await assert.rejects(client.uploadBlob(Buffer.from('not allowed')), (error: RestErrorLike) => {
      assert.equal(error.statusCode, 401);
      assert.match(error.message, /authentication required/);
      return true;
    });

    assert.equal(pulled.digest, web.digest);
    const refused = acr.requests.filter((r) => r.route === '/v2/{repo}/blobs/uploads/' && r.status === 401);
    assert.ok(
      refused.some((r) => r.principal === READER.oid),
      'refused with a valid but pull-only token',
    );
  });

  it('locks a tag through updateTagProperties and then refuses manifest PUTs to it with DENIED', async function () {
    const client = new ContainerRegistryClient(`https://${NONPROD}.azurecr.io`, pipeline, clientOptions());
    const content = new ContainerRegistryContentClient(
      `https://${NONPROD}.azurecr.io`,
      'app/web',
      pipeline,
      clientOptions(),
    );
    const artifact = client.getArtifact('app/web', '1.0.0');
    const other = await pushImage(acr, NONPROD, 'app/web', { layerSizes: [100] });
    const otherManifest = await content.getManifest(other.digest);

    const locked = await artifact.updateTagProperties('1.0.0', { canWrite: false, canDelete: false });
    const manifestLocked = await artifact.updateManifestProperties({ canDelete: false });
    try {
      await assert.rejects(
        content.setManifest(otherManifest.content, { tag: '1.0.0', mediaType: MEDIA_TYPES.manifest }),
        (error: RestErrorLike) => {
          assert.equal(error.statusCode, 405);
          // The SDK maps ACR's `{"errors":[…]}` to no `code`: the message is the body's text.
          assert.equal(error.code, undefined);
          assert.equal(
            (JSON.parse(error.message) as { errors: { code: string }[] }).errors[0]?.code,
            'DENIED',
          );
          return true;
        },
      );
      await assert.rejects(artifact.deleteTag('1.0.0'), (error: RestErrorLike) => error.statusCode === 405);
      assert.equal(locked.canWrite, false);
      assert.equal(locked.canDelete, false);
      assert.equal((await artifact.getTagProperties('1.0.0')).canWrite, false);
      assert.equal(manifestLocked.canDelete, false);
      assert.equal(acr.attributes(NONPROD, 'app/web', web.digest).deleteEnabled, false);
      // Other tags stay writable.
      await content.setManifest(otherManifest.content, { tag: 'scratch', mediaType: MEDIA_TYPES.manifest });
    } finally {
      await artifact.updateTagProperties('1.0.0', { canWrite: true, canDelete: true });
      await artifact.updateManifestProperties({ canDelete: true });
    }
    await client.getArtifact('app/web', 'scratch').deleteTag('scratch');
    await assert.rejects(
      client.getArtifact('app/web', 'scratch').getTagProperties('scratch'),
      (e: RestErrorLike) => e.statusCode === 404,
    );
  });

  it('answers the referrers API only on the registry where it is switched on; elsewhere the tag schema is used', async function () {
    const onProd = await pushImage(acr, PROD, 'app/web', {
      tag: 'ref',
      referrers: ['application/vnd.example.sbom', 'application/vnd.example.signature'],
    });
    const prodOwner = acr.ownerEndpoint(PROD).authorization ?? '';
    const nonprodOwner = acr.ownerEndpoint(NONPROD).authorization ?? '';

    const listed = await requestThroughProxy(
      base,
      `https://${PROD}.azurecr.io/v2/app/web/referrers/${onProd.digest}`,
      {
        headers: { authorization: prodOwner },
      },
    );
    const filtered = await requestThroughProxy(
      base,
      `https://${PROD}.azurecr.io/v2/app/web/referrers/${onProd.digest}?artifactType=application%2Fvnd.example.signature`,
      { headers: { authorization: prodOwner } },
    );
    const absent = await requestThroughProxy(
      base,
      `https://${NONPROD}.azurecr.io/v2/app/web/referrers/${web.digest}`,
      {
        headers: { authorization: nonprodOwner },
      },
    );
    const fallback = await getManifest(acr.ownerEndpoint(NONPROD), 'app/web', referrersTagOf(web.digest));

    assert.equal(onProd.usedReferrersTag, false);
    assert.equal(listed.status, 200);
    const index = JSON.parse(listed.body) as { manifests: { digest: string; artifactType: string }[] };
    assert.deepEqual(index.manifests.map((m) => m.digest).sort(), [...onProd.referrerDigests].sort());
    assert.equal(filtered.headers['oci-filters-applied'], 'artifactType');
    assert.deepEqual(
      (JSON.parse(filtered.body) as { manifests: { artifactType: string }[] }).manifests.map(
        (m) => m.artifactType,
      ),
      ['application/vnd.example.signature'],
    );
    assert.equal(web.usedReferrersTag, true);
    assert.equal(absent.status, 404, 'docker-registry 2.8 has no referrers API');
    const fallbackIndex = JSON.parse(fallback?.body.toString('utf8') ?? '{}') as {
      manifests: { digest: string; artifactType: string }[];
    };
    assert.deepEqual(
      fallbackIndex.manifests.map((m) => [m.digest, m.artifactType]),
      [[web.referrerDigests[0], 'application/vnd.example.sbom']],
    );
  });

  it('lets skopeo copy a multi-arch image between the registries with refresh tokens as passwords (ACR convention)', async function () {
    // The refresh tokens come from the real exchange, as `az acr login --expose-token` would get them.
    const refreshTokenFor = async (registry: string): Promise<string> => {
      const aad = base.tokens.mint({
        aud: 'https://containerregistry.azure.net',
        tid: base.tenantId,
        ...PIPELINE,
      });
      const answer = await requestThroughProxy(base, `https://${registry}.azurecr.io/oauth2/exchange`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'access_token',
          service: `${registry}.azurecr.io`,
          access_token: aad,
        }).toString(),
      });
      return (JSON.parse(answer.body) as { refresh_token: string }).refresh_token;
    };
    const home = fs.mkdtempSync(path.join(base.directory, 'skopeo-'));
    const env = {
      ...base.clientEnvironment,
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      TMPDIR: home,
    };
    const tokensBefore = acr.requestCount('GET', '/oauth2/token');

    const copied = await run(
      'skopeo',
      [
        '--insecure-policy',
        'copy',
        '--all',
        '--src-creds',
        `${ACR_REFRESH_TOKEN_USERNAME}:${await refreshTokenFor(NONPROD)}`,
        '--dest-creds',
        `${ACR_REFRESH_TOKEN_USERNAME}:${await refreshTokenFor(PROD)}`,
        `docker://${NONPROD}.azurecr.io/app/web:1.0.0`,
        `docker://${PROD}.azurecr.io/promoted/web:1.0.0`,
      ],
      env,
    );

    assert.equal(copied.exitCode, 0, copied.stderr);
    const storage = acr.registry(PROD).backend.storage;
    assert.equal(
      storage.tag('promoted/web', '1.0.0')?.digest,
      web.digest,
      'same digest: copied, not converted',
    );
    for (const digest of web.manifestDigests) assert.ok(storage.hasManifest('promoted/web', digest), digest);
    for (const digest of web.blobDigests) assert.equal(storage.blobSize(digest) !== undefined, true, digest);
    assert.ok(
      acr.requestCount('GET', '/oauth2/token') > tokensBefore,
      'skopeo fetched tokens with Basic auth',
    );
    assert.ok(
      acr.requests.some((r) => r.registry === PROD && r.method === 'PUT' && r.principal === PIPELINE.oid),
    );
    assert.ok(base.proxy.connects.includes(`${PROD}.azurecr.io:443`), 'through the proxy');
  });

  it('hands the admin user every right and anonymous callers pull only, where the registry enables them', async function () {
    await pushImage(acr, PUBLIC, 'public/tool', { tag: '1' });
    const management = new ContainerRegistryManagementClient(pipeline, base.subscriptionId, clientOptions());
    const anonymousClient = new ContainerRegistryClient(`https://${PUBLIC}.azurecr.io`, clientOptions());
    const tokenUrl = (registry: string): string =>
      `https://${registry}.azurecr.io/oauth2/token?service=${registry}.azurecr.io&scope=repository:public/tool:pull,push`;
    const actionsOf = (body: string): unknown =>
      (
        JSON.parse(
          Buffer.from(
            (JSON.parse(body) as { access_token: string }).access_token.split('.')[1] ?? '',
            'base64url',
          ).toString(),
        ) as { access: unknown }
      ).access;

    const credentials = await management.registries.listCredentials('rg-registries', PUBLIC);
    const basic = Buffer.from(
      `${credentials.username ?? ''}:${credentials.passwords?.[0]?.value ?? ''}`,
    ).toString('base64');
    const admin = await requestThroughProxy(base, tokenUrl(PUBLIC), {
      headers: { authorization: `Basic ${basic}` },
    });
    const anonymous = await requestThroughProxy(base, tokenUrl(PUBLIC));
    const anonymousElsewhere = await requestThroughProxy(base, tokenUrl(NONPROD));
    const wrongPassword = await requestThroughProxy(base, tokenUrl(PUBLIC), {
      headers: { authorization: `Basic ${Buffer.from(`${PUBLIC}:guess`).toString('base64')}` },
    });
    const listedAnonymously = await all(anonymousClient.listRepositoryNames());

    assert.equal(credentials.username, PUBLIC);
    assert.deepEqual(actionsOf(admin.body), [
      { type: 'repository', name: 'public/tool', actions: ['pull', 'push'] },
    ]);
    assert.deepEqual(actionsOf(anonymous.body), [
      { type: 'repository', name: 'public/tool', actions: ['pull'] },
    ]);
    assert.equal(anonymousElsewhere.status, 401);
    assert.equal(wrongPassword.status, 401);
    assert.deepEqual(listedAnonymously, ['public/tool']);
    await assert.rejects(
      management.registries.listCredentials('rg-registries', NONPROD),
      (error: RestErrorLike) => {
        assert.equal(error.statusCode, 400);
        return true;
      },
    );
  });

  it('lists registries and imports an image through ARM with @azure/arm-containerregistry, NoForce and Force', async function () {
    const client = new ContainerRegistryManagementClient(pipeline, base.subscriptionId, clientOptions());
    const nonprod = acr.registry(NONPROD);

    const everywhere = await all(client.registries.list());
    const inProduction = await all(client.registries.listByResourceGroup('rg-production'));
    const one = await client.registries.get('rg-production', PROD);
    await client.registries.beginImportImageAndWait('rg-production', PROD, {
      source: { resourceId: nonprod.id, sourceImage: 'app/web:1.0.0' },
      targetTags: ['imported/web:1.0.0'],
      mode: 'NoForce',
    });
    const second = await pushImage(acr, NONPROD, 'app/web', {
      tag: '2.0.0',
      platforms: ['linux/amd64', 'linux/arm64'],
    });
    const conflict = client.registries.beginImportImageAndWait('rg-production', PROD, {
      source: { registryUri: `${NONPROD}.azurecr.io`, sourceImage: `app/web@${second.digest}` },
      targetTags: ['imported/web:1.0.0'],
      mode: 'NoForce',
    });
    await assert.rejects(conflict, (error: RestErrorLike) => {
      assert.match(error.message, /imported\/web:1\.0\.0 already exists in target registry/);
      return true;
    });
    await client.registries.beginImportImageAndWait('rg-production', PROD, {
      source: { resourceId: nonprod.id, sourceImage: `app/web@${second.digest}` },
      targetTags: ['imported/web:1.0.0'],
      mode: 'Force',
    });

    await client.registries.beginImportImageAndWait('rg-production', PROD, {
      source: { resourceId: nonprod.id, sourceImage: `app/web@${web.digest}` },
      untaggedTargetRepositories: ['untagged/web'],
    });
    // Within one registry the copy mounts blobs across repositories.
    await client.registries.beginImportImageAndWait('rg-production', PROD, {
      source: { resourceId: acr.registry(PROD).id, sourceImage: `untagged/web@${web.digest}` },
      targetTags: ['retagged/web:stable'],
    });

    assert.deepEqual(everywhere.map((r) => r.name).sort(), [NONPROD, PROD, PUBLIC]);
    assert.deepEqual(
      inProduction.map((r) => r.name),
      [PROD],
    );
    assert.equal(one.loginServer, `${PROD}.azurecr.io`);
    assert.equal(one.sku.name, 'Premium');
    assert.equal(one.provisioningState, 'Succeeded');
    const storage = acr.registry(PROD).backend.storage;
    assert.equal(storage.tag('imported/web', '1.0.0')?.digest, second.digest, 'Force moved the tag');
    for (const digest of [...web.manifestDigests, ...second.manifestDigests]) {
      assert.ok(storage.hasManifest('imported/web', digest), `every platform was copied: ${digest}`);
    }
    assert.deepEqual(
      acr.imports.map((i) => [i.mode, i.status]),
      [
        ['NoForce', 'Succeeded'],
        ['NoForce', 'Failed'],
        ['Force', 'Succeeded'],
        ['NoForce', 'Succeeded'],
        ['NoForce', 'Succeeded'],
      ],
    );
    assert.equal(storage.tag('retagged/web', 'stable')?.digest, web.digest);
    assert.ok(storage.hasManifest('untagged/web', web.digest));
    assert.deepEqual(storage.tags('untagged/web'), [], 'imported without tags');
  });

  it('refuses an import by a principal without rights on the source, as ARM RBAC would', async function () {
    const client = new ContainerRegistryManagementClient(reader, base.subscriptionId, clientOptions());

    await assert.rejects(
      client.registries.beginImportImageAndWait('rg-production', PROD, {
        source: { resourceId: acr.registry(NONPROD).id, sourceImage: 'app/web:1.0.0' },
        targetTags: ['nope/web:1'],
      }),
      (error: RestErrorLike) => {
        assert.equal(error.statusCode, 403);
        assert.equal(error.code, 'AuthorizationFailed');
        return true;
      },
    );
  });
});
