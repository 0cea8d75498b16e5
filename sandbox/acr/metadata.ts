import * as http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from '../httpsServer';
import type { RegistryStorage } from './registry';
import {
  DENIED_MESSAGE,
  isDigest,
  parseManifest,
  sendAcrError,
  OCI_MANIFEST,
  type AcrState,
  type ChangeableAttributes,
  type ParsedManifest,
  type SandboxRegistry,
} from './state';
import type { Route } from './front';

// ACR's `/acr/v1` metadata API (repositories, tags, manifests, their changeable attributes) and
// the locks those attributes put on writes and deletes through every other route.

/** Why a write to `reference` (tag or digest) of a repository is refused, or undefined. */
export function writeRefusal(
  state: AcrState,
  registry: SandboxRegistry,
  repository: string,
  reference: string,
): string | undefined {
  if (!state.attributesOf(registry, repository).writeEnabled) return DENIED_MESSAGE;
  if (!isDigest(reference) && !state.attributesOf(registry, repository, reference).writeEnabled)
    return DENIED_MESSAGE;
  return undefined;
}

export function deleteRefusal(
  state: AcrState,
  registry: SandboxRegistry,
  repository: string,
  reference: string,
): string | undefined {
  const locked = (a: ChangeableAttributes): boolean => !a.deleteEnabled || !a.writeEnabled;
  if (locked(state.attributesOf(registry, repository))) return DENIED_MESSAGE;
  if (locked(state.attributesOf(registry, repository, reference))) return DENIED_MESSAGE;
  if (isDigest(reference)) {
    // Deleting a manifest deletes its tags too: a locked tag protects it.
    for (const tag of registry.backend.storage.tags(repository)) {
      if (tag.digest === reference && locked(state.attributesOf(registry, repository, tag.name)))
        return DENIED_MESSAGE;
    }
  }
  return undefined;
}

