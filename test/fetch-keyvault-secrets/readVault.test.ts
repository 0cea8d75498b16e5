import assert from 'node:assert/strict';
import type { SecretProperties } from '@azure/keyvault-secrets';
import { ConcurrencyLimit } from '../../tasks/common/concurrency';
import { readAllSecrets, type SecretReader } from '../../tasks/fetch-keyvault-secrets/readVault';

/**
 * Promise steps between a call and its request reaching the socket. The SDK's pager goes through
 * more of them (two async iterators, the paging helper, then the same pipeline) than `getSecret`.
 */
const PAGE_REQUEST_STEPS = 20;
const GET_REQUEST_STEPS = 10;

async function promiseSteps(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await Promise.resolve();
}

/**
 * A vault whose every request answers after `latencyMs`, and which logs when each request was sent,
 * so the order of the listing and the fetching on the wire can be checked.
 */
class ScriptedVault {
  readonly log: string[] = [];
  getsInFlight = 0;
  maxGetsInFlight = 0;

  constructor(
    private readonly names: readonly string[],
    private readonly options: {
      pageSize: number;
      latencyMs: number;
      failGet?: string;
      failPage?: number;
      /** Secrets that answer 403 SecretDisabled or 404 SecretNotFound when fetched. */
      goneOnGet?: Record<string, 'SecretDisabled' | 'SecretNotFound'>;
    },
  ) {}

  get pageCount(): number {
    return Math.ceil(this.names.length / this.options.pageSize);
  }

  reader(): SecretReader {
    const listPropertiesOfSecrets = (
      options: { onResponse?: (response: unknown) => void } = {},
    ): unknown => ({
      byPage: () => this.pages(options.onResponse),
    });
    const getSecret = async (name: string): Promise<unknown> => {
      await promiseSteps(GET_REQUEST_STEPS);
      this.log.push(`get ${name}`);
      this.getsInFlight++;
      this.maxGetsInFlight = Math.max(this.maxGetsInFlight, this.getsInFlight);
      try {
        await this.delay();
        if (name === this.options.failGet) throw Object.assign(new Error('boom'), { statusCode: 500 });
        const gone = this.options.goneOnGet?.[name];
        if (gone !== undefined)
          throw Object.assign(new Error(gone), {
            statusCode: gone === 'SecretDisabled' ? 403 : 404,
            details: { error: { code: gone } },
          });
        return { name, value: `value of ${name}`, properties: { name } };
      } finally {
        this.getsInFlight--;
      }
    };
    return { listPropertiesOfSecrets, getSecret } as unknown as SecretReader;
  }

  /** Like SecretClient's pager: only the first page's raw response reaches `onResponse`. */
  private async *pages(
    onResponse: ((response: unknown) => void) | undefined,
  ): AsyncGenerator<SecretProperties[]> {
    const { pageSize } = this.options;
    let page = 0;
    while (page < this.pageCount) {
      await promiseSteps(PAGE_REQUEST_STEPS);
      this.log.push(`page ${page}`);
      await this.delay();
      if (page === this.options.failPage) throw Object.assign(new Error('page broke'), { statusCode: 500 });
      const names = this.names.slice(page * pageSize, (page + 1) * pageSize);
      page++;
      const value = names.map((name) => ({ name, enabled: true }) as SecretProperties);
      if (page === 1) onResponse?.({ status: 200, parsedBody: { value } });
      yield value;
    }
  }

  private delay(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.options.latencyMs));
  }
}

const secretNames = (count: number): string[] => Array.from({ length: count }, (_, i) => `secret-${i}`);

describe('readAllSecrets', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  beforeEach(() => {
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  it('fetches every value, in the order the vault listed them', async () => {
    const vault = new ScriptedVault(secretNames(23), { pageSize: 5, latencyMs: 1 });
    const outcome = await readAllSecrets(vault.reader(), { limit: new ConcurrencyLimit(4), now: new Date() });
    assert.deepEqual(
      outcome.fetched.map((secret) => [secret.name, secret.value]),
      secretNames(23).map((name) => [name, `value of ${name}`]),
    );
    assert.deepEqual(outcome.skipped, []);
  });

  it('sends the request for the next page before the values of the page it has, and fetches while listing', async () => {
    const vault = new ScriptedVault(secretNames(12), { pageSize: 4, latencyMs: 5 });
    await readAllSecrets(vault.reader(), { limit: new ConcurrencyLimit(8), now: new Date() });
    const at = (entry: string): number => {
      const index = vault.log.indexOf(entry);
      assert.notEqual(index, -1, `${entry} was never asked for: ${vault.log.join(', ')}`);
      return index;
    };
    // Page 0's values go out after page 1 is asked for, and before page 2 is: fetching overlaps listing.
    assert.ok(at('page 1') < at('get secret-0'), vault.log.join(', '));
    assert.ok(at('get secret-3') < at('page 2'), vault.log.join(', '));
    assert.ok(at('page 2') < at('get secret-4'), vault.log.join(', '));
  });

  it('keeps at most `concurrency` fetches in flight, and uses them all', async () => {
    const vault = new ScriptedVault(secretNames(60), { pageSize: 25, latencyMs: 3 });
    const outcome = await readAllSecrets(vault.reader(), { limit: new ConcurrencyLimit(7), now: new Date() });
    assert.equal(outcome.fetched.length, 60);
    assert.equal(vault.maxGetsInFlight, 7);
  });

  it('stops fetching at the first failure and throws it, leaving no rejection unhandled', async () => {
    const vault = new ScriptedVault(secretNames(30), { pageSize: 5, latencyMs: 2, failGet: 'secret-2' });
    await assert.rejects(
      readAllSecrets(vault.reader(), { limit: new ConcurrencyLimit(2), now: new Date() }),
      /boom/,
    );
    assert.equal(vault.getsInFlight, 0);
    assert.ok(!vault.log.includes('get secret-29'), vault.log.join(', '));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(unhandled, []);
  });

  it('skips a secret listed as usable that is disabled or deleted by the time it is fetched', async () => {
    const vault = new ScriptedVault(secretNames(6), {
      pageSize: 3,
      latencyMs: 1,
      goneOnGet: { 'secret-1': 'SecretDisabled', 'secret-4': 'SecretNotFound' },
    });
    const outcome = await readAllSecrets(vault.reader(), { limit: new ConcurrencyLimit(4), now: new Date() });
    assert.deepEqual(
      outcome.fetched.map((secret) => secret.name),
      ['secret-0', 'secret-2', 'secret-3', 'secret-5'],
    );
    assert.deepEqual(outcome.skipped, [
      { name: 'secret-1', reason: 'disabled' },
      { name: 'secret-4', reason: 'missing' },
    ]);
  });

  it('throws a failure of a later page after the fetches in flight have settled', async () => {
    const vault = new ScriptedVault(secretNames(15), { pageSize: 5, latencyMs: 2, failPage: 2 });
    await assert.rejects(
      readAllSecrets(vault.reader(), { limit: new ConcurrencyLimit(16), now: new Date() }),
      /page broke/,
    );
    assert.ok(vault.log.includes('get secret-0'), vault.log.join(', '));
    assert.equal(vault.getsInFlight, 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(unhandled, []);
  });
});
