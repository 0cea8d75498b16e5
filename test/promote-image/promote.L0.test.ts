import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { FAKES_DIR, assertFailedWith, failureMessage, runL0, type L0Result } from '../support/l0';
import { servicePrincipalEndpoint, SUBSCRIPTION_ID, TENANT_ID } from '../support/fixtures';
import type { FakeArm } from './fakes/armContainerRegistry';
import { recordedCalls, sha256, type FakeRegistries, type FakeRegistry } from './fakes/registryState';

const SOURCE = 'nonprod-connection';
const TARGET = 'prod-connection';
const NONPROD = 'contosononprod.azurecr.io';
const PROD = 'contosoprod.azurecr.io';
const PROD_SUBSCRIPTION = 'a1b2c3d4-0000-4000-8000-000000000002';
const OTHER_TENANT = '0f1e2d3c-0000-4000-8000-0000000000ff';
const registryId = (group: string, name: string, subscription: string): string =>
  `/subscriptions/${subscription}/resourceGroups/${group}/providers/Microsoft.ContainerRegistry/registries/${name}`;

/** A one-layer OCI image: its blobs and its manifest, with real digests. */
function image(label: string): { digest: string; manifest: string; blobs: Record<string, string> } {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', label }));
  const layer = Buffer.from(`layer of ${label}`);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length },
      ],
    }),
  );
  return {
    digest: sha256(manifest),
    manifest: manifest.toString('base64'),
    blobs: { [sha256(config)]: config.toString('base64'), [sha256(layer)]: layer.toString('base64') },
  };
}

const WEB = image('web 1.4.2');
const OLD = image('web 1.4.1');

function registryWith(
  images: { repository: string; tag: string; image: typeof WEB }[],
  extra: Partial<FakeRegistry> = {},
): FakeRegistry {
  const registry: FakeRegistry = { acr: true, repositories: {}, blobs: {}, ...extra };
  for (const { repository, tag, image: i } of images) {
    const repo = (registry.repositories[repository] ??= { manifests: {}, tags: {} });
    repo.manifests[i.digest] = { mediaType: 'application/vnd.oci.image.manifest.v1+json', bytes: i.manifest };
    repo.tags[tag] = i.digest;
    Object.assign(registry.blobs, i.blobs);
  }
  return registry;
}

const ARM: FakeArm = {
  subscriptions: {
    [SUBSCRIPTION_ID]: [
      { id: registryId('rg-nonprod', 'contosononprod', SUBSCRIPTION_ID), loginServer: NONPROD },
    ],
    [PROD_SUBSCRIPTION]: [{ id: registryId('rg-prod', 'contosoprod', PROD_SUBSCRIPTION), loginServer: PROD }],
  },
};

interface Run {
  inputs?: Record<string, string>;
  registries?: FakeRegistries['registries'];
  arm?: FakeArm;
  targetTenant?: string;
}

async function run({ inputs = {}, registries, arm = ARM, targetTenant = TENANT_ID }: Run): Promise<L0Result> {
  const target = servicePrincipalEndpoint({
    data: { environment: 'AzureCloud', subscriptionId: PROD_SUBSCRIPTION, subscriptionName: 'Prod' },
  });
  return runL0({
    task: 'promote-image',
    inputs: {
      sourceAzureSubscription: SOURCE,
      sourceRegistry: NONPROD,
      image: 'team/web:1.4.2',
      targetAzureSubscription: TARGET,
      targetRegistry: PROD,
      targetTags: 'prod\n1.4.2',
      ...inputs,
    },
    endpoints: {
      [SOURCE]: servicePrincipalEndpoint(),
      [TARGET]: { ...target, auth: { ...target.auth, tenantid: targetTenant } },
    },
    env: {
      FAKE_REGISTRIES: JSON.stringify({
        registries: registries ?? {
          [NONPROD]: registryWith([{ repository: 'team/web', tag: '1.4.2', image: WEB }]),
          [PROD]: registryWith([]),
        },
      }),
      FAKE_ARM: JSON.stringify(arm),
    },
    mocks: {
      '@azure/identity': path.join(FAKES_DIR, 'identity.js'),
      '@azure/arm-containerregistry': path.join(__dirname, 'fakes', 'armContainerRegistry.js'),
      undici: path.join(__dirname, 'fakes', 'undici.js'),
    },
  });
}

function outputs(result: L0Result): Record<string, string> {
  return Object.fromEntries(
    result.commands
      .filter((c) => c.command === 'task.setvariable' && c.properties['isOutput'] === 'true')
      .map((c) => [c.properties['variable'] ?? '', c.message]),
  );
}