/** `/acr/v1/...`: the catalog, a repository, its tags and manifests; PATCH sets their attributes. */
export async function answerMetadata(
  state: AcrState,
  registry: SandboxRegistry,
  route: Route,
  method: string,
  query: URLSearchParams,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const body = await readBody(request);
  const storage = registry.backend.storage;
  const repository = route.repository ?? '';
  const header = { registry: registry.loginServer, imageName: repository };
  if (route.template === '/acr/v1/_catalog' && method === 'GET') {
    const page = paginate(storage.repositories(), (r) => r, query);
    const link: Record<string, string> =
      page.next === undefined
        ? {}
        : { link: `</acr/v1/_catalog?last=${encodeURIComponent(page.next)}&n=${page.size}>; rel="next"` };
    sendJson(response, 200, { repositories: page.items }, link);
    return;
  }
  const manifests = storage.manifests(repository);
  if (manifests.length === 0) {
    sendAcrError(response, 404, 'NAME_UNKNOWN', 'repository name not known to registry');
    return;
  }
  const changes = parseChanges(body);
  switch (route.template) {
    case '/acr/v1/{repo}': {
      if (method === 'DELETE') return deleteRepository(state, registry, repository, response);
      if (method === 'PATCH') state.setAttributes(registry, repository, undefined, changes);
      else if (method !== 'GET') break;
      const tags = storage.tags(repository);
      const times = [...manifests.map((m) => m.lastUpdatedOn), ...tags.map((t) => t.lastUpdatedOn)].map((d) =>
        d.getTime(),
      );
      sendJson(response, 200, {
        ...header,
        createdTime: manifests[0]?.createdOn.toISOString(),
        lastUpdateTime: new Date(Math.max(...times)).toISOString(),
        manifestCount: manifests.length,
        tagCount: tags.length,
        changeableAttributes: { ...state.attributesOf(registry, repository), teleportEnabled: false },
      });
      return;
    }
    case '/acr/v1/{repo}/_tags': {
      if (method !== 'GET') break;
      const digest = query.get('digest');
      const tags = sortByTime(
        storage.tags(repository).filter((t) => digest === null || t.digest === digest),
        query.get('orderby'),
      );
      const page = paginate(tags, (t) => t.name, query);
      const link: Record<string, string> =
        page.next === undefined
          ? {}
          : {
              link: `</acr/v1/${repository}/_tags?last=${encodeURIComponent(page.next)}&n=${page.size}${orderbyParam(query)}>; rel="next"`,
            };
      sendJson(
        response,
        200,
        { ...header, tags: page.items.map((t) => tagJson(state, registry, repository, t)) },
        link,
      );
      return;
    }
    case '/acr/v1/{repo}/_tags/{tag}': {
      const name = route.reference ?? '';
      const tag = storage.tag(repository, name);
      if (tag === undefined) {
        sendAcrError(response, 404, 'TAG_UNKNOWN', 'the specified tag does not exist');
        return;
      }
      if (method === 'DELETE') {
        const refusal = deleteRefusal(state, registry, repository, name);
        if (refusal !== undefined) {
          sendAcrError(response, 405, 'DENIED', refusal);
          return;
        }
        storage.deleteTag(repository, name);
        state.forgetAttributes(registry, repository, name);
        response.writeHead(202, { 'content-length': 0 }).end();
        return;
      }
      if (method === 'PATCH') state.setAttributes(registry, repository, name, changes);
      else if (method !== 'GET') break;
      sendJson(response, 200, { ...header, tag: tagJson(state, registry, repository, tag) });
      return;
    }
    case '/acr/v1/{repo}/_manifests': {
      if (method !== 'GET') break;
      const sorted = sortByTime(manifests, query.get('orderby'));
      const page = paginate(sorted, (m) => m.digest, query);
      const link: Record<string, string> =
        page.next === undefined
          ? {}
          : {
              link: `</acr/v1/${repository}/_manifests?last=${encodeURIComponent(page.next)}&n=${page.size}${orderbyParam(query)}>; rel="next"`,
            };
      sendJson(
        response,
        200,
        {
          ...header,
          manifests: page.items.map((m) => manifestJson(state, registry, repository, m.digest, m)),
        },
        link,
      );
      return;
    }
    case '/acr/v1/{repo}/_manifests/{digest}': {
      const digest = route.reference ?? '';
      const stored = manifests.find((m) => m.digest === digest);
      if (stored === undefined) {
        sendAcrError(response, 404, 'MANIFEST_UNKNOWN', `manifest ${digest} is not found`);
        return;
      }
      if (method === 'PATCH') state.setAttributes(registry, repository, digest, changes);
      else if (method !== 'GET') break;
      sendJson(response, 200, {
        ...header,
        manifest: manifestJson(state, registry, repository, digest, stored),
      });
      return;
    }
    default:
      break;
  }
  sendAcrError(response, 405, 'UNSUPPORTED', 'The operation is unsupported.');
}

function tagJson(
  state: AcrState,
  registry: SandboxRegistry,
  repository: string,
  tag: { name: string; digest: string; createdOn: Date; lastUpdatedOn: Date },
): Record<string, unknown> {
  return {
    name: tag.name,
    digest: tag.digest,
    createdTime: tag.createdOn.toISOString(),
    lastUpdateTime: tag.lastUpdatedOn.toISOString(),
    signed: false,
    changeableAttributes: state.attributesOf(registry, repository, tag.name),
  };
}

function manifestJson(
  state: AcrState,
  registry: SandboxRegistry,
  repository: string,
  digest: string,
  stored: { createdOn: Date; lastUpdatedOn: Date },
): Record<string, unknown> {
  const storage = registry.backend.storage;
  const content = storage.readBlob(digest) ?? Buffer.alloc(0);
  const parsed = parseManifest(content) ?? {};
  const platform = platformOf(storage, parsed);
  const imageSize =
    parsed.manifests !== undefined
      ? parsed.manifests.reduce((sum, m) => sum + m.size, content.length)
      : (parsed.config?.size ?? 0) + (parsed.layers ?? []).reduce((sum, l) => sum + l.size, 0);
  return {
    digest,
    imageSize,
    createdTime: stored.createdOn.toISOString(),
    lastUpdateTime: stored.lastUpdatedOn.toISOString(),
    mediaType: parsed.mediaType ?? OCI_MANIFEST,
    ...(platform.architecture === undefined ? {} : { architecture: platform.architecture }),
    ...(platform.os === undefined ? {} : { os: platform.os }),
    ...(parsed.manifests === undefined
      ? {}
      : {
          references: parsed.manifests.map((m) => ({
            digest: m.digest,
            ...(m.platform?.architecture === undefined ? {} : { architecture: m.platform.architecture }),
            ...(m.platform?.os === undefined ? {} : { os: m.platform.os }),
          })),
        }),
    ...(parsed.config?.mediaType === undefined ? {} : { configMediaType: parsed.config.mediaType }),
    tags: storage
      .tags(repository)
      .filter((t) => t.digest === digest)
      .map((t) => t.name),
    changeableAttributes: state.attributesOf(registry, repository, digest),
  };
}

