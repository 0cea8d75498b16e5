import type { KeyVaultSecret, SecretClient, SecretProperties } from '@azure/keyvault-secrets';
import { ConcurrencyLimit } from '../common/concurrency';
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
  const abort = new AbortController();
  const fetched: (FetchedSecret | undefined)[] = [];
  const skipped: SkippedSecret[] = [];
  const inFlight: Promise<void>[] = [];
  let failure: { error: unknown } | undefined;

  const fetchInto = (index: number, name: string): Promise<void> =>
    limit
      .run(async () => {
        if (failure !== undefined) return;
        const secret = await client.getSecret(name, { abortSignal: abort.signal });
        fetched[index] = { name, value: secret.value ?? '' };
      })
      .catch((error: unknown) => {
        if (failure === undefined) {
          failure = { error };
          abort.abort();
        }
      });

  try {
    for await (const page of client.listPropertiesOfSecrets({ abortSignal: abort.signal }).byPage()) {
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
  const abort = new AbortController();
  const results = await Promise.all(
    [...new Set(names)].map((name) =>
      limit.run(async (): Promise<FetchedSecret | SkippedSecret> => {
        let secret: KeyVaultSecret;
        try {
          secret = await client.getSecret(name, { abortSignal: abort.signal });
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
