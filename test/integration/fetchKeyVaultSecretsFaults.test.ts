// The bundled FetchKeyVaultSecrets task against hostile networks and vaults (issue 8): refusing
// proxies, cut-off bodies, requests never answered, throttling windows, secrets that change between
// listing and fetching, a vault of another tenant and reserved variable names.
import * as assert from 'node:assert/strict';
import type { TaskRun, TaskRunOptions } from '../../scripts/agent';
import { ENTRA_HOST, type ProxyRefusal } from '../../sandbox';
import {
  CONNECTION,
  randomValue,
  SECRET_SP,
  startKeyVaultHarness,
  type KeyVaultHarness,
} from './keyVaultHarness';

const VAULT = 'kv-hostile';
const VAULT_HOST = `${VAULT}.vault.azure.net`;
const RACE_VAULT = 'kv-race';
const SECRET_COUNT = 30;
const OTHER_TENANT = '0b1d2c3e-4f50-4617-8293-a4b5c6d7e8f9';
/** The per-try timeout the task reads from this variable; short, so a hang costs seconds. */
const SHORT_TIMEOUT = { AKS_DELIVERY_HTTP_TIMEOUT_SECONDS: '3' };
/** Kills a run that hangs well before mocha gives up, so the test reports what it printed. */
const RUN_LIMIT_MS = 100_000;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * What every failure must look like: exactly one task.complete, Failed, one error line matching
 * each pattern, nothing set, and no JavaScript error text anywhere a user could see it.
 */
function assertOneCleanFailure(run: TaskRun, ...patterns: RegExp[]): void {
  const completions = run.commands.filter((command) => command.command === 'task.complete');
  assert.deepEqual(
    completions.map((command) => command.properties['result']),
    ['Failed'],
    `exactly one task.complete, Failed; ${outcome(run)}\n${run.stdout}\n${run.stderr}`,
  );
  assert.equal(run.errors.length, 1, `one error line, got ${JSON.stringify(run.errors)}`);
  for (const pattern of patterns) assert.match(run.errors[0] ?? '', pattern);
  assert.doesNotMatch(run.stdout + run.stderr, /TypeError|Cannot read properties/);
  assert.deepEqual(run.secretVariables, {}, 'nothing is set');
  assert.deepEqual(run.variables, {}, 'nothing is set');
}

/** How a run ended, first in an assertion's message (the whole output follows it). */
function outcome(run: TaskRun): string {
  const set = Object.keys(run.secretVariables);
  return `exit code ${run.exitCode} (null: killed), result ${run.result}: ${run.resultMessage ?? '(no message)'}; ${set.length} variables set${set.length > 0 ? `: ${set.slice(0, 5).join(', ')}` : ''}`;
}

