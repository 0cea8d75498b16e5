import type { IncomingMessage, ServerResponse } from 'node:http';
import { pathOf, queryOf, sendJson, startHttpsServer, type RunningServer } from '../httpsServer';
import type { SandboxBase } from '../base';
import type { AccessTokenClaims } from '../entra/accessTokens';
import type { SandboxService, ServiceOptions } from '../service';

export const ARM_AUDIENCES = ['https://management.azure.com', 'https://management.core.windows.net'];

export interface ArmRequest {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  /** Path without query, e.g. `/subscriptions/<id>/resourceGroups/rg/providers/...`. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly caller: AccessTokenClaims;
}

/**
 * One resource provider's routes. Returns true when it answered the request. Each sandbox part
 * (AKS, ACR, Key Vault) contributes one, so ARM lives in one server.
 */
export type ArmProvider = (call: ArmRequest) => boolean | Promise<boolean>;

export const ARM_HOST = 'management.azure.com';

/** One ARM call as the server saw it. */
export interface ArmRequestRecord {
  readonly method: string;
  readonly path: string;
  status: number;
}

export interface ArmServer extends RunningServer, SandboxService {
  /** Adds a resource provider's routes; services do this themselves when given `arm` in their options. */
  addProvider(provider: ArmProvider): void;
  readonly requests: readonly ArmRequestRecord[];
  readonly resourceGroups: Set<string>;
}

/** ARM's error body shape. */
export function sendArmError(response: ServerResponse, status: number, code: string, message: string): void {
  sendJson(response, status, { error: { code, message } });
}

/** ARM's answer for a resource group that does not exist. */
export function sendResourceGroupNotFound(response: ServerResponse, resourceGroup: string): void {
  sendArmError(
    response,
    404,
    'ResourceGroupNotFound',
    `Resource group '${resourceGroup}' could not be found.`,
  );
}

/** ARM's 404 for a resource of `type` (e.g. `Microsoft.KeyVault/vaults`) missing from an existing group. */
export function sendResourceNotFound(
  response: ServerResponse,
  type: string,
  name: string,
  resourceGroup: string,
): void {
  sendArmError(
    response,
    404,
    'ResourceNotFound',
    `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );
}

/**
 * Azure Resource Manager for the base's subscription: resource groups, and every resource
 * provider the other services add (Key Vault, ACR, AKS), under `management.azure.com`.
 */
export async function startArm(
  base: SandboxBase,
  options: Pick<ServiceOptions, 'listen'> = {},
): Promise<ArmServer> {
  const { tokens, subscriptionId } = base;
  const providers: ArmProvider[] = [];
  const resourceGroups = new Set<string>();
  const requests: ArmRequestRecord[] = [];
  const handler = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const record: ArmRequestRecord = { method: request.method ?? '', path: pathOf(request), status: 0 };
    requests.push(record);
    response.once('finish', () => (record.status = response.statusCode));
    const caller = tokens.verify(request.headers.authorization, ARM_AUDIENCES);
    if (caller === undefined) {
      sendArmError(
        response,
        401,
        'AuthenticationFailed',
        'Authentication failed. The Authorization header is missing or invalid.',
      );
      return;
    }
    const path = pathOf(request);
    const query = queryOf(request);
    if (!query.has('api-version')) {
      sendArmError(
        response,
        400,
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.',
      );
      return;
    }
    const call: ArmRequest = { request, response, path, query, caller };
    const groups = new RegExp(`^/subscriptions/${subscriptionId}/resourcegroups/?$`, 'i');
    if (request.method === 'GET' && groups.test(path)) {
      sendJson(response, 200, {
        value: [...resourceGroups].map((name) => ({
          id: `/subscriptions/${subscriptionId}/resourceGroups/${name}`,
          name,
          location: 'westeurope',
          type: 'Microsoft.Resources/resourceGroups',
          properties: { provisioningState: 'Succeeded' },
        })),
      });
      return;
    }
    for (const provider of providers) {
      if (await provider(call)) return;
    }
    sendArmError(response, 404, 'ResourceNotFound', `The resource '${path}' was not found.`);
  };
  const server = await startHttpsServer(base.serverTls, handler, options.listen);
  const routes = [ARM_HOST];
  for (const host of routes) base.proxy.route(host, server.port);
  return {
    ...server,
    urls: [server.url],
    routes,
    requests,
    addProvider: (p) => void providers.push(p),
    resourceGroups,
  };
}
