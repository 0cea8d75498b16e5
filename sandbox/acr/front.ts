import * as http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pathOf, queryOf, readBody } from '../httpsServer';
import { answerMetadata, deleteRefusal, writeRefusal } from './metadata';
import { answerReferrers, subjectHeader } from './referrers';
import {
  ACR_LOGIN_SUFFIX,
  REPOSITORY_NAME,
  UNAUTHORIZED_MESSAGE,
  drain,
  sendAcrError,
  type AcrRoute,
  type AcrState,
  type SandboxRegistry,
} from './state';
import { covers, formatScope, type AccessEntry, type AcrTokenService, type SeenCredentials } from './tokens';

// The authenticating front: one HTTPS server for every `<name>.azurecr.io`. It classifies each
// request, challenges it the way ACR does, checks the bearer token's scopes, and then answers the
// token endpoints, the metadata API or the referrers API itself, or streams it to the real registry.

export interface Route {
  readonly template: AcrRoute;
  readonly repository?: string;
  /** manifests reference, blob digest, tag, referrers subject. */
  readonly reference?: string;
}

function classify(requestPath: string): Route {
  if (requestPath === '/oauth2/exchange') return { template: '/oauth2/exchange' };
  if (requestPath === '/oauth2/token') return { template: '/oauth2/token' };
  if (requestPath === '/v2/' || requestPath === '/v2') return { template: '/v2/' };
  if (requestPath === '/v2/_catalog') return { template: '/v2/_catalog' };
  if (requestPath === '/acr/v1/_catalog') return { template: '/acr/v1/_catalog' };
  const v2 = /^\/v2\/(.+?)\/(manifests|blobs|tags|referrers)\/(.*)$/.exec(requestPath);
  if (v2 !== null) {
    const [, repository = '', kind, rest = ''] = v2;
    if (!REPOSITORY_NAME.test(repository)) return { template: 'other' };
    switch (kind) {
      case 'manifests':
        return { template: '/v2/{repo}/manifests/{reference}', repository, reference: rest };
      case 'tags':
        return rest === 'list' ? { template: '/v2/{repo}/tags/list', repository } : { template: 'other' };
      case 'referrers':
        return { template: '/v2/{repo}/referrers/{digest}', repository, reference: rest };
      default:
        if (rest === 'uploads/' || rest === 'uploads')
          return { template: '/v2/{repo}/blobs/uploads/', repository };
        if (rest.startsWith('uploads/')) return { template: '/v2/{repo}/blobs/uploads/{uuid}', repository };
        return { template: '/v2/{repo}/blobs/{digest}', repository, reference: rest };
    }
  }
  const acr = /^\/acr\/v1\/(.+?)(?:\/(_tags|_manifests)(?:\/([^/]+))?)?\/?$/.exec(requestPath);
  if (acr !== null) {
    const [, repository = '', kind, reference] = acr;
    if (!REPOSITORY_NAME.test(repository)) return { template: 'other' };
    if (kind === undefined) return { template: '/acr/v1/{repo}', repository };
    if (kind === '_tags')
      return reference === undefined
        ? { template: '/acr/v1/{repo}/_tags', repository }
        : { template: '/acr/v1/{repo}/_tags/{tag}', repository, reference };
    return reference === undefined
      ? { template: '/acr/v1/{repo}/_manifests', repository }
      : { template: '/acr/v1/{repo}/_manifests/{digest}', repository, reference };
  }
  return { template: 'other' };
}

