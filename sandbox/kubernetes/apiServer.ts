import * as crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import * as YAML from 'yaml';
import { withFaults, type FaultPlan } from '../faults';
import {
  pathOf,
  queryOf,
  readBody,
  startHttpsServer,
  type RequestHandler,
  type RunningServer,
} from '../httpsServer';
import type { KeyPair } from '../tls/certificateAuthority';
import { applyDefaults, validate, type Allocator } from './defaults';
import {
  coreVersions,
  group,
  groupList,
  openApiDocument,
  openApiRoot,
  resourceList,
  versionDocument,
  type KubernetesVersionInfo,
} from './discovery';
import { ApiError, deepClone, isJsonObject, nowIso, type KubeObject } from './objects';
import { jsonMergePatch, jsonPatch, serverSideApply, strategicMergePatch } from './patch';
import {
  apiVersionOf,
  qualifiedResourceName,
  RESOURCE_TYPES,
  resourceTypeByPath,
  type ResourceType,
} from './resources';
import { parseFieldSelector, parseLabelSelector } from './selectors';
import type { ObjectStore, StoreEvent } from './store';
import { toTable, wantsTable } from './tables';

/** One request the API server received, for tests to assert on (e.g. which patch type kubectl chose). */
export interface ApiRequestRecord {
  readonly time: string;
  readonly method: string;
  readonly path: string;
  /** The raw query string, without `?`. */
  readonly query: string;
  readonly contentType: string | undefined;
  readonly accept: string | undefined;
  readonly userAgent: string | undefined;
  /** Who the bearer token authenticated as, or undefined when rejected/anonymous. */
  readonly user: string | undefined;
  /** The `Upgrade` header of an upgrade request (`SPDY/3.1`, `websocket`). */
  readonly upgrade?: string;
  /**
   * Filled in when the response finishes (watches: when the stream ends). Stays 0 for an upgrade
   * handed to the port-forward server, which answers on the socket itself.
   */
  status: number;
}

export interface ApiServerOptions {
  readonly tls: KeyPair;
  /** Faults and latency for the API requests (not the port-forward upgrades); none when absent. */
  readonly faults?: FaultPlan;
  readonly store: ObjectStore;
  readonly version: KubernetesVersionInfo;
  /** `host:port` clients use; reported by `/api`. */
  readonly serverAddress: string;
  /** The user a bearer token (raw, without `Bearer `) authenticates as, or undefined to reject it. */
  authenticate(token: string): string | undefined;
  readonly allocator: Allocator;
  /** Log text of one container, or an ApiError explaining why there is none (e.g. still waiting). */
  podLogs(pod: KubeObject, container: string): string;
  /**
   * Serves `kubectl port-forward`: the upgrade request of `/api/v1/namespaces/<ns>/pods/<name>/portforward`
   * for a pod that exists, after the bearer token is checked. Without it such an upgrade is refused
   * with 501. cluster.ts plugs in portForward.ts, which refuses kubectl's WebSocket try (kubectl then
   * falls back to a plain SPDY/3.1 upgrade) and serves SPDY/3.1.
   */
  portForward?: (pod: KubeObject, request: IncomingMessage, socket: Socket, head: Buffer) => void;
}

const PORT_FORWARD_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward$/;

export interface ApiServer extends RunningServer {
  readonly requests: readonly ApiRequestRecord[];
}

/** Paths anyone may read without a token, like a real cluster's system:public-info-viewer role. */
const PUBLIC_PATHS = new Set(['/version', '/healthz', '/livez', '/readyz']);

interface ResourcePath {
  readonly type: ResourceType;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
}

/** What the request log keeps of one request, with the user its bearer token authenticates as. */
function recordOf(
  request: IncomingMessage,
  authenticate: (token: string) => string | undefined,
  upgrade?: string,
): ApiRequestRecord {
  const header = request.headers.authorization ?? '';
  const url = request.url ?? '/';
  return {
    time: new Date().toISOString(),
    method: request.method ?? 'GET',
    path: pathOf(request),
    query: url.includes('?') ? url.slice(url.indexOf('?') + 1) : '',
    contentType: request.headers['content-type'],
    accept: request.headers.accept,
    userAgent: request.headers['user-agent'],
    user: /^Bearer\s+/i.test(header) ? authenticate(header.replace(/^Bearer\s+/i, '').trim()) : undefined,
    ...(upgrade === undefined ? {} : { upgrade }),
    status: 0,
  };
}

