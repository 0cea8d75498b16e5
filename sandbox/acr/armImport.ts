import * as crypto from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { sendArmError, sendResourceGroupNotFound, sendResourceNotFound, type ArmRequest } from '../arm';
import { readBody, sendJson } from '../httpsServer';
import { writeRefusal } from './metadata';
import { copyArtifact, getManifest, putManifest, sha256Digest } from './registry';
import {
  DENIED_MESSAGE,
  REPOSITORY_NAME,
  isDigest,
  type AcrState,
  type ImportRecord,
  type SandboxRegistry,
} from './state';

// ACR's ARM side (Microsoft.ContainerRegistry/registries): list, get, listCredentials and
// importImage as a long-running operation that copies between the real registries.

const TAG = /^\w[\w.-]{0,127}$/;

interface Operation {
  readonly record: ImportRecord;
  readonly startTime: Date;
  endTime?: Date;
  readonly done: Promise<void>;
}

class ImportFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class AcrArmProvider {
  readonly imports: ImportRecord[] = [];
  private readonly operations = new Map<string, Operation>();

  constructor(private readonly state: AcrState) {}

  /** An ArmProvider: true when the request was one of Microsoft.ContainerRegistry's. */
  async handle(call: ArmRequest): Promise<boolean> {
    const { request, response } = call;
    const subscriptionPrefix = `/subscriptions/${this.state.base.subscriptionId}/`.toLowerCase();
    const requestPath = call.path.replace(/\/+$/, '');
    const lower = requestPath.toLowerCase();
    const provider = 'providers/microsoft.containerregistry/registries';
    if (!lower.startsWith(subscriptionPrefix) || !lower.includes(provider)) return false;
    const rest = requestPath.slice(subscriptionPrefix.length);
    const all = [...this.state.registries.values()];
    if (request.method === 'GET' && new RegExp(`^${provider}$`, 'i').test(rest)) {
      sendJson(response, 200, { value: all.map((r) => this.registryResource(r)) });
      return true;
    }
    const match = new RegExp(`^resourcegroups/([^/]+)/${provider}(?:/([^/]+)(?:/(.+))?)?$`, 'i').exec(rest);
    if (match === null) return false;
    const [, resourceGroup = '', name, action] = match;
    const inGroup = all.filter((r) => r.resourceGroup.toLowerCase() === resourceGroup.toLowerCase());
    const groupExists = [...(this.state.arm?.resourceGroups ?? []), ...all.map((r) => r.resourceGroup)].some(
      (g) => g.toLowerCase() === resourceGroup.toLowerCase(),
    );
    if (!groupExists) {
      sendResourceGroupNotFound(response, resourceGroup);
      return true;
    }
    if (name === undefined) {
      if (request.method !== 'GET') return false;
      sendJson(response, 200, { value: inGroup.map((r) => this.registryResource(r)) });
      return true;
    }
    const registry = inGroup.find((r) => r.name === name.toLowerCase());
    if (registry === undefined) {
      sendResourceNotFound(response, 'Microsoft.ContainerRegistry/registries', name, resourceGroup);
      return true;
    }
    if (action === undefined) {
      if (request.method !== 'GET') return false;
      sendJson(response, 200, this.registryResource(registry));
      return true;
    }
    if (request.method === 'POST' && action.toLowerCase() === 'importimage') {
      await this.startImport(registry, call);
      return true;
    }
    if (request.method === 'POST' && action.toLowerCase() === 'listcredentials') {
      if (registry.adminPassword === undefined) {
        sendArmError(response, 400, 'AdminUserDisabled', 'Admin user is disabled.');
        return true;
      }
      sendJson(response, 200, {
        username: registry.name,
        passwords: [
          { name: 'password', value: registry.adminPassword },
          { name: 'password2', value: `${registry.adminPassword}2` },
        ],
      });
      return true;
    }
    const operation = /^operation(statuses|results)\/([^/]+)$/i.exec(action);
    if (request.method === 'GET' && operation !== null) {
      await this.operationAnswer(operation[1]?.toLowerCase() === 'statuses', operation[2] ?? '', response);
      return true;
    }
    return false;
  }

  private registryResource(registry: SandboxRegistry): Record<string, unknown> {
    return {
      id: registry.id,
      name: registry.name,
      type: 'Microsoft.ContainerRegistry/registries',
      location: registry.location,
      tags: registry.tags,
      sku: { name: registry.sku, tier: registry.sku },
      properties: {
        loginServer: registry.loginServer,
        creationDate: registry.createdOn.toISOString(),
        provisioningState: 'Succeeded',
        adminUserEnabled: registry.adminPassword !== undefined,
        anonymousPullEnabled: registry.anonymousPullEnabled,
        dataEndpointEnabled: false,
        dataEndpointHostNames: [],
        publicNetworkAccess: 'Enabled',
        networkRuleBypassOptions: 'AzureServices',
        zoneRedundancy: 'Disabled',
        privateEndpointConnections: [],
        encryption: { status: 'disabled' },
        policies: {
          quarantinePolicy: { status: 'disabled' },
          trustPolicy: { type: 'Notary', status: 'disabled' },
          retentionPolicy: { days: 7, status: 'disabled' },
          exportPolicy: { status: 'enabled' },
        },
      },
    };
  }

