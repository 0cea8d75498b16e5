import * as tl from 'azure-pipelines-task-lib/task';
import type { Dispatcher } from 'undici';
import { UserError } from '../common/errors';
import { formatImageReference } from '../common/imageReference';
import { undiciDispatcher } from '../common/undiciDispatcher';
import { isAcrLoginServer, lockPromoted, LockTargetMissingError } from './acrMetadata';
import { copyImage, ImageNotFoundError, TagConflictError, TagsWrittenError } from './copy';
import { explainCopyError } from './copyErrors';
import { importBlocker, importWithArm } from './importImage';
import type { PromoteImageInputs } from './inputs';
import { loc, userError } from './messages';
import { Credentials, registryClient } from './registries';
import { DigestMismatchError, type RegistryClient } from './registryClient';
import { keepHttpParserAtBaseline } from './registryHttp';
import { formatBytes, formatSeconds, formatThroughput, type Promotion } from './summary';
import { decideTags, type TagDecision } from './tagProtection';

/** What the promotion talks through; the task's defaults, replaceable in tests. */
export interface PromoteServices {
  readonly dispatcher: Dispatcher;
  readonly credentials: Credentials;
}

export function defaultServices(): PromoteServices {
  keepHttpParserAtBaseline();
  return { dispatcher: undiciDispatcher(), credentials: new Credentials() };
}

/**
 * Promotes the source image to the target as the inputs say, by copy or by ACR import, verifies
 * that every target tag holds the source digest, and locks what was promoted when asked. Every
 * check that can refuse the promotion runs before the first write to the target.
 */
export async function execute(inputs: PromoteImageInputs, services: PromoteServices): Promise<Promotion> {
  const started = Date.now();
  const { source, target } = inputs;
  if (
    inputs.lockTags &&
    !isAcrLoginServer(target.registry, target.connection.cloud.containerRegistryDnsSuffix)
  )
    throw userError('PromoteLockNeedsAcr', target.registry);
  if (inputs.method === 'import') {
    const blocker = importBlocker(source.connection, target.connection);
    if (blocker !== undefined) throw blocker;
  }

  const sourceClient = registryClient(
    source.registry,
    source.connection,
    services.credentials,
    services.dispatcher,
  );
  const targetClient = registryClient(
    target.registry,
    target.connection,
    services.credentials,
    services.dispatcher,
  );
  const sourceName = `${source.registry}/${formatImageReference(source.image)}`;
  try {
    const outcome =
      inputs.method === 'copy'
        ? await promoteByCopy(inputs, sourceClient, targetClient)
        : await promoteByImport(inputs, sourceClient, targetClient, services.credentials);
    // A promotion that wrote nothing has already read each target tag and the digest itself, with
    // the source digest as the answer, in the checks before the first write: a second read proves
    // nothing more. A copy has signed in to the target with the push scope; its token serves the
    // read-back too.
    if (outcome.written)
      await verifyTarget(
        targetClient,
        target.repository,
        outcome.digest,
        target.tags,
        inputs.method === 'copy' ? 'push' : 'pull',
      ).catch((error: unknown) => {
        const written = outcome.tags.filter((d) => d.action !== 'keep').map((d) => d.tag);
        throw written.length > 0 ? new TagsWrittenError(written, 'unverified', error) : error;
      });
    for (const decision of outcome.tags) console.log(tagLine(target.registry, target.repository, decision));
    if (inputs.lockTags) {
      await lockPromoted(targetClient, target.repository, outcome.digest, target.tags).catch(
        (error: unknown) => {
          // The image is promoted and verified; only the lock is missing, and the author must hear both.
          throw error instanceof LockTargetMissingError || target.tags.length === 0
            ? error
            : new TagsWrittenError(target.tags, 'unlocked', error);
        },
      );
      console.log(
        loc(
          'PromoteLocked',
          [outcome.digest, ...target.tags].join(', '),
          `${target.registry}/${target.repository}`,
        ),
      );
    }
    const image = `${target.registry}/${target.repository}@${outcome.digest}`;
    console.log(loc('PromotedImage', sourceName, image));
    return {
      method: inputs.method,
      source: sourceName,
      digest: outcome.digest,
      image,
      tags: outcome.tags,
      stats: outcome.stats,
      imported: outcome.imported,
      locked: inputs.lockTags,
      durationMs: Date.now() - started,
    };
  } catch (error: unknown) {
    throw explain(error, inputs);
  }
}

type Outcome = Pick<Promotion, 'digest' | 'tags' | 'stats' | 'imported'> & {
  /** Whether a manifest or tag was written to the target (blobs alone change no tag or digest). */
  readonly written: boolean;
};

