import * as crypto from 'node:crypto';
import { ALL_VERBS, apiVersionOf, RESOURCE_TYPES, servedGroupVersions, type ResourceType } from './resources';

/** What `/version` reports. */
export interface KubernetesVersionInfo {
  readonly gitVersion: string;
}

export function versionDocument(version: KubernetesVersionInfo): Record<string, string> {
  const match = /^v(\d+)\.(\d+)/.exec(version.gitVersion);
  return {
    major: match?.[1] ?? '1',
    minor: match?.[2] ?? '32',
    gitVersion: version.gitVersion,
    gitCommit: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    gitTreeState: 'clean',
    buildDate: '2025-04-22T16:02:27Z',
    goVersion: 'go1.23.6',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

/** `/api`: the legacy (core) group's versions. */
export function coreVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupDocument(group: string): Record<string, unknown> {
  const versions = servedGroupVersions()
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: `${gv.group}/${gv.version}`, version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

/** `/apis`: the named groups (legacy discovery, not the aggregated v2 form). */
export function groupList(): Record<string, unknown> {
  const groups = [...new Set(servedGroupVersions().map((gv) => gv.group))].filter((g) => g !== '');
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupDocument) };
}

/** `/apis/<group>`: one group, or undefined when not served. */
export function group(name: string): Record<string, unknown> | undefined {
  if (name === '' || !servedGroupVersions().some((gv) => gv.group === name)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupDocument(name) };
}

/** `/api/v1` or `/apis/<group>/<version>`: the resources of one group/version, with subresources. */
export function resourceList(groupName: string, version: string): Record<string, unknown> | undefined {
  const types = RESOURCE_TYPES.filter((t) => t.group === groupName && t.version === version);
  if (types.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const t of types) {
    resources.push({
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: ALL_VERBS,
      ...(t.shortNames.length > 0 ? { shortNames: t.shortNames } : {}),
      ...(t.categories.length > 0 ? { categories: t.categories } : {}),
      storageVersionHash: crypto
        .createHash('sha256')
        .update(apiVersionOf(t) + t.kind)
        .digest('base64')
        .slice(0, 11),
    });
    for (const sub of t.subresources) {
      if (sub === 'scale') {
        resources.push({
          name: `${t.plural}/scale`,
          singularName: '',
          namespaced: t.namespaced,
          group: 'autoscaling',
          version: 'v1',
          kind: 'Scale',
          verbs: ['get', 'patch', 'update'],
        });
      } else if (sub === 'log') {
        resources.push({
          name: `${t.plural}/log`,
          singularName: '',
          namespaced: t.namespaced,
          kind: 'Pod',
          verbs: ['get'],
        });
      } else {
        resources.push({
          name: `${t.plural}/status`,
          singularName: '',
          namespaced: t.namespaced,
          kind: t.kind,
          verbs: ['get', 'patch', 'update'],
        });
      }
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupName === '' ? version : `${groupName}/${version}`,
    resources,
  };
}

/** The OpenAPI v3 path key of a group/version: `api/v1` or `apis/apps/v1`. */
function openApiPathKey(groupName: string, version: string): string {
  return groupName === '' ? `api/${version}` : `apis/${groupName}/${version}`;
}

const documentCache = new Map<string, { text: string; hash: string }>();

/**
 * The per-group/version OpenAPI v3 document. kubectl reads it for two things: whether PATCH of a
 * kind accepts the `fieldValidation` query parameter (then it validates server-side instead of
 * needing schemas), and whether PATCH accepts `application/strategic-merge-patch+json` (then it
 * wants full schemas with `x-kubernetes-patch-merge-key`). The sandbox deliberately leaves the
 * strategic-merge content type out: kubectl then computes strategic patches from its compiled-in
 * Go types, which carry exactly the real merge keys, instead of from the loose schemas here.
 */
export function openApiDocument(
  groupName: string,
  version: string,
  gitVersion: string,
): { text: string; hash: string } | undefined {
  const key = `${openApiPathKey(groupName, version)}@${gitVersion}`;
  const cached = documentCache.get(key);
  if (cached !== undefined) return cached;
  const types = RESOURCE_TYPES.filter((t) => t.group === groupName && t.version === version);
  if (types.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const t of types) {
    const prefix = groupName === '' ? `/api/${version}` : `/apis/${groupName}/${version}`;
    const collection = t.namespaced
      ? `${prefix}/namespaces/{namespace}/${t.plural}`
      : `${prefix}/${t.plural}`;
    const schemaName = schemaNameOf(t);
    const ref = { $ref: `#/components/schemas/${schemaName}` };
    const gvk = { group: t.group, version: t.version, kind: t.kind };
    const operationSuffix = `${pascal(groupName)}${pascal(version)}${t.namespaced ? 'Namespaced' : ''}${t.kind}`;
    const jsonBody = { content: { 'application/json': { schema: ref } }, required: true };
    const jsonResponse = { description: 'OK', content: { 'application/json': { schema: ref } } };
    const writeParameters = ['dryRun', 'fieldManager', 'fieldValidation'].map(queryParameter);
    paths[collection] = {
      get: operation(`list${operationSuffix}`, 'list', gvk, [], undefined, jsonResponse),
      post: operation(`create${operationSuffix}`, 'post', gvk, writeParameters, jsonBody, jsonResponse),
    };
    paths[`${collection}/{name}`] = {
      get: operation(`read${operationSuffix}`, 'get', gvk, [], undefined, jsonResponse),
      put: operation(`replace${operationSuffix}`, 'put', gvk, writeParameters, jsonBody, jsonResponse),
      delete: operation(
        `delete${operationSuffix}`,
        'delete',
        gvk,
        [queryParameter('dryRun')],
        undefined,
        jsonResponse,
      ),
      patch: operation(
        `patch${operationSuffix}`,
        'patch',
        gvk,
        [...writeParameters, { name: 'force', in: 'query', schema: { type: 'boolean', uniqueItems: true } }],
        {
          content: Object.fromEntries(
            [
              'application/apply-patch+yaml',
              'application/json-patch+json',
              'application/merge-patch+json',
            ].map((c) => [
              c,
              { schema: { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch' } },
            ]),
          ),
          required: true,
        },
        jsonResponse,
      ),
    };
    schemas[schemaName] = {
      description: `${t.kind} (sandbox schema: any fields are accepted).`,
      type: 'object',
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      },
      'x-kubernetes-preserve-unknown-fields': true,
      'x-kubernetes-group-version-kind': [gvk],
    };
  }
  schemas['io.k8s.apimachinery.pkg.apis.meta.v1.Patch'] = {
    description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.',
    type: 'object',
  };
  const document = {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: gitVersion },
    paths,
    components: { schemas },
  };
  const text = JSON.stringify(document);
  const result = {
    text,
    hash: crypto.createHash('sha512').update(text).digest('hex').slice(0, 128).toUpperCase(),
  };
  documentCache.set(key, result);
  return result;
}

/** `/openapi/v3`: where each group/version's document lives; the hash lets kubectl cache it. */
export function openApiRoot(gitVersion: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const gv of servedGroupVersions()) {
    const document = openApiDocument(gv.group, gv.version, gitVersion);
    if (document === undefined) continue;
    const key = openApiPathKey(gv.group, gv.version);
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${document.hash}` };
  }
  return { paths };
}

function schemaNameOf(t: ResourceType): string {
  if (t.group === '') return `io.k8s.api.core.${t.version}.${t.kind}`;
  const shortGroup = t.group.replace(/\.k8s\.io$/, '');
  return `io.k8s.api.${shortGroup}.${t.version}.${t.kind}`;
}

function pascal(text: string): string {
  return text
    .replace(/\.k8s\.io$/, '')
    .split(/[.-]/)
    .map((part) => (part === '' ? '' : part[0]?.toUpperCase() + part.slice(1)))
    .join('');
}

function queryParameter(name: string): Record<string, unknown> {
  return { name, in: 'query', schema: { type: 'string', uniqueItems: true } };
}

function operation(
  operationId: string,
  action: string,
  gvk: Record<string, string>,
  parameters: unknown[],
  requestBody: unknown,
  okResponse: unknown,
): Record<string, unknown> {
  return {
    operationId,
    parameters,
    ...(requestBody === undefined ? {} : { requestBody }),
    responses: { '200': okResponse, '401': { description: 'Unauthorized' } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
  };
}