/** Registry requests that change something (anything but GET/HEAD and sign-in). */
function writesTo(result: L0Result, host: string): string[] {
  return recordedCalls(result.stdout)
    .filter((c) => c['host'] === host && c['method'] !== 'GET' && c['method'] !== 'HEAD')
    .filter((c) => !String(c['path']).startsWith('/oauth2/'))
    .map((c) => `${String(c['method'])} ${String(c['path'])}`);
}

function armCalls(result: L0Result): { call: string; detail: unknown }[] {
  return result.stdout
    .split(/\r?\n/)
    .filter((line) => line.startsWith('##l0-arm '))
    .map((line) => JSON.parse(line.slice('##l0-arm '.length)) as { call: string; detail: unknown });
}

describe('PromoteImage (L0)', () => {
  describe('method: copy', () => {
    it('copies the digest the source tag names, tags it, sets both outputs and uploads a summary', async () => {
      const result = await run({});

      assert.ok(result.succeeded, failureMessage(result));
      assert.deepEqual(outputs(result), {
        promotedDigest: WEB.digest,
        promotedImage: `${PROD}/team/web@${WEB.digest}`,
      });
      assert.match(
        result.stdout,
        new RegExp(`loc_mock_PromoteResolved ${NONPROD}/team/web:1.4.2 ${WEB.digest}`),
      );
      assert.match(result.stdout, /loc_mock_PromoteCopied 1 0 2 0 0 /);
      assert.match(result.stdout, new RegExp(`loc_mock_PromoteTagCreated ${PROD}/team/web:prod`));
      assert.match(result.stdout, new RegExp(`loc_mock_PromoteTagCreated ${PROD}/team/web:1.4.2`));
      assert.ok(
        result.commands.some((c) => c.command === 'task.uploadsummary'),
        'a summary is uploaded',
      );
      assert.deepEqual(
        writesTo(result, PROD).filter((w) => w.startsWith('PUT /v2/team/web/manifests/')),
        [
          `PUT /v2/team/web/manifests/${WEB.digest}`,
          'PUT /v2/team/web/manifests/prod',
          'PUT /v2/team/web/manifests/1.4.2',
        ],
      );
    });

    it('signs in to each registry through its own connection, naming the connection’s tenant to ACR', async () => {
      const result = await run({ targetTenant: OTHER_TENANT });

      assert.ok(result.succeeded, failureMessage(result));
      const exchanges = recordedCalls(result.stdout).filter((c) => c['path'] === '/oauth2/exchange');
      assert.deepEqual(
        exchanges.map((c) => [c['host'], (c['form'] as Record<string, string>)['tenant']]).sort(),
        [
          [NONPROD, TENANT_ID],
          [PROD, OTHER_TENANT],
        ],
      );
    });

    it('writes nothing on a re-run that finds every tag at the promoted digest, reading each tag once and nothing behind them', async () => {
      const result = await run({
        registries: {
          [NONPROD]: registryWith([{ repository: 'team/web', tag: '1.4.2', image: WEB }]),
          [PROD]: registryWith([
            { repository: 'team/web', tag: 'prod', image: WEB },
            { repository: 'team/web', tag: '1.4.2', image: WEB },
          ]),
        },
      });

      assert.ok(result.succeeded, failureMessage(result));
      assert.deepEqual(writesTo(result, PROD), []);
      assert.match(result.stdout, /loc_mock_PromoteCopied 0 1 0 2 0 0 B /);
      assert.match(result.stdout, new RegExp(`loc_mock_PromoteTagKept ${PROD}/team/web:prod`));
      // A tag at the digest shows the manifest is there, and a registry holds a manifest only with
      // its blobs; the checks before any write already read what a read-back would.
      const reads = recordedCalls(result.stdout)
        .filter((c) => c['host'] === PROD && c['method'] === 'HEAD' && c['authorized'] === true)
        .map((c) => String(c['path']));
      assert.deepEqual(reads.sort(), ['/v2/team/web/manifests/1.4.2', '/v2/team/web/manifests/prod']);
    });

    it('fails before writing anything when a target tag points at another digest', async () => {
      const result = await run({
        registries: {
          [NONPROD]: registryWith([{ repository: 'team/web', tag: '1.4.2', image: WEB }]),
          [PROD]: registryWith([{ repository: 'team/web', tag: 'prod', image: OLD }]),
        },
      });

      assertFailedWith(
        result,
        `loc_mock_PromoteTagConflict ${PROD}/team/web prod (${OLD.digest}) ${WEB.digest}`,
      );
      assert.deepEqual(writesTo(result, PROD), []);
      assert.deepEqual(outputs(result), {});
    });

    it('names AcrPush and the target connection when the target refuses the push', async () => {
      const result = await run({
        registries: {
          [NONPROD]: registryWith([{ repository: 'team/web', tag: '1.4.2', image: WEB }]),
          [PROD]: registryWith([], { denyPush: true }),
        },
      });

      assertFailedWith(
        result,
        `loc_mock_PromoteAccessDenied targetAzureSubscription push team/web ${PROD} 403 AcrPush`,
      );
    });
  });

  describe('lockTags', () => {
    it('locks the manifest, then each tag, through ACR’s metadata API, and says so', async () => {
      const result = await run({ inputs: { lockTags: 'true' } });

      assert.ok(result.succeeded, failureMessage(result));
      const patches = recordedCalls(result.stdout).filter((c) => c['method'] === 'PATCH');
      assert.deepEqual(
        patches.map((c) => [c['host'], c['path'], c['query'], c['contentType'], c['body'], c['authorized']]),
        [
          [
            PROD,
            `/acr/v1/team/web/_manifests/${WEB.digest}`,
            '?api-version=2021-07-01',
            'application/json',
            { writeEnabled: false },
            true,
          ],
          [
            PROD,
            '/acr/v1/team/web/_tags/prod',
            '?api-version=2021-07-01',
            'application/json',
            { writeEnabled: false },
            true,
          ],
          [
            PROD,
            '/acr/v1/team/web/_tags/1.4.2',
            '?api-version=2021-07-01',
            'application/json',
            { writeEnabled: false },
            true,
          ],
        ],
      );
      assert.match(
        result.stdout,
        new RegExp(`loc_mock_PromoteLocked ${WEB.digest}, prod, 1.4.2 ${PROD}/team/web`),
      );
    });

    it('asks for the metadata_write scope that AcrPush grants', async () => {
      const result = await run({ inputs: { lockTags: 'true' } });

      const scopes = recordedCalls(result.stdout)
        .filter((c) => c['host'] === PROD && c['path'] === '/oauth2/token')
        .flatMap((c) => c['scopes'] as string[]);
      assert.ok(scopes.includes('repository:team/web:metadata_write'), scopes.join(' '));
    });

    it('does not lock when lockTags is false', async () => {
      const result = await run({});

      assert.ok(result.succeeded, failureMessage(result));
      assert.equal(recordedCalls(result.stdout).filter((c) => c['method'] === 'PATCH').length, 0);
      assert.doesNotMatch(result.stdout, /loc_mock_PromoteLocked/);
    });

    it('fails in one line, before any request, when the target is not an ACR', async () => {
      const result = await run({
        inputs: { lockTags: 'true', targetRegistry: 'registry.contoso.example' },
        registries: {
          [NONPROD]: registryWith([{ repository: 'team/web', tag: '1.4.2', image: WEB }]),
          'registry.contoso.example': registryWith([], { acr: false }),
        },
      });

      assertFailedWith(result, 'loc_mock_PromoteLockNeedsAcr registry.contoso.example');
      assert.deepEqual(recordedCalls(result.stdout), []);
    });
  });

  describe('method: import', () => {
    it('imports exactly the resolved digest through ARM, NoForce, then verifies and sets the outputs', async () => {
      const result = await run({ inputs: { method: 'import' } });

      assert.ok(result.succeeded, failureMessage(result));
      const imports = armCalls(result).filter((c) => c.call === 'importImage');
      assert.deepEqual(
        imports.map((c) => c.detail),
        [
          {
            subscriptionId: PROD_SUBSCRIPTION,
            resourceGroup: 'rg-prod',
            name: 'contosoprod',
            parameters: {
              source: {
                resourceId: registryId('rg-nonprod', 'contosononprod', SUBSCRIPTION_ID),
                sourceImage: `team/web@${WEB.digest}`,
              },
              targetTags: ['team/web:prod', 'team/web:1.4.2'],
              mode: 'NoForce',
            },
          },
        ],
      );
      assert.deepEqual(
        armCalls(result)
          .filter((c) => c.call === 'importDeadline')
          .map((c) => c.detail),
        [true],
        'the wait for the import is bounded',
      );
      assert.deepEqual(writesTo(result, PROD), [], 'the agent sends no image data');
      assert.deepEqual(outputs(result), {
        promotedDigest: WEB.digest,
        promotedImage: `${PROD}/team/web@${WEB.digest}`,
      });
      assert.match(result.stdout, new RegExp(`loc_mock_PromoteImported ${WEB.digest} ${PROD}`));
    });

    it('talks to ARM at the connection’s cloud with its ARM scope, listing each side in its own subscription', async () => {
      const result = await run({ inputs: { method: 'import' } });

      const constructed = armCalls(result).filter((c) => c.call === 'constructor');
      assert.deepEqual(
        constructed.map((c) => c.detail).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
        [
          {
            subscriptionId: PROD_SUBSCRIPTION,
            endpoint: 'https://management.azure.com',
            credentials: { scopes: ['https://management.azure.com/.default'] },
          },
          {
            subscriptionId: SUBSCRIPTION_ID,
            endpoint: 'https://management.azure.com',
            credentials: { scopes: ['https://management.azure.com/.default'] },
          },
        ],
      );
    });

    it('moves a tag with mode Force when overwrite is true', async () => {
      const result = await run({
        inputs: { method: 'import', overwrite: 'true', targetTags: 'prod' },
        registries: {
          [NONPROD]: registryWith([{ repository: 'team/web', tag: '1.4.2', image: WEB }]),
          [PROD]: registryWith([{ repository: 'team/web', tag: 'prod', image: OLD }]),
        },
      });

      assert.ok(result.succeeded, failureMessage(result));
      const imported = armCalls(result).find((c) => c.call === 'importImage')?.detail as {
        parameters: { mode: string };
      };
      assert.equal(imported.parameters.mode, 'Force');
      assert.match(result.stdout, new RegExp(`loc_mock_PromoteTagMoved ${PROD}/team/web:prod ${OLD.digest}`));
    });

    it('refuses a tag at another digest before asking ARM, naming both digests', async () => {
      const result = await run({
        inputs: { method: 'import', targetTags: 'prod' },
        registries: {
          [NONPROD]: registryWith([{ repository: 'team/web', tag: '1.4.2', image: WEB }]),
          [PROD]: registryWith([{ repository: 'team/web', tag: 'prod', image: OLD }]),
        },
      });

      assertFailedWith(
        result,
        `loc_mock_PromoteTagConflict ${PROD}/team/web prod (${OLD.digest}) ${WEB.digest}`,
      );
      assert.equal(armCalls(result).filter((c) => c.call === 'importImage').length, 0);
    });

    it('asks nothing of ARM when every target tag already holds the digest', async () => {
      const result = await run({
        inputs: { method: 'import', targetTags: 'prod' },
        registries: {
          [NONPROD]: registryWith([{ repository: 'team/web', tag: '1.4.2', image: WEB }]),
          [PROD]: registryWith([{ repository: 'team/web', tag: 'prod', image: WEB }]),
        },
      });

      assert.ok(result.succeeded, failureMessage(result));
      assert.equal(armCalls(result).length, 0);
      assert.match(result.stdout, /loc_mock_PromoteImportNotNeeded/);
    });

    it('suggests copy when the connections are in different tenants, before any request', async () => {
      const result = await run({ inputs: { method: 'import' }, targetTenant: OTHER_TENANT });

      assertFailedWith(result, `loc_mock_PromoteImportOtherTenant ${TENANT_ID} ${OTHER_TENANT}`);
      assert.equal(armCalls(result).length, 0);
      assert.deepEqual(recordedCalls(result.stdout), []);
    });

    it('suggests copy when the source is not an ACR the source connection can see', async () => {
      const result = await run({
        inputs: { method: 'import' },
        arm: { subscriptions: { [PROD_SUBSCRIPTION]: ARM.subscriptions[PROD_SUBSCRIPTION] ?? [] } },
      });

      assertFailedWith(result, `loc_mock_PromoteImportSourceNotInReach ${NONPROD} ${SOURCE}`);
      assert.equal(armCalls(result).filter((c) => c.call === 'importImage').length, 0);
    });

    it('names the target connection and its subscription when the target registry is not in it', async () => {
      const result = await run({
        inputs: { method: 'import' },
        arm: { subscriptions: { [SUBSCRIPTION_ID]: ARM.subscriptions[SUBSCRIPTION_ID] ?? [] } },
      });

      assertFailedWith(result, `loc_mock_PromoteImportTargetNotFound ${PROD} ${TARGET} ${PROD_SUBSCRIPTION}`);
    });

    it('explains an import ARM refuses for want of rights', async () => {
      const result = await run({
        inputs: { method: 'import' },
        arm: { ...ARM, importError: { statusCode: 403, code: 'AuthorizationFailed', message: 'no' } },
      });

      assertFailedWith(
        result,
        `loc_mock_PromoteImportForbidden ${TARGET} import into ${PROD} AuthorizationFailed`,
      );
      assert.deepEqual(outputs(result), {});
    });

    it('names ARM’s error code when the import fails', async () => {
      const result = await run({
        inputs: { method: 'import' },
        arm: { ...ARM, importError: { statusCode: 400, code: 'ImportSourceNotFound', message: 'gone' } },
      });

      assertFailedWith(result, `loc_mock_PromoteImportFailed ${PROD} ImportSourceNotFound 400`);
    });
  });
});
