import * as fs from 'node:fs';
import * as http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import type { ArmServer } from '../arm';
import type { SandboxBase } from '../base';
import { sendJson } from '../httpsServer';
import { startRegistry, type RealRegistry } from './registry';

// What every part of the ACR stand-in shares: its public types, the registries, the grants (who
// may do what), the changeable attributes (locks) and the request log.

/** Audiences of Entra tokens that `/oauth2/exchange` accepts, as ACR does. */
export const ACR_AAD_AUDIENCES = [
  'https://management.azure.com',
  'https://management.core.windows.net',
  'https://containerregistry.azure.net',
];

/** ACR's convention: this user name with an ACR refresh token as the password (docker login, skopeo). */
export const ACR_REFRESH_TOKEN_USERNAME = '00000000-0000-0000-0000-000000000000';

export const ACR_LOGIN_SUFFIX = 'azurecr.io';

/** What `acr.grant` hands out; roughly AcrPull / AcrPush / AcrDelete. */
export type AcrPermission = 'pull' | 'push' | 'delete';

export interface AcrRegistrySpec {
  readonly name: string;
  /** Default `rg-registries`. */
  readonly resourceGroup?: string;
  /** Default `westeurope`. */
  readonly location?: string;
  /** Default `Premium`. */
  readonly sku?: 'Basic' | 'Standard' | 'Premium';
  /** Enables the admin user (`<name>` / this password). */
  readonly adminPassword?: string;
  /** Anyone may pull, read metadata and list repositories without credentials (never push). */
  readonly anonymousPullEnabled?: boolean;
  /**
   * Emulate ACR's OCI referrers API (`GET /v2/<repo>/referrers/<digest>`, `OCI-Subject` on manifest
   * PUT). Default false: docker-registry 2.8 has none, so clients fall back to `sha256-<hex>` tags.
   */
  readonly referrersApi?: boolean;
  readonly tags?: Readonly<Record<string, string>>;
}

/** ACR's changeable attributes of a repository, tag or manifest. */
export interface ChangeableAttributes {
  deleteEnabled: boolean;
  writeEnabled: boolean;
  readEnabled: boolean;
  listEnabled: boolean;
}

export interface SandboxRegistry {
  readonly name: string;
  /** `<name>.azurecr.io` */
  readonly loginServer: string;
  /** ARM resource id. */
  readonly id: string;
  readonly resourceGroup: string;
  readonly location: string;
  readonly sku: string;
  readonly adminPassword: string | undefined;
  readonly anonymousPullEnabled: boolean;
  readonly tags: Readonly<Record<string, string>>;
  readonly createdOn: Date;
  /** The real registry behind the front. */
  readonly backend: RealRegistry;
  /** Whether the front emulates the referrers API; switch it per test. */
  referrersApi: boolean;
  /**
   * Referrers per page of the referrers API, the rest behind a `Link: <…>; rel="next"` header, as
   * the distribution spec allows; undefined: one page. Switch it per test.
   */
  referrersPageSize: number | undefined;
}

/** Route templates as recorded (with the method separately). */
export type AcrRoute =
  | '/oauth2/exchange'
  | '/oauth2/token'
  | '/v2/'
  | '/v2/_catalog'
  | '/v2/{repo}/manifests/{reference}'
  | '/v2/{repo}/blobs/{digest}'
  | '/v2/{repo}/blobs/uploads/'
  | '/v2/{repo}/blobs/uploads/{uuid}'
  | '/v2/{repo}/tags/list'
  | '/v2/{repo}/referrers/{digest}'
  | '/acr/v1/_catalog'
  | '/acr/v1/{repo}'
  | '/acr/v1/{repo}/_tags'
  | '/acr/v1/{repo}/_tags/{tag}'
  | '/acr/v1/{repo}/_manifests'
  | '/acr/v1/{repo}/_manifests/{digest}'
  | 'other';

export interface AcrRequestRecord {
  readonly registry: string;
  readonly method: string;
  readonly route: AcrRoute;
  readonly path: string;
  readonly repository?: string;
  readonly status: number;
  /** `sub` of the access token the request carried (oid, `admin`, `anonymous`, `sandbox-owner`). */
  readonly principal?: string;
  /** For token requests: the scopes asked for. */
  readonly scopes?: readonly string[];
}

export interface ImportRecord {
  readonly operationId: string;
  readonly target: string;
  readonly source: string;
  readonly sourceImage: string;
  readonly targetTags: readonly string[];
  readonly untaggedTargetRepositories: readonly string[];
  readonly mode: string;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  digest?: string;
  error?: { code: string; message: string };
}

export const DEFAULT_ATTRIBUTES: ChangeableAttributes = {
  deleteEnabled: true,
  writeEnabled: true,
  readEnabled: true,
  listEnabled: true,
};

export const UNAUTHORIZED_MESSAGE =
  'authentication required, visit https://aka.ms/acr/authorization for more information.';