describe('FetchKeyVaultSecrets bundle against hostile networks and vaults (issue 8)', function () {
  this.timeout(150_000);
  let harness: KeyVaultHarness;
  const values = new Map<string, string>();
  const raceValues = new Map<string, string>();

  const run = (
    inputs: Record<string, string>,
    extra: Partial<TaskRunOptions> = {},
    vault = VAULT,
  ): Promise<TaskRun> =>
    harness.run(vault, inputs, {
      timeoutMs: RUN_LIMIT_MS,
      variables: { 'System.UnsafeAllowMultilineSecret': 'true' },
      ...extra,
      env: { ...SHORT_TIMEOUT, ...(extra.env ?? {}) },
    });

  const assertAllSet = (result: TaskRun, expected: ReadonlyMap<string, string>): void => {
    const completions = result.commands.filter((command) => command.command === 'task.complete');
    assert.deepEqual(
      completions.map((command) => command.properties['result']),
      ['Succeeded'],
      `exactly one task.complete, Succeeded; ${outcome(result)}\n${result.stdout}`,
    );
    for (const [name, value] of expected) assert.equal(result.secretVariables[name], value, name);
  };

  /** Only authorized GETs of one secret's latest value: the task's own fetch, not the challenge. */
  const getOf = (name: string) => ({ pathPattern: new RegExp(`^/secrets/${name}/?$`), authorized: true });

  before(async () => {
    harness = await startKeyVaultHarness(8);
    harness.keyVault.createVault(VAULT, { model: 'rbac', allowedPrincipals: [SECRET_SP.clientId] });
    for (let i = 0; i < SECRET_COUNT; i++) values.set(`secret-${String(i).padStart(2, '0')}`, randomValue());
    values.set('cut-secret', `{"password":"${randomValue()}"}`);
    values.set('hung-secret', randomValue());
    for (const [name, value] of values) harness.keyVault.setSecret(VAULT, name, value);

    harness.keyVault.createVault(RACE_VAULT, { model: 'rbac', allowedPrincipals: [SECRET_SP.clientId] });
    for (const name of ['alpha', 'bravo', 'charlie']) raceValues.set(name, randomValue());
    for (const [name, value] of raceValues) harness.keyVault.setSecret(RACE_VAULT, name, value);
    harness.keyVault.setSecret(RACE_VAULT, 'gone-dark', randomValue(), { changedAfterListing: 'disabled' });
    harness.keyVault.setSecret(RACE_VAULT, 'gone-away', randomValue(), { changedAfterListing: 'deleted' });

    for (const value of [...values.values(), ...raceValues.values()]) harness.secretValues.add(value);
  });

  afterEach(() => harness.faults.clear(8));

  after(async () => {
    await harness.close();
    assert.deepEqual(harness.base.proxy.refused, [], 'nothing tried to leave the sandbox');
  });

  describe('1 and 5: a proxy that refuses the tunnel fails the task with one line naming the proxy', () => {
    const refusals: [string, ProxyRefusal, RegExp][] = [
      [
        '403 with a body shorter than its Content-Length',
        { kind: 'status', status: 403, truncated: true },
        /403/,
      ],
      [
        '502 with a body shorter than its Content-Length',
        { kind: 'status', status: 502, truncated: true },
        /502/,
      ],
      [
        '503 with a body shorter than its Content-Length',
        { kind: 'status', status: 503, truncated: true },
        /503/,
      ],
      [
        '407 Proxy Authentication Required',
        { kind: 'authenticationRequired', realm: 'corp-proxy' },
        /407|authenticat/i,
      ],
      ['403 with a whole body', { kind: 'status', status: 403 }, /403/],
      ['502 with a whole body', { kind: 'status', status: 502 }, /502/],
      [
        '200 with an HTML page instead of a tunnel',
        { kind: 'captivePortal' },
        /HTML|portal|not a tunnel|unexpected/i,
      ],
    ];
    const refusedHosts: [string, string][] = [
      ['the vault', VAULT_HOST],
      ['Entra ID', ENTRA_HOST],
    ];
    for (const [hostName, host] of refusedHosts) {
      for (const [description, refusal, answer] of refusals) {
        it(`fails naming the proxy when it answers the CONNECT to ${hostName} with ${description}`, async () => {
          const rule = harness.base.proxy.refuse(host, refusal);
          try {
            const result = await run({ secrets: '*' });

            assert.ok(rule.applied > 0, 'the proxy refused the tunnel');
            const proxyAddress = new RegExp(escapeRegExp(`127.0.0.1:${harness.base.proxy.port}`));
            assertOneCleanFailure(result, proxyAddress, answer);
            // The proxy's 403 is not Key Vault's: no advice about roles, policies or the vault firewall.
            assert.doesNotMatch(result.errors[0] ?? '', /Key Vault Secrets User|access polic|network rules/i);
          } finally {
            rule.remove();
          }
        });
      }
    }
  });

  describe('2: a 200 whose JSON is cut off is retried, and its body is never quoted', () => {
    it('sets the secret when its value came back cut off once', async () => {
      harness.faults.add({ match: getOf('cut-secret'), truncatedJson: true, times: 1 });

      const result = await run({ secrets: 'cut-secret' });

      assert.equal(harness.faults.counts.truncatedJson, 1);
      assertAllSet(result, new Map([['cut-secret', values.get('cut-secret')!]]));
    });

    it('lists again when a page of the listing came back cut off once', async () => {
      harness.faults.add({
        match: { pathPattern: /^\/secrets\/?$/, authorized: true },
        truncatedJson: true,
        times: 1,
      });

      const result = await run({ secrets: '*' });

      assert.equal(harness.faults.counts.truncatedJson, 1);
      assertAllSet(result, values);
    });

    it('fails with one line, quoting no body, when the value always comes back cut off', async () => {
      harness.faults.add({ match: getOf('cut-secret'), truncatedJson: true });

      const result = await run({ secrets: 'cut-secret' });

      assertOneCleanFailure(result, /cut-secret|kv-hostile/);
      assert.ok(harness.faults.counts.truncatedJson >= 2, 'it tried again');
    });
  });

  describe('3: a request that is never answered is timed out and retried', () => {
    it('sets the secret when one request was never answered', async () => {
      harness.faults.add({ match: getOf('hung-secret'), neverAnswer: true, times: 1 });

      const result = await run({ secrets: 'hung-secret' });

      assert.equal(harness.faults.counts.neverAnswer, 1);
      assertAllSet(result, new Map([['hung-secret', values.get('hung-secret')!]]));
    });

    it('fails with one line naming the vault host and the timeout when requests are never answered', async () => {
      harness.faults.add({ match: getOf('hung-secret'), neverAnswer: true });

      const result = await run({ secrets: 'hung-secret' });

      assertOneCleanFailure(result, new RegExp(escapeRegExp(VAULT_HOST)), /\b3 ?s(econds?)?\b/);
      assert.ok(harness.faults.counts.neverAnswer >= 2, 'it tried again');
    });
  });

  describe('4: throttling is ridden out', () => {
    it('outlasts a 10-second window of 429s with Retry-After 1 without hammering the vault', async () => {
      // The window opens with the first fetch of a value, when every worker is busy.
      const window = harness.faults.add({
        match: { pathPattern: /^\/secrets\/[^/]+\/?$/, authorized: true },
        status429: { retryAfterSeconds: 1 },
        windowMs: 10_000,
      });

      const result = await run({ secrets: '*' });

      assertAllSet(result, values);
      // Success means it waited the window out: every fetch inside it was answered 429.
      assert.ok(window.injected > 0, 'the vault throttled');
      const perSecond = window.injected / 10;
      assert.ok(perSecond < 20, `${window.injected} 429s in the 10 s window: ${perSecond} per second`);
    });
  });

  describe('6: with `*`, a secret disabled or deleted between listing and fetching is skipped', () => {
    it('skips both with a warning naming each and sets every other secret', async () => {
      const result = await run({ secrets: '*' }, {}, RACE_VAULT);

      assertAllSet(result, raceValues);
      assert.equal(result.warnings.length, 2, JSON.stringify(result.warnings));
      assert.ok(
        result.warnings.some((warning) => warning.includes('gone-dark')),
        'names the disabled one',
      );
      assert.ok(
        result.warnings.some((warning) => warning.includes('gone-away')),
        'names the deleted one',
      );
      const names = Object.keys(result.secretVariables);
      assert.ok(!names.some((name) => /gone/i.test(name)), `nothing set for them: ${names.join(', ')}`);
    });
  });

  describe('8: clear words', () => {
    it('says the vault belongs to another tenant, naming it, when the connection is in another', async () => {
      const elsewhere = harness.servicePrincipal({
        tenantid: OTHER_TENANT,
        serviceprincipalid: SECRET_SP.clientId,
        serviceprincipalkey: SECRET_SP.secret,
        authenticationType: 'spnKey',
      });
      const result = await run({ secrets: 'secret-00' }, { endpoints: { [CONNECTION]: elsewhere } });

      assertOneCleanFailure(
        result,
        /belongs to|(another|other|different) tenant/i,
        new RegExp(harness.base.tenantId),
      );
      assert.doesNotMatch(result.errors[0] ?? '', /AdditionallyAllowedTenants/i);
    });

    for (const reserved of ['System.AccessToken', 'Agent.Foo', 'Build.Foo', 'Release.Foo']) {
      it(`refuses a rename onto ${reserved}, naming it, and sets nothing`, async () => {
        const result = await run({ secrets: `secret-00:${reserved}, secret-01` });

        assertOneCleanFailure(result, new RegExp(escapeRegExp(reserved)));
      });
    }
  });
});
