import * as assert from 'node:assert/strict';
import type { TaskRun } from '../../scripts/agent';
import { referrersTagOf } from '../../sandbox/acr/images';
import { getManifest } from '../../sandbox/acr/registry';
import {
  ANONYMOUS_REGISTRY,
  CONNECTION,
  NONPROD,
  PROD,
  loginServer,
  startPromoteHarness,
  takeLastPromoteRun,
  type PromoteHarness,
} from './promoteHarness';

describe('PromoteImage bundle against the sandbox (Entra ID, ARM, registries behind ACR auth, through the proxy)', function () {
  this.timeout(120_000);
  let harness: PromoteHarness;

  before(async () => {
    harness = await startPromoteHarness();
  });

  afterEach(function () {
    harness.faults.clear(7);
    for (const registry of [NONPROD, PROD]) harness.acr.registry(registry).referrersApi = false;
    const run = takeLastPromoteRun();
    if (run !== undefined && this.currentTest?.state === 'failed')
      console.log(`\n----- task stdout -----\n${run.stdout}\n----- task stderr -----\n${run.stderr}\n-----`);
  });

  after(async () => {
    await harness?.close();
    assert.deepEqual(harness.base.proxy.refused, [], 'nothing tried to leave the sandbox');
  });

  function assertPromoted(run: TaskRun, registry: string, repository: string, digest: string): void {
    assert.equal(run.result, 'Succeeded', run.resultMessage);
    assert.deepEqual(run.variables, {
      promotedDigest: digest,
      promotedImage: `${loginServer(registry)}/${repository}@${digest}`,
    });
  }

  function assertFailed(run: TaskRun, message: RegExp): void {
    assert.equal(run.result, 'Failed');
    assert.equal(run.errors.length, 1, 'one error line');
    assert.match(run.resultMessage ?? '', message);
    assert.doesNotMatch(run.resultMessage ?? '', /[\r\n]/);
    assert.deepEqual(run.variables, {}, 'no output on failure');
  }

  /** Requests to one registry's data plane since `since` that write: uploads, manifests, tags. */
  function writesTo(registry: string, since: number): string[] {
    return harness.acr.requests
      .slice(since)
      .filter((r) => r.registry === registry && r.path.startsWith('/v2/'))
      .filter((r) => ['PUT', 'POST', 'PATCH', 'DELETE'].includes(r.method))
      .map((r) => `${r.method} ${r.path}`);
  }

  it('promotes a single-platform image by digest under two tags', async () => {
    const image = await harness.push(NONPROD, 'team/web', { tag: '1.0.0', layerSizes: [4096, 300_000] });

    const run = await harness.run({ image: 'team/web:1.0.0', targetTags: '1.0.0\nprod' });

    assertPromoted(run, PROD, 'team/web', image.digest);
    assert.equal(await harness.digestAt(PROD, 'team/web', '1.0.0'), image.digest);
    assert.equal(await harness.digestAt(PROD, 'team/web', 'prod'), image.digest);
    assert.match(run.stdout, /blobs: 3 copied, 0 already there, 0 mounted/);
  });

  it('promotes a two-platform index with both platform manifests', async () => {
    const image = await harness.push(NONPROD, 'team/multi', {
      tag: '2.0.0',
      platforms: ['linux/amd64', 'linux/arm64'],
    });

    const run = await harness.run({ image: 'team/multi:2.0.0' });

    assertPromoted(run, PROD, 'team/multi', image.indexDigest!);
    assert.equal(await harness.digestAt(PROD, 'team/multi', '2.0.0'), image.indexDigest);
    for (const child of image.manifestDigests)
      assert.equal(await harness.digestAt(PROD, 'team/multi', child), child);
    assert.match(run.stdout, /Copied 3 manifest\(s\) \(0 already there\); blobs: 6 copied/);
  });

  it('promotes a referrer found through the sha256-<hex> tag where the registry has no referrers API', async () => {
    const image = await harness.push(NONPROD, 'team/signed', {
      tag: '3.0.0',
      referrers: ['application/vnd.example.sbom'],
    });
    assert.equal(image.usedReferrersTag, true);
    const [referrer] = image.referrerDigests;

    const run = await harness.run({ image: 'team/signed:3.0.0' });

    assertPromoted(run, PROD, 'team/signed', image.digest);
    assert.equal(await harness.digestAt(PROD, 'team/signed', referrer!), referrer);
    const fallback = await getManifest(harness.endpoint(PROD), 'team/signed', referrersTagOf(image.digest));
    const listed = (JSON.parse(fallback!.body.toString('utf8')) as { manifests: { digest: string }[] })
      .manifests;
    assert.deepEqual(
      listed.map((m) => m.digest),
      [referrer],
    );
  });

  it('promotes a referrer listed by the referrers API, and the target lists it from its subject', async () => {
    for (const registry of [NONPROD, PROD]) harness.acr.registry(registry).referrersApi = true;
    const image = await harness.push(NONPROD, 'team/attested', {
      tag: '3.1.0',
      referrers: ['application/vnd.example.attestation'],
    });
    assert.equal(image.usedReferrersTag, false);
    const [referrer] = image.referrerDigests;
    const since = harness.acr.requests.length;

    const run = await harness.run({ image: 'team/attested:3.1.0' });

    assertPromoted(run, PROD, 'team/attested', image.digest);
    assert.equal(await harness.digestAt(PROD, 'team/attested', referrer!), referrer);
    assert.equal(
      await harness.digestAt(PROD, 'team/attested', referrersTagOf(image.digest)),
      undefined,
      'no fallback tag where the API lists referrers',
    );
    const apiReads = harness.acr.requests
      .slice(since)
      .filter((r) => r.route === '/v2/{repo}/referrers/{digest}' && r.status === 200);
    assert.ok(apiReads.length > 0, 'the referrers API was asked');
  });

  it('uploads no blob, asks about none and writes nothing to the target when run again', async () => {
    const image = await harness.push(NONPROD, 'team/again', {
      tag: '4.0.0',
      platforms: ['linux/amd64', 'linux/arm64'],
      referrers: ['application/vnd.example.sig'],
    });
    assertPromoted(await harness.run({ image: 'team/again:4.0.0' }), PROD, 'team/again', image.digest);
    const since = harness.acr.requests.length;

    const run = await harness.run({ image: 'team/again:4.0.0' });

    assertPromoted(run, PROD, 'team/again', image.digest);
    assert.deepEqual(writesTo(PROD, since), [], 'no upload, manifest or tag written');
    assert.deepEqual(
      harness.acr.requests
        .slice(since)
        .filter((r) => r.registry === PROD && r.route === '/v2/{repo}/blobs/{digest}')
        .map((r) => `${r.method} ${r.path}`),
      [],
      'every manifest is there, so no blob is asked about',
    );
    // 4 manifests (index, 2 platforms, the signature); 8 blobs (2 configs, 4 layers, the signature's
    // empty config and its document).
    assert.match(run.stdout, /Copied 0 manifest\(s\) \(4 already there\); blobs: 0 copied, 8 already there/);
    assert.match(run.stdout, /0 B in/);
    assert.match(run.stdout, /already at the promoted digest, unchanged/);
  });

  it('refuses to move a tag at another digest, naming both digests, and leaves the target as it was', async () => {
    const old = await harness.push(PROD, 'team/guarded', { tag: 'prod' });
    const image = await harness.push(NONPROD, 'team/guarded', { tag: '5.0.0' });
    const since = harness.acr.requests.length;

    const run = await harness.run({ image: 'team/guarded:5.0.0', targetTags: '5.0.0\nprod' });

    assertFailed(run, /already has tags at other digests/);
    assert.ok(run.resultMessage?.includes(old.digest) && run.resultMessage.includes(image.digest));
    assert.equal(await harness.digestAt(PROD, 'team/guarded', 'prod'), old.digest);
    assert.equal(await harness.digestAt(PROD, 'team/guarded', '5.0.0'), undefined);
    assert.deepEqual(writesTo(PROD, since), [], 'nothing written before the refusal');
  });

  it('moves a tag at another digest when overwrite is true', async () => {
    const old = await harness.push(PROD, 'team/moved', { tag: 'prod' });
    const image = await harness.push(NONPROD, 'team/moved', { tag: '6.0.0' });

    const run = await harness.run({ image: 'team/moved:6.0.0', targetTags: 'prod', overwrite: 'true' });

    assertPromoted(run, PROD, 'team/moved', image.digest);
    assert.equal(await harness.digestAt(PROD, 'team/moved', 'prod'), image.digest);
    assert.ok(run.stdout.includes(`moved from ${old.digest}`));
  });

  it('locks the promoted tags and manifest in ACR', async () => {
    const image = await harness.push(NONPROD, 'team/locked', { tag: '7.0.0' });

    const run = await harness.run({
      image: 'team/locked:7.0.0',
      targetTags: '7.0.0\nstable',
      lockTags: 'true',
    });

    assertPromoted(run, PROD, 'team/locked', image.digest);
    for (const reference of [image.digest, '7.0.0', 'stable']) {
      const attributes = harness.acr.attributes(PROD, 'team/locked', reference);
      assert.deepEqual([reference, attributes.writeEnabled], [reference, false]);
    }
    assert.match(run.stdout, /Locked .*writeEnabled: false/);
  });

  it('says the image was promoted but not locked when the lock fails, naming the tags', async () => {
    const image = await harness.push(NONPROD, 'team/unlockable', { tag: '7.1.0' });
    harness.faults.add({ match: { method: 'PATCH', pathPattern: /^\/acr\/v1\// }, status5xx: 500 });

    const run = await harness.run({
      image: 'team/unlockable:7.1.0',
      targetTags: '7.1.0\nstable',
      lockTags: 'true',
    });

    assert.equal(run.result, 'Failed', run.stdout);
    assert.match(
      run.resultMessage ?? '',
      /7\.1\.0, stable hold the promoted digest, but they were not locked/,
    );
    assert.doesNotMatch(run.resultMessage ?? '', /No target tag was written/);
    for (const tag of ['7.1.0', 'stable'])
      assert.equal(await harness.digestAt(PROD, 'team/unlockable', tag), image.digest, tag);
  });

  it('imports through ARM (exactly the resolved digest, NoForce) and verifies the result', async () => {
    const image = await harness.push(NONPROD, 'team/imported', {
      tag: '8.0.0',
      platforms: ['linux/amd64', 'linux/arm64'],
    });
    const importsBefore = harness.acr.imports.length;
    const since = harness.acr.requests.length;

    const run = await harness.run({
      image: 'team/imported:8.0.0',
      targetTags: '8.0.0\nprod',
      method: 'import',
    });

    assertPromoted(run, PROD, 'team/imported', image.digest);
    const imports = harness.acr.imports.slice(importsBefore);
    assert.deepEqual(
      imports.map((i) => [i.source, i.target, i.sourceImage, i.targetTags, i.mode, i.status]),
      [
        [
          NONPROD,
          PROD,
          `team/imported@${image.digest}`,
          ['team/imported:8.0.0', 'team/imported:prod'],
          'NoForce',
          'Succeeded',
        ],
      ],
    );
    assert.equal(await harness.digestAt(PROD, 'team/imported', 'prod'), image.digest);
    const uploads = harness.acr.requests
      .slice(since)
      .filter((r) => r.principal !== 'sandbox-owner' && r.route.startsWith('/v2/{repo}/blobs/uploads'));
    assert.deepEqual(uploads, [], 'no byte went through the agent');
  });

  it('mounts blobs across repositories of one registry instead of sending them', async () => {
    const image = await harness.push(NONPROD, 'team/build', { tag: '9.0.0', layerSizes: [100_000, 200_000] });
    const since = harness.acr.requests.length;

    const run = await harness.run({
      image: 'team/build:9.0.0',
      targetRegistry: loginServer(NONPROD),
      targetRepository: 'release/build',
    });

    assertPromoted(run, NONPROD, 'release/build', image.digest);
    assert.match(run.stdout, /blobs: 0 copied, 0 already there, 3 mounted; 0 B/);
    const recent = harness.acr.requests.slice(since);
    assert.equal(
      recent.filter(
        (r) => r.method === 'POST' && r.path.includes('/release/build/blobs/uploads') && r.status === 201,
      ).length,
      3,
    );
    assert.deepEqual(
      recent.filter((r) => r.route === '/v2/{repo}/blobs/uploads/{uuid}'),
      [],
      'no blob bytes sent',
    );
  });

  it('promotes from a registry without auth, and back to one, anonymously', async () => {
    const upstream = await harness.push(ANONYMOUS_REGISTRY, 'upstream/tool', { tag: '10.0.0' });

    const inbound = await harness.run({ sourceRegistry: ANONYMOUS_REGISTRY, image: 'upstream/tool:10.0.0' });
    const outbound = await harness.run({
      sourceRegistry: loginServer(PROD),
      image: 'upstream/tool:10.0.0',
      targetRegistry: ANONYMOUS_REGISTRY,
      targetRepository: 'mirror/tool',
    });

    assertPromoted(inbound, PROD, 'upstream/tool', upstream.digest);
    assertPromoted(outbound, ANONYMOUS_REGISTRY, 'mirror/tool', upstream.digest);
    assert.equal(await harness.digestAt(PROD, 'upstream/tool', '10.0.0'), upstream.digest);
    assert.equal(await harness.digestAt(ANONYMOUS_REGISTRY, 'mirror/tool', '10.0.0'), upstream.digest);
    const anonymousRequests = harness.sandbox.registryFrontRequests.filter((r) =>
      r.includes(ANONYMOUS_REGISTRY),
    );
    assert.ok(anonymousRequests.length > 0, 'the anonymous registry was reached through the fault front');
  });

  it('rides out 5xx, 429, a reset mid-blob and cut-off manifest and token answers on both sides and ends with equal digests', async () => {
    const image = await harness.push(NONPROD, 'team/faulty', {
      tag: '11.0.0',
      platforms: ['linux/amd64', 'linux/arm64'],
      layerSizes: [60_000, 250_000],
    });
    const blobGet = { method: 'GET', pathPattern: /^\/v2\/team\/faulty\/blobs\/sha256:/ };
    harness.faults.add({ match: blobGet, resetMidBody: true, times: 2 });
    harness.faults.add({ match: blobGet, status5xx: 503, times: 1 });
    harness.faults.add({
      match: { method: 'PUT', pathPattern: /\/blobs\/uploads\// },
      status5xx: 502,
      times: 2,
    });
    harness.faults.add({
      match: { method: 'PUT', pathPattern: /\/manifests\// },
      status429: { retryAfterSeconds: 1 },
      times: 1,
    });
    harness.faults.add({ match: { method: 'HEAD', pathPattern: /\/manifests\// }, status5xx: 500, times: 1 });
    // Small answers cut off after their headers (a manifest, a token): the task failed on these
    // before readWhole.
    harness.faults.add({
      match: { method: 'GET', pathPattern: /^\/v2\/team\/faulty\/manifests\//, authorized: true },
      resetMidBody: true,
      times: 1,
    });
    harness.faults.add({
      match: { method: 'POST', pathPattern: /^\/oauth2\/token$/ },
      resetMidBody: true,
      times: 1,
    });

    const run = await harness.run({ image: 'team/faulty:11.0.0' });

    assertPromoted(run, PROD, 'team/faulty', image.digest);
    assert.equal(await harness.digestAt(PROD, 'team/faulty', '11.0.0'), image.digest);
    for (const child of image.manifestDigests)
      assert.equal(await harness.digestAt(PROD, 'team/faulty', child), child);
    const { status429, status5xx, resetMidBody } = harness.faults.counts;
    assert.deepEqual({ status429, status5xx, resetMidBody }, { status429: 1, status5xx: 4, resetMidBody: 4 });
  });

  it('names the AcrPush role when the target connection may only pull, and writes nothing', async () => {
    const reader = { clientId: 'b2c3d4e5-0000-4000-8000-0000000000b2', secret: 'reader-Secret~Value.8' };
    const readerConnection = 'a9e8d7c6-0000-4000-8000-0000000000b2';
    harness.sandbox.entra.registerServicePrincipal(reader);
    harness.secretValues.add(reader.secret);
    harness.acr.grant(PROD, reader.clientId, ['pull']);
    await harness.push(NONPROD, 'team/denied', { tag: '13.0.0' });
    const since = harness.acr.requests.length;

    const run = await harness.run(
      { image: 'team/denied:13.0.0', targetAzureSubscription: readerConnection },
      {
        endpoints: {
          [CONNECTION]: harness.connection,
          [readerConnection]: {
            ...harness.connection,
            auth: {
              ...harness.connection.auth,
              serviceprincipalid: reader.clientId,
              serviceprincipalkey: reader.secret,
            },
          },
        },
      },
    );

    assertFailed(run, /Input 'targetAzureSubscription'.*may not push.*Give it the AcrPush role/);
    assert.equal(await harness.digestAt(PROD, 'team/denied', '13.0.0'), undefined);
    assert.deepEqual(
      writesTo(PROD, since).filter((w) => w.includes('/manifests/')),
      [],
    );
  });

  it('fails on a permanent fault mid-copy in one line and writes no target tag', async () => {
    const image = await harness.push(NONPROD, 'team/broken', { tag: '12.0.0' });
    harness.faults.add({ match: { method: 'PUT', pathPattern: /\/blobs\/uploads\// }, status5xx: 503 });
    const since = harness.acr.requests.length;

    const run = await harness.run({ image: 'team/broken:12.0.0', targetTags: '12.0.0\nprod' });

    assertFailed(
      run,
      /A registry request failed and retries did not help: .*HTTP 503.*No target tag was written or moved/,
    );
    assert.equal(await harness.digestAt(PROD, 'team/broken', '12.0.0'), undefined);
    assert.equal(await harness.digestAt(PROD, 'team/broken', 'prod'), undefined);
    assert.equal(await harness.digestAt(PROD, 'team/broken', image.digest), undefined);
    assert.deepEqual(
      writesTo(PROD, since).filter((w) => w.startsWith('PUT') && w.includes('/manifests/')),
      [],
      'no manifest written',
    );
  });
});