async function promoteByCopy(
  inputs: PromoteImageInputs,
  sourceClient: RegistryClient,
  targetClient: RegistryClient,
): Promise<Outcome> {
  const { source, target } = inputs;
  const result = await copyImage({
    source: {
      client: sourceClient,
      repository: source.image.repository,
      reference: source.image.digest ?? source.image.tag ?? 'latest',
    },
    target: { client: targetClient, repository: target.repository, tags: target.tags },
    includeReferrers: inputs.includeReferrers,
    overwrite: inputs.overwrite,
    log: (line) => tl.debug(line),
  });
  const { stats } = result;
  console.log(
    loc('PromoteResolved', `${source.registry}/${formatImageReference(source.image)}`, result.digest),
  );
  console.log(
    loc(
      'PromoteCopied',
      stats.manifestsCopied,
      stats.manifestsSkipped,
      stats.blobsCopied,
      stats.blobsSkipped,
      stats.blobsMounted,
      formatBytes(stats.bytesCopied),
      formatSeconds(stats.durationMs),
      formatThroughput(stats.bytesCopied, stats.durationMs),
    ),
  );
  return {
    digest: result.digest,
    tags: result.tags,
    stats,
    imported: false,
    written: stats.manifestsCopied > 0 || stats.tagsWritten > 0,
  };
}

/**
 * ACR import of exactly the digest the source tag names now: resolved here once, the tags checked
 * here as copy checks them (ARM's NoForce would refuse too, but without naming both digests), and
 * nothing asked of ARM when the target already has it all.
 */
async function promoteByImport(
  inputs: PromoteImageInputs,
  sourceClient: RegistryClient,
  targetClient: RegistryClient,
  credentials: Credentials,
): Promise<Outcome> {
  const { source, target } = inputs;
  const reference = source.image.digest ?? source.image.tag ?? 'latest';
  const digest = await sourceClient.manifestDigest(source.image.repository, reference);
  if (digest === undefined) throw new ImageNotFoundError(source.registry, source.image.repository, reference);
  console.log(loc('PromoteResolved', `${source.registry}/${formatImageReference(source.image)}`, digest));

  const current = new Map<string, string | undefined>();
  for (const tag of target.tags) current.set(tag, await targetClient.manifestDigest(target.repository, tag));
  const check = decideTags(target.tags, current, digest, inputs.overwrite);
  if (!check.ok) throw new TagConflictError(target.registry, target.repository, check.conflicts);

  const complete =
    target.tags.length > 0
      ? check.decisions.every((d) => d.action === 'keep')
      : (await targetClient.manifestDigest(target.repository, digest)) === digest;
  if (complete) {
    console.log(loc('PromoteImportNotNeeded', `${target.registry}/${target.repository}`, digest));
    return { digest, tags: check.decisions, stats: undefined, imported: false, written: false };
  }
  const importStarted = Date.now();
  await importWithArm(
    {
      source: {
        connection: source.connection,
        registry: source.registry,
        repository: source.image.repository,
        digest,
      },
      target: {
        connection: target.connection,
        registry: target.registry,
        repository: target.repository,
        tags: target.tags,
      },
      overwrite: inputs.overwrite,
    },
    credentials,
  );
  console.log(loc('PromoteImported', digest, target.registry, formatSeconds(Date.now() - importStarted)));
  return { digest, tags: check.decisions, stats: undefined, imported: true, written: true };
}

/** Reads back what the target now serves: the digest itself, and each tag. */
async function verifyTarget(
  client: RegistryClient,
  repository: string,
  digest: string,
  tags: readonly string[],
  action: 'pull' | 'push',
): Promise<void> {
  const references = [digest, ...tags];
  const served = await Promise.all(
    references.map((reference) => client.manifestDigest(repository, reference, action)),
  );
  for (const [i, reference] of references.entries()) {
    const what = `${client.host}/${repository}${reference === digest ? '@' : ':'}${reference}`;
    if (served[i] !== digest) throw new DigestMismatchError(what, digest, served[i] ?? 'nothing');
  }
}

function tagLine(registry: string, repository: string, decision: TagDecision): string {
  const name = `${registry}/${repository}:${decision.tag}`;
  switch (decision.action) {
    case 'create':
      return loc('PromoteTagCreated', name);
    case 'keep':
      return loc('PromoteTagKept', name);
    case 'move':
      return loc('PromoteTagMoved', name, decision.current);
  }
}

function explain(error: unknown, inputs: PromoteImageInputs): unknown {
  if (error instanceof UserError) return error;
  if (error instanceof LockTargetMissingError) return userError('PromoteLockFailed', error.what);
  const explained = explainCopyError(error, {
    sourceRegistry: inputs.source.registry,
    image: formatImageReference(inputs.source.image),
    targetRegistry: inputs.target.registry,
  });
  return explained ?? error;
}
