import type { ContainerRegistryManagementClient, ImportImageParameters } from '@azure/arm-containerregistry';
import type { AzureConnection } from '../common/azureConnection';
import { azureClientOptions } from '../common/azureClientOptions';
import { errorCodes, explainNetworkError, explainSignInError, statusOf } from '../common/azureErrors';
import { UserError } from '../common/errors';
import type { Credentials } from './registries';
import { userError } from './messages';

/** An ACR resource as ARM lists it. */
export interface RegistryResource {
  readonly id: string;
  readonly resourceGroup: string;
  readonly name: string;
  readonly loginServer: string;
}

export interface ImportSide {
  readonly connection: AzureConnection;
  readonly registry: string;
}

export interface ImportRequest {
  readonly source: ImportSide & { readonly repository: string; readonly digest: string };
  readonly target: ImportSide & { readonly repository: string; readonly tags: readonly string[] };
  readonly overwrite: boolean;
}

/**
 * Why ACR's import cannot serve these connections, before anything is asked of Azure. ARM runs the
 * import as the target connection's identity, which must be able to read the source registry: a
 * source connection of another tenant means that identity has no say there.
 */
export function importBlocker(source: AzureConnection, target: AzureConnection): UserError | undefined {
  const tenantOf = (c: AzureConnection): string | undefined =>
    c.authentication.kind === 'managedIdentity' ? undefined : c.authentication.tenantId.toLowerCase();
  const [from, to] = [tenantOf(source), tenantOf(target)];
  if (from !== undefined && to !== undefined && from !== to)
    return userError('PromoteImportOtherTenant', from, to);
  return undefined;
}

/** The import parameters: exactly the resolved digest, the target tags as `repository:tag`. */
export function importParameters(request: ImportRequest, sourceResourceId: string): ImportImageParameters {
  const { source, target } = request;
  return {
    source: { resourceId: sourceResourceId, sourceImage: `${source.repository}@${source.digest}` },
    ...(target.tags.length > 0
      ? { targetTags: target.tags.map((tag) => `${target.repository}:${tag}`) }
      : { untaggedTargetRepositories: [target.repository] }),
    mode: request.overwrite ? 'Force' : 'NoForce',
  };
}

/** `/subscriptions/…/resourceGroups/<group>/providers/Microsoft.ContainerRegistry/registries/<name>`. */
export function parseRegistryId(id: string): { resourceGroup: string; name: string } | undefined {
  const match =
    /\/resourcegroups\/([^/]+)\/providers\/microsoft\.containerregistry\/registries\/([^/]+)$/i.exec(id);
  return match === null ? undefined : { resourceGroup: match[1] ?? '', name: match[2] ?? '' };
}

/**
 * ACR's server-side import through ARM: finds both registries by login server (the target in the
 * target connection's subscription, the source in the source connection's), then imports and waits.
 */
export async function importWithArm(
  request: ImportRequest,
  credentials: Credentials,
  importTimeoutMinutes = IMPORT_TIMEOUT_MINUTES,
): Promise<void> {
  const { source, target } = request;
  // The ARM client is loaded only for this method: a copy does not pay for its start-up.
  const { ContainerRegistryManagementClient } = await import('@azure/arm-containerregistry');
  const managementClient = (connection: AzureConnection): ArmClient =>
    armClient(ContainerRegistryManagementClient, connection, credentials);
  const targetArm = managementClient(target.connection);
  const sourceArm =
    source.connection.id === target.connection.id ? targetArm : managementClient(source.connection);

  const [targetResource, sourceResource] = await Promise.all([
    armCall(target.connection, LIST, () => findRegistry(targetArm.client, target.registry)),
    armCall(source.connection, LIST, () => findRegistry(sourceArm.client, source.registry)),
  ]);
  if (targetResource === undefined)
    throw userError(
      'PromoteImportTargetNotFound',
      target.registry,
      target.connection.id,
      targetArm.subscriptionId,
    );
  if (sourceResource === undefined)
    throw userError('PromoteImportSourceNotInReach', source.registry, source.connection.id);

  // ARM reports the import in progress until ACR is done: the wait is bounded, as every wait is.
  const deadline = AbortSignal.timeout(importTimeoutMinutes * 60_000);
  try {
    await targetArm.client.registries.importImage(
      targetResource.resourceGroup,
      targetResource.name,
      importParameters(request, sourceResource.id),
      { abortSignal: deadline },
    );
  } catch (error: unknown) {
    if (deadline.aborted) throw userError('PromoteImportTimedOut', target.registry, importTimeoutMinutes);
    throw (
      explainArmError(error, target.connection, `import into ${target.registry}`) ??
      importFailure(error, target.registry)
    );
  }
}

interface ArmClient {
  readonly client: ContainerRegistryManagementClient;
  readonly subscriptionId: string;
}

function armClient(
  Client: typeof ContainerRegistryManagementClient,
  connection: AzureConnection,
  credentials: Credentials,
): ArmClient {
  const subscriptionId = connection.subscriptionId;
  if (subscriptionId === undefined)
    throw userError('ConnectionMissingParameter', connection.id, 'subscription id');
  const armUrl = connection.cloud.resourceManagerUrl;
  const client = new Client(credentials.of(connection), subscriptionId, {
    ...azureClientOptions(armUrl, 'resourceManager'),
    // The client's default scope is `<endpoint>/.default`; a custom cloud's ARM audience may differ.
    endpoint: armUrl.replace(/\/+$/, ''),
    credentials: { scopes: [connection.cloud.resourceManagerScope] },
  });
  return { client, subscriptionId };
}

async function findRegistry(
  client: ContainerRegistryManagementClient,
  loginServer: string,
): Promise<RegistryResource | undefined> {
  for await (const registry of client.registries.list()) {
    if (registry.loginServer?.toLowerCase() !== loginServer || registry.id === undefined) continue;
    const parts = parseRegistryId(registry.id);
    if (parts !== undefined) return { id: registry.id, ...parts, loginServer };
  }
  return undefined;
}

const LIST = 'list the registries of its subscription';

/** How long ACR gets to finish an import: a multi-gigabyte image takes minutes, not an hour. */
const IMPORT_TIMEOUT_MINUTES = 30;

async function armCall<T>(connection: AzureConnection, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error: unknown) {
    throw explainArmError(error, connection, what) ?? error;
  }
}

/** `what` completes "may not …": what the connection was refused. */
function explainArmError(error: unknown, connection: AzureConnection, what: string): UserError | undefined {
  if (error instanceof UserError) return error;
  const signIn = explainSignInError(error, connection, 'Azure Resource Manager');
  if (signIn !== undefined) return signIn;
  const network = explainNetworkError(error, 'Azure Resource Manager');
  if (network !== undefined) return network;
  if (statusOf(error) === 403)
    return userError('PromoteImportForbidden', connection.id, what, armCode(error) ?? 'Forbidden');
  return undefined;
}

function importFailure(error: unknown, registry: string): UserError {
  const status = statusOf(error);
  return userError('PromoteImportFailed', registry, armCode(error) ?? 'failed', status ?? '-');
}

/**
 * ARM's error code (`TagAlreadyExists`, `ImportSourceNotFound`) rather than its message: the code
 * says what happened, and a message may quote more than we want in a log.
 */
function armCode(error: unknown): string | undefined {
  return [...errorCodes(error)].find((code) => /^[A-Za-z]+$/.test(code));
}