export const DENIED_MESSAGE = 'The operation is disallowed on this registry, repository or image.';
export const REPOSITORY_NAME =
  /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export function sendAcrError(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(response, status, { errors: [{ code, message, detail: null }] }, headers);
}

export function isDigest(reference: string): boolean {
  return /^sha256:[0-9a-f]{64}$/.test(reference);
}

export interface ParsedManifest {
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly config?: { readonly mediaType?: string; readonly digest: string; readonly size: number };
  readonly layers?: readonly { readonly digest: string; readonly size: number }[];
  readonly manifests?: readonly {
    readonly mediaType?: string;
    readonly digest: string;
    readonly size: number;
    readonly platform?: { readonly architecture?: string; readonly os?: string };
  }[];
  readonly subject?: { readonly digest: string };
  readonly annotations?: Readonly<Record<string, string>>;
}

export function parseManifest(content: Buffer): ParsedManifest | undefined {
  try {
    return JSON.parse(content.toString('utf8')) as ParsedManifest;
  } catch {
    return undefined;
  }
}

export async function drain(request: IncomingMessage): Promise<void> {
  for await (const chunk of request) void chunk;
}

function attributeKey(registry: SandboxRegistry, repository: string, reference?: string): string {
  return `${registry.name}/${repository}${reference === undefined ? '' : isDigest(reference) ? `@${reference}` : `:${reference}`}`;
}

/** The registries and their grants and attributes, shared by the token service, the front, the metadata API and ARM. */
export class AcrState {
  readonly registries = new Map<string, SandboxRegistry>();
  readonly requests: AcrRequestRecord[] = [];
  readonly closers: (() => Promise<void>)[] = [];
  private readonly grants = new Map<SandboxRegistry, Map<string, Set<AcrPermission>>>();
  private readonly attributeTable = new Map<string, ChangeableAttributes>();
  /** Kept-alive connections to the real registries. */
  readonly agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

  constructor(
    readonly base: SandboxBase,
    readonly arm: ArmServer | undefined,
  ) {}

  async createRegistry(spec: AcrRegistrySpec): Promise<SandboxRegistry> {
    const name = spec.name.toLowerCase();
    if (!/^[a-z0-9]{5,50}$/.test(name))
      throw new Error(`invalid registry name '${spec.name}' (5-50 letters and digits)`);
    const directory = path.join(this.base.directory, 'acr', name);
    fs.mkdirSync(directory, { recursive: true });
    const backend = await startRegistry(directory);
    this.closers.push(() => backend.close());
    const resourceGroup = spec.resourceGroup ?? 'rg-registries';
    this.arm?.resourceGroups.add(resourceGroup);
    return {
      name,
      loginServer: `${name}.${ACR_LOGIN_SUFFIX}`,
      id: `/subscriptions/${this.base.subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${name}`,
      resourceGroup,
      location: spec.location ?? 'westeurope',
      sku: spec.sku ?? 'Premium',
      adminPassword: spec.adminPassword,
      anonymousPullEnabled: spec.anonymousPullEnabled === true,
      tags: spec.tags ?? {},
      createdOn: new Date(),
      backend,
      referrersApi: spec.referrersApi === true,
      referrersPageSize: undefined,
    };
  }

  registryNamed(name: string): SandboxRegistry {
    const found = this.registries.get(name.toLowerCase().replace(`.${ACR_LOGIN_SUFFIX}`, ''));
    if (found === undefined) throw new Error(`no sandbox registry named ${name}`);
    return found;
  }

  grantsOf(registry: SandboxRegistry): Map<string, Set<AcrPermission>> {
    let table = this.grants.get(registry);
    if (table === undefined) {
      table = new Map();
      this.grants.set(registry, table);
    }
    return table;
  }

  permissionsOf(registry: SandboxRegistry, ids: readonly string[]): Set<AcrPermission> {
    const table = this.grantsOf(registry);
    return new Set(ids.flatMap((id) => [...(table.get(id.toLowerCase()) ?? [])]));
  }

  attributesOf(registry: SandboxRegistry, repository: string, reference?: string): ChangeableAttributes {
    return {
      ...(this.attributeTable.get(attributeKey(registry, repository, reference)) ?? DEFAULT_ATTRIBUTES),
    };
  }

  setAttributes(
    registry: SandboxRegistry,
    repository: string,
    reference: string | undefined,
    changes: Partial<ChangeableAttributes>,
  ): ChangeableAttributes {
    const merged = { ...this.attributesOf(registry, repository, reference) };
    for (const name of ['deleteEnabled', 'writeEnabled', 'readEnabled', 'listEnabled'] as const) {
      const value = changes[name];
      if (typeof value === 'boolean') merged[name] = value;
    }
    this.attributeTable.set(attributeKey(registry, repository, reference), merged);
    return merged;
  }

  forgetAttributes(registry: SandboxRegistry, repository: string, reference: string): void {
    this.attributeTable.delete(attributeKey(registry, repository, reference));
  }

  async close(): Promise<void> {
    const closers = this.closers.splice(0);
    await Promise.all(closers.map((close) => close()));
    this.agent.destroy();
  }
}
