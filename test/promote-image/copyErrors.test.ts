import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tl from 'azure-pipelines-task-lib/task';
import { ImageNotFoundError, TagConflictError, TagsWrittenError } from '../../tasks/promote-image/copy';
import { explainCopyError, type CopySides } from '../../tasks/promote-image/copyErrors';
import { UnsupportedManifestError } from '../../tasks/promote-image/manifests';
import { RegistryAuthError } from '../../tasks/promote-image/registryAuth';
import {
  DigestMismatchError,
  RegistryAccessError,
  RegistryAnswerError,
} from '../../tasks/promote-image/registryClient';
import { HttpStatusError } from '../../tasks/promote-image/registryHttp';

const SIDES: CopySides = {
  sourceRegistry: 'contosononprod.azurecr.io',
  image: 'team/web:1.4.2',
  targetRegistry: 'contosoprod.azurecr.io',
};
const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

function explained(error: unknown, sides: CopySides = SIDES): string | undefined {
  return explainCopyError(error, sides)?.message;
}

describe('PromoteImage copy error messages', () => {
  // Messages read as `Key param param…`, so the tests check key and parameters whatever resource
  // files other test files loaded into task-lib in this process.
  const taskLib = tl as { loc: (key: string, ...params: unknown[]) => string };
  const realLoc = taskLib.loc;
  before(() => {
    taskLib.loc = (key, ...params) => [key, ...params.map(String)].join(' ');
  });
  after(() => {
    taskLib.loc = realLoc;
  });

  it('names the tags that would move and both digests', () => {
    const error = new TagConflictError('contosoprod.azurecr.io', 'team/web', [
      { tag: 'prod', current: B, promoted: A },
      { tag: 'stable', current: B, promoted: A },
    ]);
    assert.equal(
      explained(error),
      `PromoteTagConflict contosoprod.azurecr.io/team/web prod (${B}), stable (${B}) ${A}`,
    );
  });

  it('names AcrPull and the source connection when the source refuses a pull', () => {
    const error = new RegistryAccessError('contosononprod.azurecr.io', 'team/web', 'pull', 401);
    assert.equal(
      explained(error),
      'PromoteAccessDenied sourceAzureSubscription pull team/web contosononprod.azurecr.io 401 AcrPull',
    );
  });

  it('names AcrPush and the target connection when the target refuses a push', () => {
    const error = new RegistryAccessError('contosoprod.azurecr.io', 'team/web', 'push', 403);
    assert.equal(
      explained(error),
      'PromoteAccessDenied targetAzureSubscription push team/web contosoprod.azurecr.io 403 AcrPush',
    );
  });

  it('names the target connection for a push within one registry', () => {
    const sameRegistry = { ...SIDES, targetRegistry: SIDES.sourceRegistry };
    const error = new RegistryAccessError('contosononprod.azurecr.io', 'release/web', 'push', 401);
    assert.equal(
      explained(error, sameRegistry),
      'PromoteAccessDenied targetAzureSubscription push release/web contosononprod.azurecr.io 401 AcrPush',
    );
  });

  it("tells a refused Entra token at ACR's exchange from a refused registry token", () => {
    assert.equal(
      explained(new RegistryAuthError('contosoprod.azurecr.io', 'exchange', 401, [])),
      'PromoteTokenExchangeRefused contosoprod.azurecr.io targetAzureSubscription 401 AcrPush',
    );
    assert.equal(
      explained(
        new RegistryAuthError('contosononprod.azurecr.io', 'token', 401, ['repository:team/web:pull']),
      ),
      'PromoteTokenRefused contosononprod.azurecr.io sourceAzureSubscription 401 AcrPull',
    );
    assert.equal(
      explained(new RegistryAuthError('registry.contoso.example', 'basic', 401, [])),
      'PromoteCredentialsNeeded registry.contoso.example',
    );
  });

  it('says the image input names nothing when its tag is unknown, and the source is incomplete when a part is missing', () => {
    assert.equal(
      explained(new ImageNotFoundError('contosononprod.azurecr.io', 'team/web', '1.4.2')),
      'PromoteImageNotFound team/web:1.4.2 contosononprod.azurecr.io',
    );
    assert.equal(
      explained(new ImageNotFoundError('contosononprod.azurecr.io', 'team/web', A)),
      `PromoteSourceIncomplete contosononprod.azurecr.io/team/web@${A}`,
    );
  });

  it('explains unsupported manifests, digest mismatches and failed requests', () => {
    assert.equal(
      explained(new UnsupportedManifestError(A, 'application/vnd.docker.distribution.manifest.v1+prettyjws')),
      `PromoteUnsupportedManifest ${A} application/vnd.docker.distribution.manifest.v1+prettyjws`,
    );
    assert.equal(
      explained(new DigestMismatchError('manifest', A, B)),
      `PromoteDigestMismatch manifest ${A} ${B} PromoteNothingTagged`,
    );
    const failed = new HttpStatusError(
      'PUT',
      'https://contosoprod.azurecr.io/v2/team/web/blobs/uploads/x',
      503,
      {},
      undefined,
      undefined,
    );
    assert.equal(
      explained(failed),
      'PromoteRegistryFailed PUT https://contosoprod.azurecr.io/v2/team/web/blobs/uploads/x: HTTP 503 PromoteNothingTagged',
    );
  });

  it('says a registry cannot be reached on connection errors, and leaves other errors unexplained', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    assert.equal(
      explained(refused),
      'PromoteRegistryUnreachable contosononprod.azurecr.io / contosoprod.azurecr.io ECONNREFUSED',
    );
    assert.equal(explained(new TypeError('a bug')), undefined);
  });

  it('tells a connection lost mid-copy from a registry never reached, naming the registry the request went to', () => {
    const lost = Object.assign(new Error('other side closed'), {
      code: 'UND_ERR_SOCKET',
      host: 'contosoprod.azurecr.io',
    });
    assert.equal(
      explained(lost),
      'PromoteRegistryConnectionLost contosoprod.azurecr.io UND_ERR_SOCKET PromoteNothingTagged',
    );
  });

  it('says which target tags were written before a failure, and which may not hold the promoted digest', () => {
    const failed = new HttpStatusError(
      'PUT',
      'https://contosoprod.azurecr.io/v2/team/web/manifests/stable',
      500,
      {},
      undefined,
      undefined,
    );
    assert.equal(
      explained(new TagsWrittenError(['1.4.2'], 'partial', failed)),
      'PromoteRegistryFailed PUT https://contosoprod.azurecr.io/v2/team/web/manifests/stable: HTTP 500 PromoteTagsWritten 1.4.2',
    );
    assert.equal(
      explained(
        new TagsWrittenError(['1.4.2', 'stable'], 'unverified', new DigestMismatchError('tag', A, B)),
      ),
      `PromoteDigestMismatch tag ${A} ${B} PromoteTagsUnverified 1.4.2, stable`,
    );
    assert.equal(
      explained(
        new TagsWrittenError(
          ['1.4.2'],
          'partial',
          new RegistryAccessError('contosoprod.azurecr.io', 'team/web', 'push', 403),
        ),
      ),
      'PromoteAccessDenied targetAzureSubscription push team/web contosoprod.azurecr.io 403 AcrPush PromoteTagsWritten 1.4.2',
    );
    assert.equal(
      explained(new TagsWrittenError(['1.4.2'], 'partial', new TypeError('a bug'))),
      'a bug. PromoteTagsWritten 1.4.2',
      'even an unforeseen failure says that production changed',
    );
    assert.equal(
      explained(new TagsWrittenError(['1.4.2', 'stable'], 'unlocked', failed)),
      'PromoteRegistryFailed PUT https://contosoprod.azurecr.io/v2/team/web/manifests/stable: HTTP 500 PromoteTagsNotLocked 1.4.2, stable',
    );
  });

  it('explains an answer that is not JSON, and an anonymous token refused by a registry that is not ACR', () => {
    assert.equal(
      explained(
        new RegistryAnswerError('contosononprod.azurecr.io', `GET /v2/team/web/referrers/${A}`, 'text/html'),
      ),
      `PromoteRegistryNotJson contosononprod.azurecr.io GET /v2/team/web/referrers/${A} text/html PromoteNothingTagged`,
    );
    assert.equal(
      explained(new RegistryAuthError('registry.contoso.example', 'anonymous', 401, [])),
      'PromoteAnonymousTokenRefused registry.contoso.example 401',
    );
  });

  it('has a task.json message for every key it uses', () => {
    const root = path.join(__dirname, '..', '..', '..', 'tasks', 'promote-image');
    const messages = (
      JSON.parse(fs.readFileSync(path.join(root, 'task.json'), 'utf8')) as {
        messages: Record<string, string>;
      }
    ).messages;
    const source = fs.readFileSync(path.join(root, 'copyErrors.ts'), 'utf8');
    const keys = [...source.matchAll(/'(Promote[A-Za-z]+)'/g)].map((m) => m[1]!);
    assert.ok(keys.length >= 11);
    assert.deepEqual(
      keys.filter((key) => messages[key] === undefined),
      [],
    );
  });
});
