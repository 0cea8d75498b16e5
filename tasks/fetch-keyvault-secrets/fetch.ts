import { setMaxListeners } from 'node:events';
import type { KeyVaultSecret, SecretClient, SecretProperties } from '@azure/keyvault-secrets';
import { ConcurrencyLimit } from '../common/concurrency';
import { isBrokenResponse, isSecretDisabled, isSecretNotFound } from './keyVaultErrors';

/** What we need of SecretClient; a narrow surface keeps tests honest about what is called. */
export type SecretReader = Pick<SecretClient, 'listPropertiesOfSecrets' | 'getSecret'>;

export type SkipReason = 'disabled' | 'expired' | 'notYetValid' | 'missing';

export interface FetchedSecret {
  readonly name: string;
  readonly value: string;
}

export interface SkippedSecret {
  readonly name: string;
  readonly reason: SkipReason;
}

export interface FetchOutcome {
  /** In the order the vault listed them (or the order requested). */
  readonly fetched: readonly FetchedSecret[];
  readonly skipped: readonly SkippedSecret[];
}

/** One abort signal serves every request of a run, so it carries one listener per request in flight. */
function sharedAbortController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/** Why a secret cannot be used now, judged from its attributes; undefined when it can. */
export function unusableReason(
  properties: Pick<SecretProperties, 'enabled' | 'expiresOn' | 'notBefore'>,
  now: Date,
): SkipReason | undefined {
  if (properties.enabled === false) return 'disabled';
  if (properties.expiresOn !== undefined && properties.expiresOn.getTime() <= now.getTime()) return 'expired';
  if (properties.notBefore !== undefined && properties.notBefore.getTime() > now.getTime())
    return 'notYetValid';
  return undefined;
}

/**
 * Every usable secret of the vault. Listing and fetching overlap: each page's secrets are fetched
 * while the next page is listed, at most `concurrency` requests at a time. The first failure
 * stops new fetches and is thrown once the ones in flight have settled.
 */
export async function fetchAllSecrets(
  client: SecretReader,
  options: { concurrency: number; now: Date },
): Promise<FetchOutcome> {
  const limit = new ConcurrencyLimit(options.concurrency);
  const abort = sharedAbortController();
  const fetched: (FetchedSecret | undefined)[] = [];
  const skipped: SkippedSecret[] = [];
  const inFlight: Promise<void>[] = [];
  let failure: { error: unknown } | undefined;

  const fetchInto = (index: number, name: string): Promise<void> =>
    limit
      .run(async () => {
        if (failure !== undefined) return;
        const secret = await retryBrokenResponse(() => client.getSecret(name, { abortSignal: abort.signal }));
        fetched[index] = { name, value: secret.value ?? '' };
      })
      .catch((error: unknown) => {
        if (failure === undefined) {
          failure = { error };
          abort.abort();
        }
      });

  const pages = listPages(client, abort.signal);
  const askForNextPage = (): Promise<IteratorResult<SecretProperties[]>> => {
    const next = pages.next();
    // Awaited on the next turn of the loop, or left behind after a failure (the abort makes it fail
    // too, and the first failure is the one to report): never an unhandled rejection meanwhile.
    next.catch(() => undefined);
    return next;
  };
  let nextPage = askForNextPage();
  try {
    for (let result = await nextPage; result.done !== true; result = await nextPage) {
      const page = result.value;
      // The listing is the critical path. The next page is asked for before this page's values, and
      // its request goes out before theirs (setImmediate lets its chain of promises reach the
      // socket first); otherwise it waits behind a page of fetches on the wire and in the event
      // loop, and the listing slows by that much on every page.
      nextPage = askForNextPage();
      await new Promise((resolve) => setImmediate(resolve));
      for (const properties of page) {
        const reason = unusableReason(properties, options.now);
        if (reason !== undefined) {
          skipped.push({ name: properties.name, reason });
          continue;
        }
        inFlight.push(fetchInto(fetched.push(undefined) - 1, properties.name));
      }
      if (failure !== undefined) break;
    }
  } catch (error: unknown) {
    failure ??= { error };
    abort.abort();
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure.error;
  return { fetched: fetched.filter((secret): secret is FetchedSecret => secret !== undefined), skipped };
}

/**
 * The named secrets, fetched concurrently. An absent, disabled, expired or not yet valid secret is
 * reported as skipped (the caller decides whether that fails the task); any other error is thrown.
 */
export async function fetchNamedSecrets(
  client: SecretReader,
  names: readonly string[],
  options: { concurrency: number; now: Date },
): Promise<FetchOutcome> {
  const limit = new ConcurrencyLimit(options.concurrency);
  const abort = sharedAbortController();
  const results = await Promise.all(
    [...new Set(names)].map((name) =>
      limit.run(async (): Promise<FetchedSecret | SkippedSecret> => {
        let secret: KeyVaultSecret;
        try {
          secret = await retryBrokenResponse(() => client.getSecret(name, { abortSignal: abort.signal }));
        } catch (error: unknown) {
          if (isSecretNotFound(error)) return { name, reason: 'missing' };
          if (isSecretDisabled(error)) return { name, reason: 'disabled' };
          abort.abort();
          throw error;
        }
        const reason = unusableReason(secret.properties, options.now);
        return reason === undefined ? { name, value: secret.value ?? '' } : { name, reason };
      }),
    ),
  );
  return {
    fetched: results.filter((result): result is FetchedSecret => 'value' in result),
    skipped: results.filter((result): result is SkippedSecret => 'reason' in result),
  };
}

const BROKEN_RESPONSE_ATTEMPTS = 3;

async function retryBrokenResponse<T>(request: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (error: unknown) {
      if (attempt >= BROKEN_RESPONSE_ATTEMPTS || !isBrokenResponse(error)) throw error;
    }
  }
}

/**
 * The vault's pages of secret properties, each secret once. A listing whose response breaks off is
 * listed again from the start, skipping the secrets already yielded: SecretClient's pages carry no
 * continuation token (its page mapping drops it) and only the first page's response reaches
 * `onResponse`, so there is no link to resume from. Three breaks without a new secret in between
 * fail the listing. A failed first page's error body is put back on the error: the pager drops it,
 * and it is what tells an RBAC refusal from an access-policy or firewall one.
 */
async function* listPages(
  client: SecretReader,
  abortSignal: AbortSignal,
): AsyncGenerator<SecretProperties[]> {
  const yielded = new Set<string>();
  let errorBody: unknown;
  const onResponse = (response: {
    status: number;
    parsedBody?: unknown;
    bodyAsText?: string | null;
  }): void => {
    if (response.status >= 400) errorBody = response.parsedBody ?? parseJson(response.bodyAsText);
  };
  for (let broken = 0; ;) {
    try {
      for await (const page of client.listPropertiesOfSecrets({ abortSignal, onResponse }).byPage()) {
        // Secret names ignore case.
        const fresh = page.filter((properties) => !yielded.has(properties.name.toLowerCase()));
        if (fresh.length === 0) continue;
        for (const properties of fresh) yielded.add(properties.name.toLowerCase());
        broken = 0;
        yield fresh;
      }
      return;
    } catch (error: unknown) {
      if (isBrokenResponse(error) && ++broken < BROKEN_RESPONSE_ATTEMPTS) continue;
      if (
        errorBody !== undefined &&
        error !== null &&
        typeof error === 'object' &&
        (error as { details?: unknown }).details === undefined
      ) {
        Object.assign(error, { details: errorBody });
      }
      throw error;
    }
  }
}

function parseJson(text: string | null | undefined): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