/** The scopes ACR's challenge names for a request (what the token must grant). */
function requiredScopes(method: string, route: Route, query: URLSearchParams): AccessEntry[] {
  const repository = route.repository ?? '';
  const on = (...actions: string[]): AccessEntry[] => [{ type: 'repository', name: repository, actions }];
  switch (route.template) {
    case '/v2/':
      return [];
    case '/v2/_catalog':
    case '/acr/v1/_catalog':
      return [{ type: 'registry', name: 'catalog', actions: ['*'] }];
    case '/v2/{repo}/manifests/{reference}':
    case '/v2/{repo}/blobs/{digest}':
      if (method === 'DELETE') return on('delete');
      return method === 'GET' || method === 'HEAD' ? on('pull') : on('pull', 'push');
    case '/v2/{repo}/blobs/uploads/': {
      const from = query.get('from');
      const mount =
        from !== null && query.has('mount') ? [{ type: 'repository', name: from, actions: ['pull'] }] : [];
      return [...on('pull', 'push'), ...mount];
    }
    case '/v2/{repo}/blobs/uploads/{uuid}':
      return on('pull', 'push');
    case '/v2/{repo}/tags/list':
    case '/v2/{repo}/referrers/{digest}':
      return on('pull');
    case '/acr/v1/{repo}':
    case '/acr/v1/{repo}/_tags':
    case '/acr/v1/{repo}/_tags/{tag}':
    case '/acr/v1/{repo}/_manifests':
    case '/acr/v1/{repo}/_manifests/{digest}':
      if (method === 'DELETE') return on('delete');
      return method === 'PATCH' ? on('metadata_write') : on('metadata_read');
    default:
      return [];
  }
}

/** Answers every request to `<name>.azurecr.io`; the start routes those hosts to its server. */
export class AcrFront {
  constructor(
    private readonly state: AcrState,
    private readonly tokens: AcrTokenService,
  ) {}

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const host = (request.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    const method = request.method ?? 'GET';
    const requestPath = pathOf(request);
    const query = queryOf(request);
    const route = classify(requestPath);
    const registry = host.endsWith(`.${ACR_LOGIN_SUFFIX}`)
      ? this.state.registries.get(host.slice(0, -ACR_LOGIN_SUFFIX.length - 1))
      : undefined;
    const seen: SeenCredentials = {};
    response.on('close', () => {
      this.state.requests.push({
        registry: registry?.name ?? host,
        method,
        route: route.template,
        path: requestPath,
        ...(route.repository === undefined ? {} : { repository: route.repository }),
        status: response.statusCode,
        ...(seen.principal === undefined ? {} : { principal: seen.principal }),
        ...(seen.scopes === undefined ? {} : { scopes: seen.scopes }),
      });
    });
    if (registry === undefined) {
      sendAcrError(response, 404, 'NAME_UNKNOWN', `registry ${host} is not part of the sandbox`);
      return;
    }
    if (route.template === '/oauth2/exchange') return this.tokens.exchange(registry, request, response, seen);
    if (route.template === '/oauth2/token')
      return this.tokens.token(registry, request, response, query, seen);

    const needed = requiredScopes(method, route, query);
    const challenge = (): Record<string, string> => ({
      'www-authenticate':
        `Bearer realm="https://${registry.loginServer}/oauth2/token",service="${registry.loginServer}"` +
        (needed.length > 0 ? `,scope="${needed.map(formatScope).join(' ')}"` : ''),
    });
    const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const claims = bearer === undefined ? undefined : this.tokens.verify(bearer, registry, 'access_token');
    if (claims !== undefined) seen.principal = claims.sub;
    // A mount from a repository the token cannot pull from becomes a plain upload, not a refusal.
    const mountRefused =
      route.template === '/v2/{repo}/blobs/uploads/' &&
      needed.length > 1 &&
      claims !== undefined &&
      !needed.slice(1).every((n) => covers(claims.access ?? [], n));
    const mustCover = mountRefused ? needed.slice(0, 1) : needed;
    if (claims === undefined || !mustCover.every((n) => covers(claims.access ?? [], n))) {
      await drain(request);
      sendAcrError(response, 401, 'UNAUTHORIZED', UNAUTHORIZED_MESSAGE, challenge());
      return;
    }
    if (route.template === 'other') {
      await drain(request);
      sendAcrError(response, 404, 'NOT_FOUND', `${requestPath} is not an ACR route the sandbox knows`);
      return;
    }
    if (requestPath.startsWith('/acr/v1/'))
      return answerMetadata(this.state, registry, route, method, query, request, response);
    const repository = route.repository ?? '';
    if (route.template === '/v2/{repo}/referrers/{digest}' && registry.referrersApi) {
      answerReferrers(registry, repository, route.reference ?? '', query, response);
      return;
    }
    if (route.template === '/v2/{repo}/manifests/{reference}' && method === 'PUT') {
      return this.putManifest(registry, repository, route.reference ?? '', request, response);
    }
    if (route.template === '/v2/{repo}/manifests/{reference}' && method === 'DELETE') {
      const refusal = deleteRefusal(this.state, registry, repository, route.reference ?? '');
      if (refusal !== undefined) {
        sendAcrError(response, 405, 'DENIED', refusal);
        return;
      }
    }
    const upstreamUrl = mountRefused ? stripMount(request.url ?? '/') : (request.url ?? '/');
    await this.forward(registry, request, response, upstreamUrl);
  }

