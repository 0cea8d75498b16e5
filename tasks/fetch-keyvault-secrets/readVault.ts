import { setMaxListeners } from 'node:events';
import { SecretClient, type KeyVaultSecret, type SecretProperties } from '@azure/keyvault-secrets';
import { azureClientOptions } from '../common/azureClientOptions';
import { ConcurrencyLimit } from '../common/concurrency';
import { createCredential } from '../common/credential';
import { registerSecret } from '../common/secrets';
import type { FetchKeyVaultSecretsInputs } from './inputs';
import { isSecretDisabled, isSecretNotFound } from './keyVaultErrors';

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

export interface ReadOptions {
  readonly limit: ConcurrencyLimit;
  readonly now: Date;
}

/**
 * A SecretClient through the agent's proxy, with our retries and per-try timeout. Throttled answers
 * lower `limit` and successes raise it again, so a busy vault is asked less often rather than
 * given up on.
 */
export function createSecretClient(
  inputs: FetchKeyVaultSecretsInputs,
  limit: ConcurrencyLimit,
): SecretClient {
  return new SecretClient(
    inputs.vaultUrl,
    createCredential(inputs.connection),
    azureClientOptions(inputs.vaultUrl, 'keyVault', {
      onThrottled: () => limit.throttled(),
      onSuccess: () => limit.succeeded(),
    }),
  );
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

/** Why a fetch failed when the secret is simply not there to use; undefined for a real failure. */
function skipReasonOfFailure(error: unknown): SkipReason | undefined {
  if (isSecretNotFound(error)) return 'missing';
  if (isSecretDisabled(error)) return 'disabled';
  return undefined;
}

/** Fetches one secret and registers its value with the agent the moment it arrives. */
async function getAndRegister(
  client: SecretReader,
  name: string,
  abortSignal: AbortSignal,
): Promise<KeyVaultSecret> {
  const secret = await client.getSecret(name, { abortSignal });
  if (secret.value !== undefined) registerSecret(secret.value);
  return secret;
}

/**
 * Every usable secret of the vault. Listing and fetching overlap: each page's secrets are fetched
 * while the next page is listed, within the concurrency limit. A secret listed as usable that is
 * disabled or deleted by the time it is fetched is skipped like one found disabled while listing.
 * The first real failure stops new fetches and is thrown once the ones in flight have settled.
 */
export async function readAllSecrets(client: SecretReader, options: ReadOptions): Promise<FetchOutcome> {
  const abort = sharedAbortController();
  const fetched: (FetchedSecret | undefined)[] = [];
  const skipped: SkippedSecret[] = [];
  const inFlight: Promise<void>[] = [];
  let failure: { error: unknown } | undefined;

  const fetchInto = (index: number, name: string): Promise<void> =>
    options.limit
      .run(async () => {
        if (failure !== undefined) return;
        try {
          const secret = await getAndRegister(client, name, abort.signal);
          fetched[index] = { name, value: secret.value ?? '' };
        } catch (error: unknown) {
          const reason = skipReasonOfFailure(error);
          if (reason === undefined) throw error;
          skipped.push({ name, reason });
        }
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
export async function readNamedSecrets(
  client: SecretReader,
  names: readonly string[],
  options: ReadOptions,
): Promise<FetchOutcome> {
  const abort = sharedAbortController();
  const results = await Promise.all(
    [...new Set(names)].map((name) =>
      options.limit.run(async (): Promise<FetchedSecret | SkippedSecret> => {
        let secret: KeyVaultSecret;
        try {
          secret = await getAndRegister(client, name, abort.signal);
        } catch (error: unknown) {
          const reason = skipReasonOfFailure(error);
          if (reason !== undefined) return { name, reason };
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

/**
 * The vault's pages of secret properties. Each page's request is retried on its own by the
 * client's retry policy (tasks/common/retry.ts), a cut-off body included. A failed first page's
 * error body is put back on the error: the pager drops it, and its code is what tells an RBAC
 * refusal from an access-policy or firewall one.
 */
async function* listPages(
  client: SecretReader,
  abortSignal: AbortSignal,
): AsyncGenerator<SecretProperties[]> {
  let errorBody: unknown;
  const onResponse = (response: {
    status: number;
    parsedBody?: unknown;
    bodyAsText?: string | null;
  }): void => {
    if (response.status >= 400) errorBody = response.parsedBody ?? parseJson(response.bodyAsText);
  };
  try {
    for await (const page of client.listPropertiesOfSecrets({ abortSignal, onResponse }).byPage()) {
      yield page;
    }
  } catch (error: unknown) {
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

function parseJson(text: string | null | undefined): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