/**
 * The Kubernetes API server stand-in: discovery, OpenAPI v3, CRUD, list/watch with selectors, the
 * four patch types, dry run, status/scale/log subresources. Objects live in `options.store`;
 * controllers act on the store directly.
 */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const requests: ApiRequestRecord[] = [];
  const handler = new ApiHandler(options);
  const upgrade = (request: IncomingMessage, socket: Socket, head: Buffer): void => {
    const record = recordOf(request, (token) => options.authenticate(token), request.headers.upgrade ?? '');
    requests.push(record);
    const match = PORT_FORWARD_PATH.exec(record.path);
    const pod = match === null ? undefined : options.store.getByKind('Pod', match[1], match[2] ?? '');
    const refuse = (status: string): void => {
      record.status = Number(status.slice(0, 3));
      socket.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\n\r\n`);
    };
    if (record.user === undefined) return refuse('401 Unauthorized');
    if (pod === undefined) return refuse('404 Not Found');
    if (options.portForward === undefined) return refuse('501 Not Implemented');
    options.portForward(pod, request, socket, head);
  };
  const server = await startHttpsServer(
    options.tls,
    withFaultsIfAny(options.faults, async (request, response) => {
      const record = recordOf(request, (token) => options.authenticate(token));
      const user = record.user;
      const presentedToken = /^Bearer\s+/i.test(request.headers.authorization ?? '');
      requests.push(record);
      response.on('close', () => {
        record.status = response.statusCode;
      });
      if (user === undefined && !(!presentedToken && PUBLIC_PATHS.has(record.path))) {
        sendStatus(response, new ApiError(401, 'Unauthorized', 'Unauthorized'));
        return;
      }
      try {
        await handler.handle(request, response);
      } catch (error: unknown) {
        const apiError =
          error instanceof ApiError
            ? error
            : new ApiError(500, 'InternalError', `Internal error occurred: ${String(error)}`);
        if (response.headersSent) response.end();
        else sendStatus(response, apiError);
      }
    }),
    undefined,
    upgrade,
  );
  return { ...server, requests };
}

function sendJsonText(
  response: ServerResponse,
  status: number,
  text: string,
  contentType = 'application/json',
): void {
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-cache, private',
    'x-kubernetes-pf-flowschema-uid': 'sandbox',
  });
  response.end(text);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  sendJsonText(response, status, JSON.stringify(body));
}

function sendStatus(response: ServerResponse, error: ApiError): void {
  send(response, error.code, error.toStatus());
}

function randomSuffix(length = 5): string {
  // Kubernetes' name suffix alphabet leaves out vowels and look-alikes.
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let text = '';
  for (const byte of crypto.randomBytes(length)) text += alphabet[byte % alphabet.length];
  return text;
}

class ApiHandler {
  /** What each field manager last applied server-side, by object uid: SSA removes fields it no longer applies. */
  private readonly appliedConfigurations = new Map<string, unknown>();

  constructor(private readonly options: ApiServerOptions) {}

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = pathOf(request).replace(/\/+$/, '') || '/';
    const method = request.method ?? 'GET';
    const query = queryOf(request);
    if (method === 'GET' && this.discovery(path, response)) return;
    const resource = parseResourcePath(path);
    if (resource === undefined) {
      send(
        response,
        404,
        new ApiError(404, 'NotFound', 'the server could not find the requested resource').toStatus(),
      );
      return;
    }
    const { type, name, subresource } = resource;
    if (subresource !== undefined && !(type.subresources as readonly string[]).includes(subresource)) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    if (name === undefined) {
      if (method === 'GET' && (query.get('watch') === 'true' || query.get('watch') === '1'))
        return this.watch(request, response, resource, query);
      if (method === 'GET') return this.list(request, response, resource, query);
      if (method === 'POST') return this.create(request, response, resource, query);
      if (method === 'DELETE') return this.deleteCollection(response, resource, query);
    } else {
      if (method === 'GET' && subresource === 'log') return this.logs(response, resource, query);
      if (method === 'GET' && subresource === 'scale')
        return send(response, 200, scaleOf(this.mustGet(resource)));
      if (method === 'GET') return this.get(request, response, resource);
      if (method === 'PUT') return this.update(request, response, resource, query);
      if (method === 'PATCH') return this.patch(request, response, resource, query);
      if (method === 'DELETE' && subresource === undefined)
        return this.delete(request, response, resource, query);
    }
    throw new ApiError(
      405,
      'MethodNotAllowed',
      `the server does not allow this method on the requested resource`,
    );
  }

  /** Discovery and OpenAPI. Aggregated discovery is not offered: kubectl falls back to the legacy documents. */
  private discovery(path: string, response: ServerResponse): boolean {
    const gitVersion = this.options.version.gitVersion;
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      sendJsonText(response, 200, 'ok', 'text/plain; charset=utf-8');
      return true;
    }
    const openApi = /^\/openapi\/v3\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
    if (openApi !== null) {
      const document = openApiDocument(openApi[2] ?? '', openApi[1] ?? openApi[3] ?? '', gitVersion);
      if (document === undefined) return false;
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(document.text),
        etag: `"${document.hash}"`,
        'cache-control': 'public, immutable',
      });
      response.end(document.text);
      return true;
    }
    const body = this.discoveryDocument(path);
    if (body === undefined) return false;
    send(response, 200, body);
    return true;
  }

  private discoveryDocument(path: string): unknown {
    switch (path) {
      case '/version':
        return versionDocument(this.options.version);
      case '/api':
        return coreVersions(this.options.serverAddress);
      case '/apis':
        return groupList();
      case '/openapi/v3':
        return openApiRoot(this.options.version.gitVersion);
      case '/api/v1':
        return resourceList('', 'v1');
    }
    const groupMatch = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path);
    if (groupMatch === null) return undefined;
    const body =
      groupMatch[2] === undefined
        ? group(groupMatch[1] ?? '')
        : resourceList(groupMatch[1] ?? '', groupMatch[2]);
    if (body === undefined)
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    return body;
  }

  private mustGet(resource: ResourcePath): KubeObject {
    const found = this.options.store.get(resource.type, resource.namespace, resource.name ?? '');
    if (found === undefined) throw notFound(resource.type, resource.name ?? '');
    return found;
  }

  private get(request: IncomingMessage, response: ServerResponse, resource: ResourcePath): void {
    const object = this.mustGet(resource);
    if (wantsTable(request.headers.accept))
      return send(response, 200, toTable(resource.type, [object], this.options.store.resourceVersion, false));
    send(response, 200, object);
  }

  private list(
    request: IncomingMessage,
    response: ServerResponse,
    resource: ResourcePath,
    query: URLSearchParams,
  ): void {
    const items = this.options.store.list(resource.type, {
      ...(resource.namespace === undefined ? {} : { namespace: resource.namespace }),
      labelSelector: parseLabelSelector(query.get('labelSelector')),
      fieldSelector: parseFieldSelector(query.get('fieldSelector')),
    });
    const resourceVersion = this.options.store.resourceVersion;
    if (wantsTable(request.headers.accept))
      return send(
        response,
        200,
        toTable(resource.type, items, resourceVersion, query.get('includeObject') !== 'None'),
      );
    send(response, 200, {
      kind: `${resource.type.kind}List`,
      apiVersion: apiVersionOf(resource.type),
      metadata: { resourceVersion },
      items,
    });
  }

  /**
   * A chunked stream of `{"type","object"}` lines. The headers go out at once: kubectl waits for
   * them before it considers the watch established, and nothing else would flush them.
   */
  private watch(
    request: IncomingMessage,
    response: ServerResponse,
    resource: ResourcePath,
    query: URLSearchParams,
  ): void {
    const labelSelector = parseLabelSelector(query.get('labelSelector'));
    const fieldSelector = parseFieldSelector(query.get('fieldSelector'));
    const matches = (event: StoreEvent): boolean =>
      event.resourceType === resource.type &&
      (resource.namespace === undefined || event.object.metadata.namespace === resource.namespace) &&
      labelSelector(event.object.metadata.labels ?? {}) &&
      fieldSelector(event.object);
    const asTable = wantsTable(request.headers.accept);
    response.writeHead(200, {
      'content-type': 'application/json',
      'cache-control': 'no-cache, private',
      'transfer-encoding': 'chunked',
    });
    response.flushHeaders();
    const write = (type: string, object: unknown): void => {
      const payload =
        asTable && type !== 'ERROR' && type !== 'BOOKMARK'
          ? toTable(resource.type, [object as KubeObject], this.options.store.resourceVersion, true)
          : object;
      response.write(JSON.stringify({ type, object: payload }) + '\n');
    };
    const resourceVersion = query.get('resourceVersion');
    if (resourceVersion === null || resourceVersion === '' || resourceVersion === '0') {
      // No starting point: replay the current state as ADDED events, like a real server.
      const items = this.options.store.list(resource.type, {
        ...(resource.namespace === undefined ? {} : { namespace: resource.namespace }),
        labelSelector,
        fieldSelector,
      });
      for (const item of items) write('ADDED', item);
    } else {
      const history = this.options.store.eventsSince(Number(resourceVersion));
      if (history === undefined) {
        write(
          'ERROR',
          new ApiError(
            410,
            'Expired',
            `too old resource version: ${resourceVersion} (${this.options.store.resourceVersion})`,
          ).toStatus(),
        );
        response.end();
        return;
      }
      for (const event of history) if (matches(event)) write(event.type, event.object);
    }
    const unsubscribe = this.options.store.subscribe((event) => {
      if (matches(event)) write(event.type, event.object);
    });
    const timeoutSeconds = Number(query.get('timeoutSeconds') ?? '1800');
    const timer = setTimeout(() => response.end(), Math.max(1, timeoutSeconds) * 1000);
    const stop = (): void => {
      clearTimeout(timer);
      unsubscribe();
    };
    response.on('close', stop);
    request.on('close', stop);
  }

  private async readObject(request: IncomingMessage): Promise<unknown> {
    if ((request.headers['content-type'] ?? '').includes('protobuf')) {
      // Typed clients (`kubectl create deployment|namespace|secret …`) send protobuf, which needs the
      // Go types' field numbers to decode. The sandbox speaks JSON only.
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        'the sandbox API server accepts JSON request bodies only (protobuf bodies come from imperative commands such as "kubectl create namespace"; use kubectl apply)',
      );
    }
    const text = (await readBody(request)).toString('utf8');
    if (text.trim() === '') throw ApiError.badRequest('the request body is empty');
    try {
      // kubectl sends JSON; YAML is a superset, which also covers apply-patch+yaml bodies.
      return (request.headers['content-type'] ?? '').includes('yaml') ? YAML.parse(text) : JSON.parse(text);
    } catch (error: unknown) {
      throw ApiError.badRequest(`the body of the request was in an unknown format: ${String(error)}`);
    }
  }

  private checkIdentity(resource: ResourcePath, object: unknown): KubeObject {
    if (!isJsonObject(object) || !isJsonObject(object.metadata)) {
      throw ApiError.badRequest('Object has no metadata');
    }
    // Typed decoding on a real server drops nulls (`creationTimestamp: null` in the templates kubectl sends).
    const typed = withoutNulls(object) as KubeObject;
    const expectedApiVersion = apiVersionOf(resource.type);
    if (
      (typed.apiVersion !== undefined && typed.apiVersion !== expectedApiVersion) ||
      (typed.kind !== undefined && typed.kind !== resource.type.kind)
    ) {
      throw ApiError.badRequest(
        `the API version in the data (${String(typed.apiVersion)}) does not match the expected API version (${expectedApiVersion})`,
      );
    }
    typed.apiVersion = expectedApiVersion;
    typed.kind = resource.type.kind;
    if (resource.type.namespaced) {
      if (
        typed.metadata.namespace !== undefined &&
        typed.metadata.namespace !== '' &&
        typed.metadata.namespace !== resource.namespace
      ) {
        throw ApiError.badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      typed.metadata.namespace = resource.namespace;
    }
    if (
      resource.name !== undefined &&
      typed.metadata.name !== undefined &&
      typed.metadata.name !== resource.name
    ) {
      throw ApiError.badRequest(
        `the name of the object (${typed.metadata.name}) does not match the name on the URL (${resource.name})`,
      );
    }
    if (resource.name !== undefined) typed.metadata.name = resource.name;
    return typed;
  }

  private requireNamespace(resource: ResourcePath): void {
    if (!resource.type.namespaced) return;
    const namespaceType = RESOURCE_TYPES.find((t) => t.kind === 'Namespace');
    if (
      namespaceType === undefined ||
      this.options.store.get(namespaceType, undefined, resource.namespace ?? '') === undefined
    ) {
      throw new ApiError(404, 'NotFound', `namespaces "${resource.namespace ?? ''}" not found`, {
        name: resource.namespace ?? '',
        kind: 'namespaces',
      });
    }
  }

  /** Defaults, validation, then store (or not, for dry run). Shared by POST and server-side-apply create. */
  private createObject(resource: ResourcePath, object: KubeObject, dryRun: boolean): KubeObject {
    this.requireNamespace(resource);
    if (
      (object.metadata.name === undefined || object.metadata.name === '') &&
      object.metadata.generateName !== undefined
    ) {
      object.metadata.name = object.metadata.generateName + randomSuffix();
    }
    for (const field of [
      'uid',
      'resourceVersion',
      'creationTimestamp',
      'generation',
      'deletionTimestamp',
      'managedFields',
      'selfLink',
    ]) {
      delete object.metadata[field];
    }
    if (resource.type.hasStatusSubresource) delete object.status;
    object.metadata.uid = crypto.randomUUID();
    applyDefaults(resource.type, object, undefined, this.options.allocator);
    validate(resource.type, object, undefined);
    const existing = this.options.store.get(
      resource.type,
      object.metadata.namespace,
      object.metadata.name ?? '',
    );
    if (existing !== undefined)
      throw ApiError.alreadyExists(
        qualifiedResourceName(resource.type),
        object.metadata.name ?? '',
        resource.type.group,
        resource.type.plural,
      );
    if (dryRun) {
      object.metadata.creationTimestamp = nowIso();
      if (resource.type.hasGeneration) object.metadata.generation = 1;
      return object;
    }
    return this.options.store.create(resource.type, object);
  }

  private async create(
    request: IncomingMessage,
    response: ServerResponse,
    resource: ResourcePath,
    query: URLSearchParams,
  ): Promise<void> {
    const object = this.checkIdentity(resource, await this.readObject(request));
    const created = this.createObject(resource, object, isDryRun(query));
    send(response, 201, created);
  }

  /** Defaults, validation and the write of a changed object (PUT, PATCH). */
  private updateObject(
    resource: ResourcePath,
    existing: KubeObject,
    next: KubeObject,
    dryRun: boolean,
  ): KubeObject {
    const target = resource.subresource === 'status' ? 'status' : 'main';
    if (target === 'main') {
      applyDefaults(resource.type, next, existing, this.options.allocator);
      validate(resource.type, next, existing);
    }
    if (dryRun) return this.options.store.previewUpdate(resource.type, next, target);
    return this.options.store.update(resource.type, next, target);
  }

  private async update(
    request: IncomingMessage,
    response: ServerResponse,
    resource: ResourcePath,
    query: URLSearchParams,
  ): Promise<void> {
    const body = this.checkIdentity(resource, await this.readObject(request));
    const existing = this.mustGet(resource);
    if (resource.subresource === 'scale')
      return send(response, 200, this.writeScale(resource, existing, body, isDryRun(query)));
    send(response, 200, this.updateObject(resource, existing, body, isDryRun(query)));
  }

  private async patch(
    request: IncomingMessage,
    response: ServerResponse,
    resource: ResourcePath,
    query: URLSearchParams,
  ): Promise<void> {
    const contentType = (request.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
    const body = await this.readObject(request);
    const dryRun = isDryRun(query);
    const existing = this.options.store.get(resource.type, resource.namespace, resource.name ?? '');
    if (contentType === 'application/apply-patch+yaml') {
      const manager = query.get('fieldManager');
      if (manager === null || manager === '')
        throw ApiError.badRequest(
          'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        );
      const applied = this.checkIdentity(resource, deepClone(body));
      const key = (uid: string | undefined): string => `${uid ?? ''}\n${manager}`;
      if (existing === undefined) {
        const created = this.createObject(resource, deepClone(applied), dryRun);
        if (!dryRun) this.appliedConfigurations.set(key(created.metadata.uid), applied);
        return send(response, 201, created);
      }
      const merged = serverSideApply(
        existing,
        applied,
        this.appliedConfigurations.get(key(existing.metadata.uid)),
      ) as KubeObject;
      merged.metadata.resourceVersion = existing.metadata.resourceVersion;
      const result = this.updateObject(resource, existing, merged, dryRun);
      if (!dryRun) this.appliedConfigurations.set(key(existing.metadata.uid), applied);
      return send(response, 200, result);
    }
    if (existing === undefined) throw notFound(resource.type, resource.name ?? '');
    const original: unknown = resource.subresource === 'scale' ? scaleOf(existing) : existing;
    let patched: unknown;
    switch (contentType) {
      case 'application/strategic-merge-patch+json':
        patched = strategicMergePatch(original, body);
        break;
      case 'application/merge-patch+json':
        patched = jsonMergePatch(original, body);
        break;
      case 'application/json-patch+json':
        patched = jsonPatch(original, body);
        break;
      default:
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
        );
    }
    patched = withoutNulls(patched);
    if (!isJsonObject(patched) || !isJsonObject(patched.metadata))
      throw ApiError.badRequest('the patch removed the object metadata');
    const next = patched as KubeObject;
    if (resource.subresource === 'scale')
      return send(response, 200, this.writeScale(resource, existing, next, dryRun));
    next.metadata.name = existing.metadata.name;
    if (resource.type.namespaced) next.metadata.namespace = existing.metadata.namespace;
    send(response, 200, this.updateObject(resource, existing, next, dryRun));
  }

  private writeScale(
    resource: ResourcePath,
    existing: KubeObject,
    scale: KubeObject,
    dryRun: boolean,
  ): unknown {
    const replicas = isJsonObject(scale.spec) ? scale.spec.replicas : undefined;
    if (typeof replicas !== 'number') throw ApiError.badRequest('spec.replicas is required');
    const next = deepClone(existing);
    next.spec = { ...next.spec, replicas };
    const updated = this.updateObject({ ...resource, subresource: undefined }, existing, next, dryRun);
    return scaleOf(updated);
  }

  private async delete(
    request: IncomingMessage,
    response: ServerResponse,
    resource: ResourcePath,
    query: URLSearchParams,
  ): Promise<void> {
    const text = (await readBody(request)).toString('utf8');
    const options: Record<string, unknown> =
      text.trim() === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    const dryRun = isDryRun(query) || (Array.isArray(options.dryRun) && options.dryRun.includes('All'));
    const policy =
      query.get('propagationPolicy') ??
      (typeof options.propagationPolicy === 'string' ? options.propagationPolicy : 'Background');
    const existing = this.mustGet(resource);
    if (dryRun) return send(response, 200, existing);
    const deleted = this.deleteObject(resource.type, existing, policy);
    if (resource.type.kind === 'Pod') return send(response, 200, deleted);
    send(response, 200, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: {
        name: existing.metadata.name,
        group: resource.type.group,
        kind: resource.type.plural,
        uid: existing.metadata.uid,
      },
    });
  }

  private deleteCollection(response: ServerResponse, resource: ResourcePath, query: URLSearchParams): void {
    const items = this.options.store.list(resource.type, {
      ...(resource.namespace === undefined ? {} : { namespace: resource.namespace }),
      labelSelector: parseLabelSelector(query.get('labelSelector')),
      fieldSelector: parseFieldSelector(query.get('fieldSelector')),
    });
    if (!isDryRun(query))
      for (const item of items)
        this.deleteObject(resource.type, item, query.get('propagationPolicy') ?? 'Background');
    send(response, 200, {
      kind: `${resource.type.kind}List`,
      apiVersion: apiVersionOf(resource.type),
      metadata: { resourceVersion: this.options.store.resourceVersion },
      items,
    });
  }

  /**
   * Deletes at once (no graceful termination or finalizers). A namespace takes its objects with it;
   * with `Orphan` the dependents lose their owner reference instead of being collected by the
   * controller's garbage collector.
   */
  private deleteObject(type: ResourceType, object: KubeObject, policy: string): KubeObject {
    const store = this.options.store;
    if (type.kind === 'Namespace') {
      for (const namespaced of RESOURCE_TYPES.filter((t) => t.namespaced)) {
        for (const item of store.list(namespaced, { namespace: object.metadata.name ?? '' })) {
          store.delete(namespaced, item.metadata.namespace, item.metadata.name ?? '');
        }
      }
    }
    if (policy === 'Orphan') {
      for (const dependentType of RESOURCE_TYPES) {
        for (const dependent of store.list(dependentType)) {
          const owners = dependent.metadata.ownerReferences ?? [];
          if (!owners.some((o) => o.uid === object.metadata.uid)) continue;
          dependent.metadata.ownerReferences = owners.filter((o) => o.uid !== object.metadata.uid);
          store.update(dependentType, dependent);
        }
      }
    }
    return store.delete(type, object.metadata.namespace, object.metadata.name ?? '');
  }

  private logs(response: ServerResponse, resource: ResourcePath, query: URLSearchParams): void {
    const pod = this.mustGet(resource);
    const containers = (Array.isArray(pod.spec?.containers) ? pod.spec.containers : [])
      .filter(isJsonObject)
      .map((c) => String(c.name));
    let container = query.get('container');
    if (container === null || container === '') {
      if (containers.length !== 1) {
        throw ApiError.badRequest(
          `a container name must be specified for pod ${pod.metadata.name ?? ''}, choose one of: [${containers.join(' ')}]`,
        );
      }
      container = containers[0] ?? '';
    }
    if (!containers.includes(container))
      throw ApiError.badRequest(`container ${container} is not valid for pod ${pod.metadata.name ?? ''}`);
    let text = this.options.podLogs(pod, container);
    const tailLines = query.get('tailLines');
    if (tailLines !== null) {
      const lines = text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
      text = lines.slice(-Number(tailLines)).join('\n') + (lines.length > 0 ? '\n' : '');
    }
    sendJsonText(response, 200, text, 'text/plain');
  }
}

function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isJsonObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, withoutNulls(v)]),
  );
}

function isDryRun(query: URLSearchParams): boolean {
  return query.getAll('dryRun').includes('All');
}

function notFound(type: ResourceType, name: string): ApiError {
  return ApiError.notFound(qualifiedResourceName(type), name, type.group, type.plural);
}

function scaleOf(object: KubeObject): Record<string, unknown> {
  const replicas = typeof object.spec?.replicas === 'number' ? object.spec.replicas : 0;
  const selector = labelSelectorText(object.spec?.selector);
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: object.metadata.name,
      namespace: object.metadata.namespace,
      uid: object.metadata.uid,
      resourceVersion: object.metadata.resourceVersion,
      creationTimestamp: object.metadata.creationTimestamp,
    },
    spec: { replicas },
    status: { replicas: typeof object.status?.replicas === 'number' ? object.status.replicas : 0, selector },
  };
}

function labelSelectorText(selector: unknown): string {
  if (!isJsonObject(selector)) return '';
  const matchLabels = isJsonObject(selector.matchLabels) ? selector.matchLabels : {};
  return Object.entries(matchLabels)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
}

/**
 * `/api/v1/namespaces/ns/pods/x/log` → pods in ns, name x, subresource log.
 * `/api/v1/namespaces/x` is the Namespace x itself (and `/namespaces/x/status` its status).
 */
function parseResourcePath(path: string): ResourcePath | undefined {
  const match = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(.+)$/.exec(path);
  if (match === null) return undefined;
  const groupName = match[2] ?? '';
  const version = match[1] ?? match[3] ?? '';
  const segments = (match[4] ?? '').split('/');
  const [first, second, third, fourth, fifth] = segments;
  if (first === 'namespaces' && second !== undefined && third !== undefined) {
    const namespacedType = resourceTypeByPath(groupName, version, third);
    if (namespacedType !== undefined && namespacedType.namespaced) {
      if (segments.length > 5) return undefined;
      return { type: namespacedType, namespace: second, name: fourth, subresource: fifth };
    }
  }
  if (first === undefined || segments.length > 3) return undefined;
  const type = resourceTypeByPath(groupName, version, first);
  if (type === undefined) return undefined;
  // A namespaced type without a namespace is a list/watch across all namespaces.
  if (type.namespaced && second !== undefined) return undefined;
  return { type, namespace: undefined, name: second, subresource: third };
}

function withFaultsIfAny(plan: FaultPlan | undefined, handler: RequestHandler): RequestHandler {
  return plan === undefined ? handler : withFaults(plan, handler);
}
