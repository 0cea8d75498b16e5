import * as assert from 'node:assert/strict';
import {
  copyImage,
  TagConflictError,
  TagsWrittenError,
  type CopyOptions,
  type CopyResult,
} from '../../tasks/promote-image/copy';
import { referrersTagOf } from '../../tasks/promote-image/manifests';
import {
  RegistryAccessError,
  RegistryAnswerError,
  RegistryClient,
} from '../../tasks/promote-image/registryClient';
import { httpSettings } from '../../tasks/promote-image/registryHttp';
import type { RegistryCredentials } from '../../tasks/promote-image/registryAuth';
import { pushImage, pushImageTo } from '../../sandbox/acr/images';
import { getManifest } from '../../sandbox/acr/registry';
import type { AcrRequestRecord } from '../../sandbox/acr/state';
import { PLAIN_REGISTRY, startPromoteSandbox, type PromoteSandbox } from './registrySandbox';

const NONPROD = 'contosononprod';
const PROD = 'contosoprod';
const PUBLIC = 'contosopublic';
const PIPELINE = {
  appid: '5f0e7a2c-0000-4000-8000-00000000aa01',
  oid: '8b1c2d3e-0000-4000-8000-00000000aa01',
};
const PULL_ONLY = {
  appid: '5f0e7a2c-0000-4000-8000-00000000aa02',
  oid: '8b1c2d3e-0000-4000-8000-00000000aa02',
};
/** Short waits, so fault tests spend milliseconds, not seconds, backing off. */
const QUICK_RETRY = { maxAttempts: 4, throttleBudgetMs: 10_000, baseDelayMs: 10, maxDelayMs: 50 };