  private async startImport(target: SandboxRegistry, call: ArmRequest): Promise<void> {
    const { request, response, query, caller } = call;
    let body: {
      source?: { resourceId?: string; registryUri?: string; sourceImage?: string };
      targetTags?: string[];
      untaggedTargetRepositories?: string[];
      mode?: string;
    };
    try {
      body = JSON.parse((await readBody(request)).toString('utf8')) as typeof body;
    } catch {
      sendArmError(
        response,
        400,
        'InvalidRequestContent',
        'The request content was invalid and could not be deserialized.',
      );
      return;
    }
    const sourceImage = body.source?.sourceImage;
    if (sourceImage === undefined || sourceImage === '') {
      sendArmError(response, 400, 'InvalidParameters', 'The source image is required.');
      return;
    }
    const source = this.importSource(body.source ?? {});
    if (source === undefined) {
      sendArmError(
        response,
        400,
        'InvalidParameters',
        'The source container registry can not be found. Please provide a valid address or credentials and try again.',
      );
      return;
    }
    const callerIds = [caller.oid, caller.appid].map((id) => id.toLowerCase());
    for (const [registry, needed, action] of [
      [target, 'push', 'Microsoft.ContainerRegistry/registries/importImage/action'],
      [source, 'pull', 'Microsoft.ContainerRegistry/registries/pull/read'],
    ] as const) {
      if (!this.state.permissionsOf(registry, callerIds).has(needed)) {
        sendArmError(
          response,
          403,
          'AuthorizationFailed',
          `The client '${caller.appid}' with object id '${caller.oid}' does not have authorization to perform action '${action}' over scope '${registry.id}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
        );
        return;
      }
    }
    const operationId = `registries-${crypto.randomUUID()}`;
    const record: ImportRecord = {
      operationId,
      target: target.name,
      source: source.name,
      sourceImage,
      targetTags: body.targetTags ?? [],
      untaggedTargetRepositories: body.untaggedTargetRepositories ?? [],
      mode: body.mode ?? 'NoForce',
      status: 'InProgress',
    };
    this.imports.push(record);
    const operation: Operation = {
      record,
      startTime: new Date(),
      done: this.runImport(source, target, record).then(
        (digest) => {
          record.digest = digest;
          record.status = 'Succeeded';
        },
        (error: unknown) => {
          record.status = 'Failed';
          record.error =
            error instanceof ImportFailure
              ? { code: error.code, message: error.message }
              : { code: 'InternalServerError', message: String(error) };
        },
      ),
    };
    void operation.done.then(() => (operation.endTime = new Date()));
    this.operations.set(operationId, operation);
    const apiVersion = query.get('api-version') ?? '';
    const operationBase = `https://management.azure.com${target.id}`;
    response.writeHead(202, {
      'azure-asyncoperation': `${operationBase}/operationStatuses/${operationId}?api-version=${apiVersion}`,
      location: `${operationBase}/operationResults/${operationId}?api-version=${apiVersion}`,
      'retry-after': '1',
      'content-length': 0,
    });
    response.end();
  }

  private importSource(source: { resourceId?: string; registryUri?: string }): SandboxRegistry | undefined {
    const all = [...this.state.registries.values()];
    if (source.resourceId !== undefined && source.resourceId !== '') {
      return all.find((r) => r.id.toLowerCase() === source.resourceId?.toLowerCase());
    }
    const host = (source.registryUri ?? '')
      .replace(/^https?:\/\//i, '')
      .replace(/\/.*$/, '')
      .toLowerCase();
    return all.find((r) => r.loginServer === host);
  }

  /** The import itself: resolve once, check every target before copying, copy, then tag. */
  private async runImport(
    source: SandboxRegistry,
    target: SandboxRegistry,
    record: ImportRecord,
  ): Promise<string> {
    const image = parseImageReference(record.sourceImage);
    if (image === undefined)
      throw new ImportFailure('InvalidParameters', `The source image '${record.sourceImage}' is invalid.`);
    const sourceStorage = source.backend.storage;
    const digest =
      image.digest !== undefined
        ? sourceStorage.hasManifest(image.repository, image.digest)
          ? image.digest
          : undefined
        : sourceStorage.tag(image.repository, image.tag ?? 'latest')?.digest;
    if (digest === undefined) {
      throw new ImportFailure(
        'ImportSourceNotFound',
        `Source image ${source.loginServer}/${record.sourceImage} not found. Please provide a valid image and source registry or a fully qualified source.`,
      );
    }
    const targetTags = [...record.targetTags];
    const untagged = [...record.untaggedTargetRepositories];
    if (targetTags.length === 0 && untagged.length === 0) {
      if (image.digest === undefined) targetTags.push(`${image.repository}:${image.tag ?? 'latest'}`);
      else untagged.push(image.repository);
    }
    // A target tag without `:tag` takes the source's tag.
    const tags = targetTags.map((targetTag) => {
      const parsed = parseImageReference(targetTag);
      if (parsed === undefined || parsed.digest !== undefined)
        throw new ImportFailure('InvalidParameters', `The target tag '${targetTag}' is invalid.`);
      return { repository: parsed.repository, tag: parsed.tag ?? image.tag ?? 'latest' };
    });
    for (const { repository, tag } of tags) {
      if (writeRefusal(this.state, target, repository, tag) !== undefined) {
        throw new ImportFailure(
          'DENIED',
          `${DENIED_MESSAGE} Tag ${repository}:${tag} is locked in target registry.`,
        );
      }
      const existing = target.backend.storage.tag(repository, tag);
      if (record.mode !== 'Force' && existing !== undefined && existing.digest !== digest) {
        throw new ImportFailure(
          'TagAlreadyExists',
          `Tag ${repository}:${tag} already exists in target registry.`,
        );
      }
    }
    const sourceEndpoint = source.backend.endpoint;
    const targetEndpoint = target.backend.endpoint;
    const repositories = [...new Set([...tags.map((t) => t.repository), ...untagged])];
    for (const repository of repositories) {
      await copyArtifact(sourceEndpoint, image.repository, targetEndpoint, repository, digest);
    }
    for (const { repository, tag } of tags) {
      const manifest = await getManifest(targetEndpoint, repository, digest);
      if (manifest === undefined)
        throw new ImportFailure('InternalServerError', `copied manifest ${digest} vanished`);
      await putManifest(targetEndpoint, repository, tag, manifest.mediaType, manifest.body);
    }
    const copied = await getManifest(targetEndpoint, repositories[0] ?? image.repository, digest);
    if (copied === undefined || sha256Digest(copied.body) !== digest) {
      throw new ImportFailure('InternalServerError', `the copy of ${digest} does not match its digest`);
    }
    return digest;
  }

  /**
   * Azure-AsyncOperation (status) and Location (result) of an import. A status request waits up to
   * 3 s for the copy to finish: the poller asks once at once, then only every Retry-After seconds.
   */
  private async operationAnswer(
    status: boolean,
    operationId: string,
    response: ServerResponse,
  ): Promise<void> {
    const operation = this.operations.get(operationId);
    if (operation === undefined) {
      sendArmError(response, 404, 'OperationNotFound', `The operation '${operationId}' was not found.`);
      return;
    }
    await Promise.race([operation.done, new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
    const { record } = operation;
    if (!status) {
      if (record.status === 'InProgress') {
        response.writeHead(202, { 'retry-after': '1', 'content-length': 0 }).end();
      } else if (record.status === 'Failed') {
        sendArmError(
          response,
          400,
          record.error?.code ?? 'Failed',
          record.error?.message ?? 'The import failed.',
        );
      } else {
        // 200 with no body: the SDK's final GET accepts 200/201/202 only (204 would throw).
        response.writeHead(200, { 'content-length': 0 }).end();
      }
      return;
    }
    sendJson(
      response,
      200,
      {
        id: `${this.state.registryNamed(record.target).id}/operationStatuses/${operationId}`,
        name: operationId,
        status: record.status,
        startTime: operation.startTime.toISOString(),
        ...(operation.endTime === undefined ? {} : { endTime: operation.endTime.toISOString() }),
        ...(record.error === undefined ? {} : { error: record.error }),
      },
      record.status === 'InProgress' ? { 'retry-after': '1' } : {},
    );
  }

  /** Lets running imports finish, so no copy writes into a registry being torn down. */
  async settle(): Promise<void> {
    await Promise.all([...this.operations.values()].map((o) => o.done));
  }
}

/**
 * `repo:tag`, `repo@sha256:…` or `repo` (no tag), as importImage's source image and target tags
 * name images. The sandbox's own parser, private to the import: the sandbox must not import the
 * product's (tasks/common/imageReference.ts), and no other part of it reads image references.
 */
function parseImageReference(
  reference: string,
): { repository: string; tag?: string; digest?: string } | undefined {
  const at = reference.indexOf('@');
  if (at > 0) {
    const repository = reference.slice(0, at);
    const digest = reference.slice(at + 1);
    return REPOSITORY_NAME.test(repository) && isDigest(digest) ? { repository, digest } : undefined;
  }
  const colon = reference.lastIndexOf(':');
  if (colon <= 0) return REPOSITORY_NAME.test(reference) ? { repository: reference } : undefined;
  const repository = reference.slice(0, colon);
  const tag = reference.slice(colon + 1);
  return REPOSITORY_NAME.test(repository) && TAG.test(tag) ? { repository, tag } : undefined;
}