async function deleteRepository(
  state: AcrState,
  registry: SandboxRegistry,
  repository: string,
  response: ServerResponse,
): Promise<void> {
  const storage = registry.backend.storage;
  const manifests = storage.manifests(repository);
  const tags = storage.tags(repository);
  const refused = [
    deleteRefusal(state, registry, repository, ''),
    ...manifests.map((m) => deleteRefusal(state, registry, repository, m.digest)),
  ].find((r) => r !== undefined);
  if (refused !== undefined) {
    sendAcrError(response, 405, 'DENIED', refused);
    return;
  }
  for (const manifest of manifests) {
    await backendRequest(state, registry, 'DELETE', `/v2/${repository}/manifests/${manifest.digest}`);
  }
  for (const tag of tags) storage.deleteTag(repository, tag.name);
  sendJson(response, 202, {
    manifestsDeleted: manifests.map((m) => m.digest),
    tagsDeleted: tags.map((t) => t.name),
  });
}

function backendRequest(
  state: AcrState,
  registry: SandboxRegistry,
  method: string,
  requestPath: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port: registry.backend.port, method, path: requestPath, agent: state.agent },
      (answer) => {
        answer.resume();
        answer.on('end', () => resolve(answer.statusCode ?? 0));
      },
    );
    request.on('error', reject);
    request.end();
  });
}

/** Architecture and OS of an image manifest, from its config blob. */
function platformOf(
  storage: RegistryStorage,
  manifest: ParsedManifest,
): { architecture?: string; os?: string } {
  const config = manifest.config;
  if (config === undefined || manifest.manifests !== undefined) return {};
  if (!/container\.image\.v1\+json|image\.config\.v1\+json/.test(config.mediaType ?? '')) return {};
  const content = storage.readBlob(config.digest);
  if (content === undefined) return {};
  try {
    const parsed = JSON.parse(content.toString('utf8')) as { architecture?: string; os?: string };
    return {
      ...(parsed.architecture === undefined ? {} : { architecture: parsed.architecture }),
      ...(parsed.os === undefined ? {} : { os: parsed.os }),
    };
  } catch {
    return {};
  }
}

function parseChanges(body: Buffer): Partial<ChangeableAttributes> {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8')) as Partial<ChangeableAttributes>;
  } catch {
    return {};
  }
}

function sortByTime<T extends { lastUpdatedOn: Date }>(items: readonly T[], orderby: string | null): T[] {
  const sorted = [...items];
  if (orderby === 'timedesc') sorted.sort((a, b) => b.lastUpdatedOn.getTime() - a.lastUpdatedOn.getTime());
  else if (orderby === 'timeasc')
    sorted.sort((a, b) => a.lastUpdatedOn.getTime() - b.lastUpdatedOn.getTime());
  return sorted;
}

function orderbyParam(query: URLSearchParams): string {
  const orderby = query.get('orderby');
  return orderby === null ? '' : `&orderby=${encodeURIComponent(orderby)}`;
}

/** ACR paging: `n` items after the one whose key is `last`; `next` is the key to continue from. */
function paginate<T>(
  items: readonly T[],
  key: (item: T) => string,
  query: URLSearchParams,
): { items: T[]; next?: string; size: number } {
  const last = query.get('last');
  const size = Math.max(1, Math.min(Number(query.get('n') ?? '100') || 100, 1000));
  const start = last === null ? 0 : items.findIndex((item) => key(item) === last) + 1;
  const page = items.slice(start, start + size);
  const lastItem = page[page.length - 1];
  return start + size < items.length && lastItem !== undefined
    ? { items: page, next: key(lastItem), size }
    : { items: page, size };
}
