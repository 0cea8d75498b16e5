import * as assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import * as https from 'node:https';
import { ClientSecretCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { startBase, type SandboxBase } from '../../sandbox/base';
import { startEntra, type EntraServer } from '../../sandbox/entra';
import { FaultPlan, mulberry32 } from '../../sandbox/faults';
import { KEY_VAULT_AUDIENCE, startKeyVault, type KeyVaultServer } from '../../sandbox/keyvault';
import { sandboxSuite } from './harness';

function fakeRequest(method: string, url: string, authorization?: string): IncomingMessage {
  const headers = { host: 'kv.vault.azure.net', ...(authorization === undefined ? {} : { authorization }) };
  return { method, url, headers } as IncomingMessage;
}

interface RawAnswer {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** One GET straight to a sandbox server (no proxy, no SDK), so a test sees the bytes it sends. */
function rawGet(
  base: SandboxBase,
  port: number,
  host: string,
  path: string,
  authorization?: string,
): { answer: Promise<RawAnswer>; request: ReturnType<typeof https.request> } {
  let request!: ReturnType<typeof https.request>;
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    request = https.request({
      host: '127.0.0.1',
      port,
      path,
      servername: host,
      ca: base.ca.root.certificate,
      agent: false,
      headers: { host, ...(authorization === undefined ? {} : { authorization }) },
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
  return { answer, request };
}

describe('sandbox fault plans', function () {
  describe('rule selection', function () {
    it('is repeatable for a seed: the same requests are hit in every run', function () {
      const hits = (seed: number): number[] => {
        const plan = new FaultPlan(seed);
        plan.add({ match: { method: 'GET' }, status5xx: 503, probability: 0.3 });
        return Array.from({ length: 200 }, (_, i) => i).filter(
          (i) => plan.select(fakeRequest('GET', `/secrets/s${i}`)) !== undefined,
        );
      };

      assert.deepEqual(hits(42), hits(42));
      assert.notDeepEqual(hits(42), hits(43));
      const rate = hits(42).length / 200;
      assert.ok(rate > 0.2 && rate < 0.4, `about 30% hit, got ${rate}`);
    });

    it('matches on method and path pattern, and stops after `times`', function () {
      const plan = new FaultPlan();
      const rule = plan.add({
        match: { method: 'GET', pathPattern: /^\/secrets\/db-/ },
        status429: { retryAfterSeconds: 1 },
        times: 2,
      });

      assert.equal(plan.select(fakeRequest('PUT', '/secrets/db-password')), undefined);
      assert.equal(plan.select(fakeRequest('GET', '/secrets/api-key')), undefined);
      assert.ok(plan.select(fakeRequest('GET', '/secrets/db-password')));
      assert.ok(plan.select(fakeRequest('GET', '/secrets/db-user?api-version=1')));
      assert.equal(plan.select(fakeRequest('GET', '/secrets/db-password')), undefined);
      assert.equal(rule.injected, 2);
      assert.equal(plan.counts.status429, 2);
      assert.deepEqual(
        plan.injected.map((i) => i.path),
        ['/secrets/db-password', '/secrets/db-user'],
      );
    });

    it('tries rules in order and accepts predicates', function () {
      const plan = new FaultPlan();
      plan.add({ match: (request) => request.headers.host === 'other.vault.azure.net', status5xx: 500 });
      plan.add({ match: {}, latencyMs: 5 });

      assert.deepEqual(plan.select(fakeRequest('GET', '/x')), { match: {}, latencyMs: 5 });
      plan.clear();
      assert.equal(plan.select(fakeRequest('GET', '/x')), undefined);
      assert.deepEqual(plan.injected, []);
    });

    it('refuses impossible rules', function () {
      const plan = new FaultPlan();
      assert.throws(() => plan.add({ match: {}, probability: 1.5 }), /probability/);
      assert.throws(() => plan.add({ match: {}, status5xx: 404 }), /5xx/);
      assert.throws(() => plan.add({ match: {}, windowMs: 0 }), /windowMs/);
    });

    it('applies a windowed rule from its first match for that long of wall clock, then never again', function () {
      let now = 1_000;
      const plan = new FaultPlan(1, () => now);
      const window = plan.add({ match: {}, status429: { retryAfterSeconds: 1 }, windowMs: 10_000 });
      const hit = (): boolean => plan.select(fakeRequest('GET', '/secrets')) !== undefined;

      now = 5_000; // the window opens at the first request, not when the rule was added
      assert.ok(hit());
      now = 14_999;
      assert.ok(hit());
      now = 15_000;
      assert.ok(!hit());
      now = 100_000;
      assert.ok(!hit());
      assert.equal(window.injected, 2);
      assert.deepEqual(
        plan.injected.map((fault) => fault.at),
        [5_000, 14_999],
      );
    });

    it('can skip the unauthenticated request that only fetches the challenge', function () {
      const plan = new FaultPlan();
      plan.add({ match: { pathPattern: /^\/secrets/, authorized: true }, truncatedJson: true });

      assert.equal(plan.select(fakeRequest('GET', '/secrets/a/')), undefined);
      assert.deepEqual(plan.select(fakeRequest('GET', '/secrets/a/', 'Bearer x'))?.truncatedJson, true);
      assert.deepEqual(plan.counts.truncatedJson, 1);
    });

    it('draws from mulberry32, a uniform generator in [0, 1)', function () {
      const random = mulberry32(7);
      const draws = Array.from({ length: 1000 }, () => random());
      assert.ok(draws.every((d) => d >= 0 && d < 1));
      const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
      assert.ok(Math.abs(mean - 0.5) < 0.05);
    });
  });

  describe('against the real SecretClient', function () {
    let base: SandboxBase;
    let entra: EntraServer;
    let keyVault: KeyVaultServer;
    const plan = new FaultPlan(2024);
    let secrets: SecretClient;

    sandboxSuite(
      async (started, keep) => {
        base = started;
        entra = await keep(startEntra(base));
        keyVault = await keep(startKeyVault(base, { faults: plan }));
        entra.registerServicePrincipal({ clientId: 'fault-app', secret: 'fault-secret' });
        keyVault.createVault('kv-faults');
        keyVault.setSecret('kv-faults', 'plain', 'plain-value');
        keyVault.setSecret('kv-faults', 'large', 'x'.repeat(64 * 1024));
        // A short base delay keeps the exponential retries fast; 429s still wait for Retry-After.
        secrets = new SecretClient(
          'https://kv-faults.vault.azure.net',
          new ClientSecretCredential(base.tenantId, 'fault-app', 'fault-secret'),
          {
            retryOptions: { retryDelayInMs: 20 },
          },
        );
        // Settle the 401 challenge first, so each test sees only its own faults.
        await secrets.getSecret('plain');
      },
      { inProcess: true },
    );

    afterEach(function () {
      plan.clear();
    });

    const countOf = (path: string): number => keyVault.requests.filter((r) => r.path === path).length;

    it('honours Retry-After on a 429', async function () {
      plan.add({
        match: { pathPattern: /^\/secrets\/plain\// },
        status429: { retryAfterSeconds: 1 },
        times: 1,
      });
      const before = countOf('/secrets/plain/');
      const started = Date.now();

      const secret = await secrets.getSecret('plain');

      assert.equal(secret.value, 'plain-value');
      assert.ok(Date.now() - started >= 1000, 'waited for Retry-After');
      assert.equal(plan.counts.status429, 1);
      // The 429 was answered by the fault wrapper: the vault saw only the retry.
      assert.equal(countOf('/secrets/plain/') - before, 1);
    });

    it('retries a 503', async function () {
      plan.add({ match: { pathPattern: /^\/secrets\/plain\// }, status5xx: 503, times: 1 });

      assert.equal((await secrets.getSecret('plain')).value, 'plain-value');
      assert.equal(plan.counts.status5xx, 1);
    });

    it('surfaces a 503 that lasts as a RestError after the retries', async function () {
      plan.add({ match: { pathPattern: /^\/secrets\/plain\// }, status5xx: 503 });
      const impatient = new SecretClient(
        'https://kv-faults.vault.azure.net',
        new ClientSecretCredential(base.tenantId, 'fault-app', 'fault-secret'),
        {
          retryOptions: { maxRetries: 2, retryDelayInMs: 10 },
        },
      );

      await assert.rejects(impatient.getSecret('plain'), (error: { statusCode?: number; code?: string }) => {
        assert.equal(error.statusCode, 503);
        assert.equal(error.code, 'ServiceUnavailable');
        return true;
      });
      assert.equal(plan.counts.status5xx, 3, 'one try and two retries');
    });

    it('retries a connection reset before any answer (ECONNRESET)', async function () {
      plan.add({ match: { pathPattern: /^\/secrets\/large\// }, resetBeforeResponse: true, times: 1 });
      const before = countOf('/secrets/large/');

      const secret = await secrets.getSecret('large');

      assert.equal(secret.value?.length, 64 * 1024);
      assert.equal(plan.counts.resetBeforeResponse, 1);
      assert.equal(countOf('/secrets/large/') - before, 1, 'only the retry reached the vault');
    });

    it('does not retry a reset in the middle of the body: the SDK throws PARSE_ERROR, the next call works', async function () {
      // core-rest-pipeline 1.24 reads the body inside the HTTP client and wraps a broken stream in a
      // RestError with code PARSE_ERROR, which its retry strategies do not treat as transient.
      plan.add({ match: { pathPattern: /^\/secrets\/large\// }, resetMidBody: true, times: 1 });
      const before = countOf('/secrets/large/');

      await assert.rejects(
        secrets.getSecret('large'),
        (error: { name?: string; code?: string; message: string }) => {
          assert.equal(error.name, 'RestError');
          assert.equal(error.code, 'PARSE_ERROR');
          assert.match(error.message, /Error reading response as text: aborted/);
          return true;
        },
      );
      assert.equal(plan.counts.resetMidBody, 1);
      assert.equal(countOf('/secrets/large/') - before, 1, 'no retry');
      assert.equal(keyVault.requests.at(-1)?.completed, false);

      assert.equal((await secrets.getSecret('large')).value?.length, 64 * 1024);
    });

    describe('seen on the wire', function () {
      const host = 'kv-faults.vault.azure.net';
      const bearer = (): string =>
        `Bearer ${base.tokens.mint({ aud: KEY_VAULT_AUDIENCE, tid: base.tenantId, appid: 'fault-app', oid: 'fault-app' })}`;

      it('cuts a secret’s 200 JSON after its value, with headers that look whole', async function () {
        plan.add({ match: { pathPattern: /^\/secrets\/plain\// }, truncatedJson: true, times: 1 });

        const answer = await rawGet(base, keyVault.port, host, '/secrets/plain/?api-version=7.5', bearer())
          .answer;

        assert.equal(answer.status, 200);
        assert.equal(answer.body, '{"value":"plain-value",');
        assert.equal(answer.headers['content-length'], String(answer.body.length));
        assert.equal(answer.headers['content-type'], 'application/json; charset=utf-8');
        assert.deepEqual(plan.counts.truncatedJson, 1);
      });

      it('cuts a list page after its values, so the page has no nextLink and does not parse', async function () {
        plan.add({ match: { pathPattern: /^\/secrets\/?$/ }, truncatedJson: true, times: 1 });

        const answer = await rawGet(base, keyVault.port, host, '/secrets?api-version=7.5', bearer()).answer;

        assert.equal(answer.status, 200);
        assert.match(
          answer.body,
          /^\{"value":\[\{"id":"https:\/\/kv-faults\.vault\.azure\.net\/secrets\/large".*\}\],$/,
        );
        assert.throws(() => JSON.parse(answer.body) as unknown, SyntaxError);
        assert.equal(answer.headers['content-length'], String(Buffer.byteLength(answer.body)));
      });

      it('leaves answers other than 200 whole', async function () {
        plan.add({ match: { pathPattern: /^\/secrets\/plain\// }, truncatedJson: true, times: 1 });

        const answer = await rawGet(base, keyVault.port, host, '/secrets/plain/?api-version=7.5').answer;

        assert.equal(answer.status, 401);
        assert.match((JSON.parse(answer.body) as { error: { message: string } }).error.message, /AKV10000/);
      });

      it('never answers a hung request, and the server still closes that connection', async function () {
        // A server of its own: closing it is the point of the test.
        const ownBase = await startBase();
        const ownPlan = new FaultPlan();
        const ownVault = await startKeyVault(ownBase, { faults: ownPlan });
        ownVault.createVault('kv-hang');
        ownPlan.add({ match: { pathPattern: /^\/secrets/ }, neverAnswer: true });
        const { answer, request } = rawGet(ownBase, ownVault.port, 'kv-hang.vault.azure.net', '/secrets');
        let answered = false;
        request.on('response', () => (answered = true));
        while (ownPlan.counts.neverAnswer === 0) await new Promise((resolve) => setImmediate(resolve));

        await ownVault.close();
        await ownBase.close();

        await assert.rejects(answer, /socket hang up|ECONNRESET/);
        assert.equal(answered, false, 'no status line or header was ever sent');
        assert.deepEqual(
          ownPlan.injected.map((fault) => fault.kinds),
          [['neverAnswer']],
        );
      });
    });

    it('delays answers and trickles bodies', async function () {
      plan.add({
        match: { pathPattern: /^\/secrets\/large\// },
        latencyMs: 150,
        slowBodyBytesPerSecond: 256 * 1024,
        times: 1,
      });
      const started = Date.now();

      const secret = await secrets.getSecret('large');

      assert.equal(secret.value?.length, 64 * 1024);
      assert.ok(Date.now() - started >= 150 + 200, 'latency plus about a quarter of a second of trickling');
      assert.deepEqual(plan.injected[0]?.kinds, ['latency', 'slowBody']);
    });
  });
});