  private async putManifest(
    registry: SandboxRegistry,
    repository: string,
    reference: string,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    // Manifests are small (ACR caps them at 4 MiB): buffering one lets the front read `subject`.
    const body = await readBody(request);
    const refusal = writeRefusal(this.state, registry, repository, reference);
    if (refusal !== undefined) {
      sendAcrError(response, 405, 'DENIED', refusal);
      return;
    }
    await this.forward(registry, request, response, request.url ?? '/', body, subjectHeader(registry, body));
  }

  /** Streams a request to the real registry and its answer back. */
  private forward(
    registry: SandboxRegistry,
    request: IncomingMessage,
    response: ServerResponse,
    url: string,
    body?: Buffer,
    extraHeaders: Record<string, string> = {},
  ): Promise<void> {
    return new Promise<void>((resolve) => {
      const headers: http.OutgoingHttpHeaders = { ...request.headers };
      for (const name of ['authorization', 'connection', 'keep-alive', 'proxy-connection', 'upgrade'])
        delete headers[name];
      if (body !== undefined) {
        delete headers['transfer-encoding'];
        headers['content-length'] = body.length;
      }
      const upstream = http.request({
        host: '127.0.0.1',
        port: registry.backend.port,
        method: request.method,
        path: url,
        headers,
        agent: this.state.agent,
      });
      upstream.on('response', (answer) => {
        const answerHeaders: http.OutgoingHttpHeaders = { ...answer.headers, ...extraHeaders };
        for (const name of ['connection', 'keep-alive']) delete answerHeaders[name];
        const location = answer.headers.location;
        if (location !== undefined && /^https?:\/\//i.test(location)) {
          // relativeurls keeps Locations relative; should one be absolute, point it at the front's path.
          const parsed = new URL(location);
          answerHeaders.location = `${parsed.pathname}${parsed.search}`;
        }
        response.writeHead(answer.statusCode ?? 502, answerHeaders);
        answer.pipe(response);
        answer.on('end', resolve);
        answer.on('error', () => {
          response.destroy();
          resolve();
        });
      });
      upstream.on('error', (error) => {
        if (!response.headersSent)
          sendAcrError(response, 502, 'UNKNOWN', `registry backend failed: ${error.message}`);
        else response.destroy();
        resolve();
      });
      response.on('close', () => {
        if (!response.writableFinished) upstream.destroy();
        resolve();
      });
      if (body !== undefined) upstream.end(body);
      else request.pipe(upstream);
    });
  }
}

function stripMount(url: string): string {
  const [pathname = '/', search = ''] = url.split('?');
  const params = new URLSearchParams(search);
  params.delete('mount');
  params.delete('from');
  const rest = params.toString();
  return rest === '' ? pathname : `${pathname}?${rest}`;
}