describe('PromoteImage copy against real registries behind ACR auth', function () {
  this.timeout(60_000);
  let sandbox: PromoteSandbox;

  before(async function () {
    sandbox = await startPromoteSandbox([NONPROD, PROD, { name: PUBLIC, anonymousPullEnabled: true }]);
    for (const registry of [NONPROD, PROD, PUBLIC])
      sandbox.acr.grant(registry, PIPELINE.appid, ['pull', 'push']);
    sandbox.acr.grant(NONPROD, PULL_ONLY.oid, ['pull']);
    sandbox.acr.grant(PROD, PULL_ONLY.oid, ['pull']);
  });

  after(async function () {
    await sandbox?.close();
  });

  afterEach(function () {
    sandbox.faults.clear();
    assert.deepEqual(sandbox.base.proxy.refused, [], 'no request may leave the sandbox');
  });

  function client(
    registry: string,
    credentials: RegistryCredentials = sandbox.credentials(PIPELINE),
  ): RegistryClient {
    const host = registry.includes('.') ? registry : `${registry}.azurecr.io`;
    return new RegistryClient(host, credentials, httpSettings(sandbox.dispatcher, { retry: QUICK_RETRY }));
  }

  function promote(
    from: { registry: string; repository: string; reference: string },
    to: { registry: string; repository: string; tags: readonly string[] },
    options: Partial<Pick<CopyOptions, 'includeReferrers' | 'overwrite'>> & {
      credentials?: RegistryCredentials;
    } = {},
  ): Promise<CopyResult> {
    return copyImage({
      source: { client: client(from.registry), repository: from.repository, reference: from.reference },
      target: {
        client: client(to.registry, options.credentials),
        repository: to.repository,
        tags: to.tags,
      },
      includeReferrers: options.includeReferrers ?? true,
      overwrite: options.overwrite ?? false,
      blobRetry: QUICK_RETRY,
    });
  }

  /** What a tag points at in a sandbox registry, read with the owner token. */
  async function digestAt(
    registry: string,
    repository: string,
    reference: string,
  ): Promise<string | undefined> {
    return (await getManifest(sandbox.acr.ownerEndpoint(registry), repository, reference))?.digest;
  }

  /** Requests about blobs (HEAD, GET) a registry answered since request number `since`. */
  function blobRequests(registry: string, repository: string, since: number): AcrRequestRecord[] {
    return sandbox.acr.requests
      .slice(since)
      .filter(
        (r) =>
          r.registry === registry && r.repository === repository && r.route === '/v2/{repo}/blobs/{digest}',
      );
  }

  function blobUploads(registry: string, repository: string, since: number): number {
    return sandbox.acr.requests
      .slice(since)
      .filter(
        (r) =>
          r.registry === registry &&
          r.repository === repository &&
          r.route.startsWith('/v2/{repo}/blobs/uploads'),
      ).length;
  }

  it('copies a single-platform image by digest, every blob once, and tags it', async function () {
    const image = await pushImage(sandbox.acr, NONPROD, 'team/single', {
      tag: '1.0.0',
      layerSizes: [3000, 70_000],
    });

    const result = await promote(
      { registry: NONPROD, repository: 'team/single', reference: '1.0.0' },
      { registry: PROD, repository: 'team/single', tags: ['1.0.0', 'prod'] },
    );

    assert.equal(result.digest, image.digest);
    assert.equal(await digestAt(PROD, 'team/single', '1.0.0'), image.digest);
    assert.equal(await digestAt(PROD, 'team/single', 'prod'), image.digest);
    assert.equal(result.stats.blobsCopied, 3);
    assert.equal(result.stats.blobsSkipped, 0);
    assert.equal(result.stats.bytesCopied, result.plan.totalBlobBytes);
    assert.equal(result.stats.manifestsCopied, 1);
    assert.equal(result.stats.tagsWritten, 2);
    assert.deepEqual(
      result.tags.map((t) => t.action),
      ['create', 'create'],
    );
  });

  it("registers each side's ACR refresh and access tokens as secrets as it gets them", async function () {
    await pushImage(sandbox.acr, NONPROD, 'team/masked', { tag: '1', layerSizes: [100] });
    const written: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      written.push(String(chunk));
      return (write as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean)(chunk, ...rest);
    };
    try {
      await promote(
        { registry: NONPROD, repository: 'team/masked', reference: '1' },
        { registry: PROD, repository: 'team/masked', tags: ['1'] },
      );
    } finally {
      process.stdout.write = write;
    }
    const registered = written
      .join('')
      .split(/\r?\n/)
      .filter((line) => line.startsWith('##vso[task.setsecret]'))
      .map((line) => line.slice('##vso[task.setsecret]'.length));
    const claims = registered.flatMap((token) => {
      try {
        const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
          aud?: string;
          grant_type?: string;
        };
        return [`${payload.grant_type ?? '?'} ${payload.aud ?? '?'}`];
      } catch {
        return [];
      }
    });
    for (const registry of [NONPROD, PROD])
      for (const grant of ['refresh_token', 'access_token'])
        assert.ok(claims.includes(`${grant} ${registry}.azurecr.io`), `${grant} of ${registry} registered`);
  });

  it('copies a two-platform index with both platform manifests byte for byte', async function () {
    const image = await pushImage(sandbox.acr, NONPROD, 'team/multi', {
      tag: '2.0.0',
      platforms: ['linux/amd64', 'linux/arm64'],
    });

    const result = await promote(
      { registry: NONPROD, repository: 'team/multi', reference: '2.0.0' },
      { registry: PROD, repository: 'team/multi', tags: ['2.0.0'] },
    );

    assert.equal(result.digest, image.indexDigest);
    assert.equal(await digestAt(PROD, 'team/multi', '2.0.0'), image.indexDigest);
    for (const child of image.manifestDigests) assert.equal(await digestAt(PROD, 'team/multi', child), child);
    assert.deepEqual(
      result.plan.manifests.map((m) => m.digest),
      [...image.manifestDigests, image.digest],
    );
    assert.equal(result.stats.blobsCopied, image.blobDigests.length);
    assert.equal(result.stats.manifestsCopied, 3);
  });

  it('copies a referrer found through the sha256-<hex> tag and lists it under that tag in the target', async function () {
    const image = await pushImage(sandbox.acr, NONPROD, 'team/signed', {
      tag: '3.0.0',
      referrers: ['application/vnd.example.sbom'],
    });
    assert.equal(image.usedReferrersTag, true, 'the source registry has no referrers API');
    const [referrer] = image.referrerDigests;

    const result = await promote(
      { registry: NONPROD, repository: 'team/signed', reference: '3.0.0' },
      { registry: PROD, repository: 'team/signed', tags: ['3.0.0'] },
    );

    assert.equal(result.digest, image.digest);
    assert.equal(await digestAt(PROD, 'team/signed', referrer!), referrer);
    const fallback = await getManifest(
      sandbox.acr.ownerEndpoint(PROD),
      'team/signed',
      referrersTagOf(image.digest),
    );
    const listed = (
      JSON.parse(fallback!.body.toString('utf8')) as {
        manifests: { digest: string; artifactType?: string }[];
      }
    ).manifests;
    assert.deepEqual(
      listed.map((m) => [m.digest, m.artifactType]),
      [[referrer, 'application/vnd.example.sbom']],
    );
    assert.deepEqual(
      result.plan.manifests.map((m) => m.digest),
      [image.digest, referrer],
    );
  });

  it('leaves out referrers when told to', async function () {
    const image = await pushImage(sandbox.acr, NONPROD, 'team/unsigned', {
      tag: '1',
      referrers: ['application/vnd.example.sig'],
    });

    const result = await promote(
      { registry: NONPROD, repository: 'team/unsigned', reference: '1' },
      { registry: PROD, repository: 'team/unsigned', tags: ['1'] },
      { includeReferrers: false },
    );

    assert.deepEqual(
      result.plan.manifests.map((m) => m.digest),
      [image.digest],
    );
    assert.equal(await digestAt(PROD, 'team/unsigned', image.referrerDigests[0]!), undefined);
  });

  it('uploads no blob, asks about none and writes nothing when promoted again', async function () {
    await pushImage(sandbox.acr, NONPROD, 'team/again', {
      tag: '4.0.0',
      platforms: ['linux/amd64', 'linux/arm64'],
      referrers: ['application/vnd.example.sig'],
    });
    const first = await promote(
      { registry: NONPROD, repository: 'team/again', reference: '4.0.0' },
      { registry: PROD, repository: 'team/again', tags: ['4.0.0'] },
    );
    const since = sandbox.acr.requests.length;

    const second = await promote(
      { registry: NONPROD, repository: 'team/again', reference: '4.0.0' },
      { registry: PROD, repository: 'team/again', tags: ['4.0.0'] },
    );

    assert.equal(second.digest, first.digest);
    assert.deepEqual(
      { ...second.stats, durationMs: 0 },
      {
        blobsCopied: 0,
        blobsSkipped: first.plan.blobs.length,
        blobsMounted: 0,
        bytesCopied: 0,
        manifestsCopied: 0,
        manifestsSkipped: first.plan.manifests.length,
        tagsWritten: 0,
        durationMs: 0,
      },
    );
    assert.deepEqual(
      second.tags.map((t) => t.action),
      ['keep'],
    );
    const writes = sandbox.acr.requests
      .slice(since)
      .filter(
        (r) =>
          r.registry === PROD && r.path.startsWith('/v2/') && ['PUT', 'POST', 'PATCH'].includes(r.method),
      );
    assert.deepEqual(writes, []);
    // Every manifest is there, and a registry holds a manifest only with all its blobs.
    assert.deepEqual(blobRequests(PROD, 'team/again', since), []);
  });

  it('asks about the blobs of the manifests the target lacks, and of no other', async function () {
    const image = await pushImage(sandbox.acr, NONPROD, 'team/half', {
      tag: '4.1.0',
      platforms: ['linux/amd64', 'linux/arm64'],
    });
    const [amd64, arm64] = image.platforms;
    await promote(
      { registry: NONPROD, repository: 'team/half', reference: amd64!.manifestDigest },
      { registry: PROD, repository: 'team/half', tags: [] },
    );
    const since = sandbox.acr.requests.length;

    const result = await promote(
      { registry: NONPROD, repository: 'team/half', reference: '4.1.0' },
      { registry: PROD, repository: 'team/half', tags: ['4.1.0'] },
    );

    const amd64Blobs = [amd64!.configDigest, ...amd64!.layerDigests];
    const arm64Only = [arm64!.configDigest, ...arm64!.layerDigests].filter((d) => !amd64Blobs.includes(d));
    assert.deepEqual(
      [...new Set(blobRequests(PROD, 'team/half', since).map((r) => r.path.split('/').pop()))].sort(),
      [...arm64Only].sort(),
    );
    assert.equal(result.stats.blobsCopied, arm64Only.length);
    assert.equal(result.stats.blobsSkipped, image.blobDigests.length - arm64Only.length);
    assert.equal(result.stats.manifestsCopied, 2);
    assert.equal(await digestAt(PROD, 'team/half', '4.1.0'), image.digest);
  });

  it('asks a registry without the referrers API for it once, then reads the sha256-<hex> tag', async function () {
    const image = await pushImage(sandbox.acr, NONPROD, 'team/listed', {
      tag: '1',
      platforms: ['linux/amd64', 'linux/arm64'],
      referrers: ['application/vnd.example.sig'],
    });
    const source = client(NONPROD);
    const since = sandbox.acr.requests.length;

    const listings = [];
    for (const digest of [image.digest, ...image.manifestDigests])
      listings.push(await source.referrers('team/listed', digest));

    const asked = sandbox.acr.requests
      .slice(since)
      .filter((r) => r.registry === NONPROD && r.route === '/v2/{repo}/referrers/{digest}')
      // The first request of a fresh client is the one the registry challenges (401).
      .filter((r) => r.status !== 401);
    assert.deepEqual(
      asked.map((r) => r.status),
      [404],
    );
    assert.deepEqual(
      listings.map((l) => [l.source, l.manifests.map((m) => m.digest)]),
      [
        ['tag', image.referrerDigests],
        ['tag', []],
        ['tag', []],
      ],
    );
  });

  it('refuses to move a tag that points at another digest, before writing anything', async function () {
    const old = await pushImage(sandbox.acr, PROD, 'team/guarded', { tag: 'prod' });
    const image = await pushImage(sandbox.acr, NONPROD, 'team/guarded', { tag: '5.0.0' });
    const since = sandbox.acr.requests.length;

    const failure = await promote(
      { registry: NONPROD, repository: 'team/guarded', reference: '5.0.0' },
      { registry: PROD, repository: 'team/guarded', tags: ['5.0.0', 'prod'] },
    ).then(
      () => assert.fail('the promotion should have been refused'),
      (error: unknown) => error,
    );

    assert.ok(failure instanceof TagConflictError);
    assert.deepEqual(failure.conflicts, [{ tag: 'prod', current: old.digest, promoted: image.digest }]);
    assert.equal(await digestAt(PROD, 'team/guarded', 'prod'), old.digest);
    assert.equal(await digestAt(PROD, 'team/guarded', '5.0.0'), undefined);
    assert.equal(blobUploads(PROD, 'team/guarded', since), 0);
  });

  it('moves a tag that points at another digest when overwrite is allowed', async function () {
    await pushImage(sandbox.acr, PROD, 'team/moved', { tag: 'prod' });
    const image = await pushImage(sandbox.acr, NONPROD, 'team/moved', { tag: '6.0.0' });

    const result = await promote(
      { registry: NONPROD, repository: 'team/moved', reference: '6.0.0' },
      { registry: PROD, repository: 'team/moved', tags: ['prod'] },
      { overwrite: true },
    );

    assert.deepEqual(
      result.tags.map((t) => t.action),
      ['move'],
    );
    assert.equal(await digestAt(PROD, 'team/moved', 'prod'), image.digest);
  });

  it('mounts blobs across repositories of the same registry instead of sending them', async function () {
    const image = await pushImage(sandbox.acr, NONPROD, 'team/build', { tag: '7.0.0' });
    const since = sandbox.acr.requests.length;

    const result = await promote(
      { registry: NONPROD, repository: 'team/build', reference: '7.0.0' },
      { registry: NONPROD, repository: 'release/build', tags: ['7.0.0'] },
    );

    assert.equal(await digestAt(NONPROD, 'release/build', '7.0.0'), image.digest);
    assert.equal(result.stats.blobsMounted, image.blobDigests.length);
    assert.equal(result.stats.bytesCopied, 0);
    const puts = sandbox.acr.requests
      .slice(since)
      .filter((r) => r.route === '/v2/{repo}/blobs/uploads/{uuid}');
    assert.deepEqual(puts, []);
  });

  it('pulls anonymously from a registry that allows it and pushes to a registry without auth', async function () {
    const image = await pushImage(sandbox.acr, PUBLIC, 'library/tool', { tag: '8.0.0' });

    const result = await copyImage({
      source: { client: client(PUBLIC, {}), repository: 'library/tool', reference: '8.0.0' },
      target: { client: client(PLAIN_REGISTRY, {}), repository: 'mirror/tool', tags: ['8.0.0'] },
      includeReferrers: true,
      overwrite: false,
    });

    assert.equal(result.digest, image.digest);
    assert.equal((await getManifest(sandbox.plainEndpoint, 'mirror/tool', '8.0.0'))?.digest, image.digest);
    const anonymousTokens = sandbox.acr.requests.filter(
      (r) => r.registry === PUBLIC && r.route === '/oauth2/token' && r.principal === 'anonymous',
    );
    assert.ok(anonymousTokens.length > 0, 'the public registry was read with an anonymous token');
  });

  it('copies from a registry without auth', async function () {
    const image = await pushImageTo(sandbox.plainEndpoint, 'upstream/app', { tag: '9.0.0' });

    const result = await promote(
      { registry: PLAIN_REGISTRY, repository: 'upstream/app', reference: '9.0.0' },
      { registry: PROD, repository: 'upstream/app', tags: ['9.0.0'] },
    );

    assert.equal(result.digest, image.digest);
    assert.equal(await digestAt(PROD, 'upstream/app', '9.0.0'), image.digest);
  });

  it('rides out 5xx, 429 and connection resets on both sides and ends with equal digests', async function () {
    const image = await pushImage(sandbox.acr, NONPROD, 'team/faulty', {
      tag: '10.0.0',
      platforms: ['linux/amd64', 'linux/arm64'],
      layerSizes: [50_000, 120_000],
    });
    const blobGet = { method: 'GET', pathPattern: /^\/v2\/team\/faulty\/blobs\/sha256:/ };
    sandbox.faults.add({ match: blobGet, resetMidBody: true, times: 2 });
    sandbox.faults.add({ match: blobGet, status5xx: 503, times: 1 });
    sandbox.faults.add({
      match: { method: 'PUT', pathPattern: /\/blobs\/uploads\// },
      status5xx: 502,
      times: 2,
    });
    sandbox.faults.add({
      match: { method: 'POST', pathPattern: /\/blobs\/uploads\/$/ },
      resetBeforeResponse: true,
      times: 1,
    });
    sandbox.faults.add({
      match: { method: 'PUT', pathPattern: /\/manifests\// },
      status429: { retryAfterSeconds: 1 },
      times: 1,
    });
    sandbox.faults.add({
      match: { method: 'POST', pathPattern: /^\/oauth2\/token$/ },
      status5xx: 500,
      times: 1,
    });

    const result = await promote(
      { registry: NONPROD, repository: 'team/faulty', reference: '10.0.0' },
      { registry: PROD, repository: 'team/faulty', tags: ['10.0.0'] },
    );

    assert.equal(result.digest, image.digest);
    assert.equal(await digestAt(PROD, 'team/faulty', '10.0.0'), image.digest);
    for (const child of image.manifestDigests)
      assert.equal(await digestAt(PROD, 'team/faulty', child), child);
    const { status429, status5xx, resetBeforeResponse, resetMidBody } = sandbox.faults.counts;
    assert.deepEqual(
      { status429, status5xx, resetBeforeResponse, resetMidBody },
      { status429: 1, status5xx: 4, resetBeforeResponse: 1, resetMidBody: 2 },
    );
  });

  it('fails on a permanent fault mid-copy and writes no target tag', async function () {
    await pushImage(sandbox.acr, NONPROD, 'team/broken', { tag: '11.0.0' });
    sandbox.faults.add({ match: { method: 'PUT', pathPattern: /\/blobs\/uploads\// }, status5xx: 503 });

    const failure = await promote(
      { registry: NONPROD, repository: 'team/broken', reference: '11.0.0' },
      { registry: PROD, repository: 'team/broken', tags: ['11.0.0'] },
    ).then(
      () => assert.fail('the promotion should have failed'),
      (error: unknown) => error as { statusCode?: number },
    );

    assert.equal(failure.statusCode, 503);
    assert.equal(await digestAt(PROD, 'team/broken', '11.0.0'), undefined);
  });

  it('says which target tags it wrote when a later tag fails, and they hold the promoted digest', async function () {
    const image = await pushImage(sandbox.acr, NONPROD, 'team/halftagged', { tag: '13.0.0' });
    sandbox.faults.add({
      match: { method: 'PUT', pathPattern: /\/team\/halftagged\/manifests\/stable$/ },
      status5xx: 500,
    });

    const failure = await promote(
      { registry: NONPROD, repository: 'team/halftagged', reference: '13.0.0' },
      { registry: PROD, repository: 'team/halftagged', tags: ['13.0.0', 'stable'] },
    ).then(
      () => assert.fail('the promotion should have failed'),
      (error: unknown) => error,
    );

    assert.ok(failure instanceof TagsWrittenError, String(failure));
    assert.deepEqual([failure.tags, failure.state], [['13.0.0'], 'partial']);
    assert.equal(await digestAt(PROD, 'team/halftagged', '13.0.0'), image.digest);
    assert.equal(await digestAt(PROD, 'team/halftagged', 'stable'), undefined);
  });

  it('reads every page of the referrers API', async function () {
    const registry = sandbox.acr.registry(NONPROD);
    registry.referrersApi = true;
    registry.referrersPageSize = 1;
    try {
      const image = await pushImage(sandbox.acr, NONPROD, 'team/paged', {
        tag: '14.0.0',
        referrers: [
          'application/vnd.example.sig',
          'application/vnd.example.sbom',
          'application/vnd.example.vex',
        ],
      });
      assert.equal(image.usedReferrersTag, false, 'the source lists referrers through its API');
      const since = sandbox.acr.requests.length;

      const result = await promote(
        { registry: NONPROD, repository: 'team/paged', reference: '14.0.0' },
        { registry: PROD, repository: 'team/paged', tags: ['14.0.0'] },
      );

      const pages = sandbox.acr.requests
        .slice(since)
        .filter(
          (r) => r.registry === NONPROD && r.route === '/v2/{repo}/referrers/{digest}' && r.status === 200,
        );
      assert.ok(pages.length >= 3, `${pages.length} page(s) read`);
      assert.deepEqual(
        result.plan.manifests.map((m) => m.digest).sort(),
        [image.digest, ...image.referrerDigests].sort(),
      );
      for (const referrer of image.referrerDigests)
        assert.equal(await digestAt(PROD, 'team/paged', referrer), referrer);
    } finally {
      registry.referrersApi = false;
      registry.referrersPageSize = undefined;
    }
  });

  it('asks again for a referrers page cut short, and refuses one that is never JSON, naming the request', async function () {
    const registry = sandbox.acr.registry(NONPROD);
    registry.referrersApi = true;
    try {
      const image = await pushImage(sandbox.acr, NONPROD, 'team/cutshort', {
        tag: '15.0.0',
        referrers: ['application/vnd.example.sig'],
      });
      const referrersPage = {
        method: 'GET',
        pathPattern: /^\/v2\/team\/cutshort\/referrers\//,
        authorized: true,
      };
      sandbox.faults.add({ match: referrersPage, truncatedJson: true, times: 1 });
      const listing = await client(NONPROD).referrers('team/cutshort', image.digest);
      assert.deepEqual(
        listing.manifests.map((m) => m.digest),
        image.referrerDigests,
      );
      assert.equal(sandbox.faults.counts.truncatedJson, 1);

      sandbox.faults.add({ match: referrersPage, truncatedJson: true });
      const failure = await client(NONPROD)
        .referrers('team/cutshort', image.digest)
        .then(
          () => assert.fail('a page that never parses must fail'),
          (error: unknown) => error,
        );
      assert.ok(failure instanceof RegistryAnswerError, String(failure));
      assert.equal(failure.request, `GET /v2/team/cutshort/referrers/${image.digest}`);
    } finally {
      registry.referrersApi = false;
    }
  });

  it('names the push right when the target identity may only pull', async function () {
    await pushImage(sandbox.acr, NONPROD, 'team/denied', { tag: '12.0.0' });

    const failure = await promote(
      { registry: NONPROD, repository: 'team/denied', reference: '12.0.0' },
      { registry: PROD, repository: 'team/denied', tags: ['12.0.0'] },
      { credentials: sandbox.credentials(PULL_ONLY) },
    ).then(
      () => assert.fail('the promotion should have been refused'),
      (error: unknown) => error,
    );

    assert.ok(failure instanceof RegistryAccessError);
    assert.deepEqual(
      [failure.registry, failure.repository, failure.action, failure.statusCode],
      [`${PROD}.azurecr.io`, 'team/denied', 'push', 401],
    );
    assert.equal(await digestAt(PROD, 'team/denied', '12.0.0'), undefined);
  });
});
