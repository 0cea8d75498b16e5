// Stands in for undici in PromoteImage L0 runs: an in-memory registry (distribution API, ACR's
// challenge and token exchange, ACR's metadata PATCH) behind `request`, so the task's real registry
// engine runs end to end without a network. Every request is printed (see registryState.ts).
import { Readable } from 'node:stream';
import { recordCall, registryState, sha256, type FakeRegistry } from './registryState';

export class Dispatcher {
  compose(): this {
    return this;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  destroy(): Promise<void> {
    return Promise.resolve();
  }
}
export class Agent extends Dispatcher {}
export class ProxyAgent extends Dispatcher {}
export class EnvHttpProxyAgent extends Dispatcher {}
export const interceptors = { redirect: (): unknown => undefined };

interface Answer {
  statusCode: number;
  headers: Record<string, string>;
  body: Readable & { dump(): Promise<void> };
}

function answer(statusCode: number, headers: Record<string, string> = {}, bytes?: Buffer): Answer {
  const body = Readable.from(bytes === undefined || bytes.length === 0 ? [] : [bytes]) as Answer['body'];
  body.dump = () => {
    body.resume();
    return Promise.resolve();
  };
  return { statusCode, headers, body };
}

function json(statusCode: number, value: unknown, headers: Record<string, string> = {}): Answer {
  return answer(
    statusCode,
    { 'content-type': 'application/json', ...headers },
    Buffer.from(JSON.stringify(value)),
  );
}

async function readBody(body: unknown): Promise<Buffer | undefined> {
  if (body === undefined || body === null) return undefined;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body);
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

let uploads = 0;

export async function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: unknown },
): Promise<Answer> {
  const parsed = new URL(url);
  const method = options.method ?? 'GET';
  const host = parsed.host;
  const path = decodeURIComponent(parsed.pathname);
  const body = await readBody(options.body);
  const authorized = options.headers?.['authorization'] !== undefined;
  const registry = registryState().registries[host];
  const call: Record<string, unknown> = { method, host, path, authorized };
  if (method === 'PATCH' && body !== undefined) {
    call['body'] = JSON.parse(body.toString('utf8')) as unknown;
    call['query'] = parsed.search;
    call['contentType'] = options.headers?.['content-type'];
  }
  if (path === '/oauth2/exchange')
    call['form'] = Object.fromEntries(new URLSearchParams(body?.toString('utf8')));
  if (path === '/oauth2/token') call['scopes'] = new URLSearchParams(body?.toString('utf8')).getAll('scope');
  recordCall(call);
  if (registry === undefined) {
    const error = new Error(`getaddrinfo ENOTFOUND ${parsed.hostname}`) as Error & {
      code: string;
      host: string;
    };
    error.code = 'ENOTFOUND';
    error.host = host;
    throw error;
  }
  if (path === '/oauth2/exchange') return json(200, { refresh_token: 'fake-refresh-token' });
  if (path === '/oauth2/token') return json(200, { access_token: 'fake-access-token', expires_in: 3600 });
  if (registry.acr === true && !authorized) {
    return answer(401, {
      'www-authenticate': `Bearer realm="https://${host}/oauth2/token",service="${host}"`,
    });
  }
  const writes = method !== 'GET' && method !== 'HEAD';
  if (writes && registry.denyPush === true) return json(403, { errors: [{ code: 'DENIED' }] });
  return serve(registry, method, path, parsed, body);
}

function serve(
  registry: FakeRegistry,
  method: string,
  path: string,
  url: URL,
  body: Buffer | undefined,
): Answer {
  const acr = /^\/acr\/v1\/(.+)\/(_tags|_manifests)\/([^/]+)$/.exec(path);
  if (acr !== null && method === 'PATCH') {
    const [, name = '', kind, reference = ''] = acr;
    const repository = registry.repositories[name];
    const known =
      kind === '_tags'
        ? repository?.tags[reference] !== undefined
        : repository?.manifests[reference] !== undefined;
    return known ? json(200, {}) : json(404, { errors: [{ code: 'NOT_FOUND' }] });
  }
  const v2 = /^\/v2\/(.+?)\/(manifests|blobs|referrers)\/(.*)$/.exec(path);
  if (v2 === null) return json(404, { errors: [{ code: 'NOT_FOUND' }] });
  const [, name = '', kind, rest = ''] = v2;
  const repository = (registry.repositories[name] ??= { manifests: {}, tags: {} });
  if (kind === 'referrers') return json(404, { errors: [{ code: 'NOT_FOUND' }] });
  if (kind === 'manifests') {
    const digest = rest.startsWith('sha256:') ? rest : repository.tags[rest];
    if (method === 'PUT') {
      const bytes = body ?? Buffer.alloc(0);
      const stored = sha256(bytes);
      const mediaType = JSON.parse(bytes.toString('utf8')) as { mediaType?: string };
      repository.manifests[stored] = {
        mediaType: mediaType.mediaType ?? '',
        bytes: bytes.toString('base64'),
      };
      if (!rest.startsWith('sha256:')) repository.tags[rest] = stored;
      return answer(201, { 'docker-content-digest': stored });
    }
    const manifest = digest === undefined ? undefined : repository.manifests[digest];
    if (manifest === undefined || digest === undefined)
      return json(404, { errors: [{ code: 'MANIFEST_UNKNOWN' }] });
    const bytes = Buffer.from(manifest.bytes, 'base64');
    const headers = { 'docker-content-digest': digest, 'content-type': manifest.mediaType };
    return method === 'HEAD' ? answer(200, headers) : answer(200, headers, bytes);
  }
  if (rest === 'uploads/' && method === 'POST') {
    const mount = url.searchParams.get('mount');
    if (mount !== null && registry.blobs[mount] !== undefined) return answer(201);
    return answer(202, { location: `/v2/${name}/blobs/uploads/${++uploads}` });
  }
  if (rest.startsWith('uploads/')) {
    if (method === 'DELETE') return answer(204);
    const bytes = body ?? Buffer.alloc(0);
    const digest = sha256(bytes);
    if (digest !== url.searchParams.get('digest')) return json(400, { errors: [{ code: 'DIGEST_INVALID' }] });
    registry.blobs[digest] = bytes.toString('base64');
    return answer(201, { 'docker-content-digest': digest });
  }
  const blob = registry.blobs[rest];
  if (blob === undefined) return json(404, { errors: [{ code: 'BLOB_UNKNOWN' }] });
  return method === 'HEAD' ? answer(200) : answer(200, {}, Buffer.from(blob, 'base64'));
}
