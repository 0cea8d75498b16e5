import type { ArmProvider } from '../arm';
import type { SandboxBase } from '../base';
import { startHttpsServer } from '../httpsServer';
import type { SandboxService, ServiceOptions } from '../service';
import { AcrArmProvider } from './armImport';
import { AcrFront } from './front';
import type { RegistryEndpoint } from './registry';
import {
  AcrState,
  type AcrRegistrySpec,
  type AcrPermission,
  type AcrRoute,
  type AcrRequestRecord,
  type ChangeableAttributes,
  type ImportRecord,
  type SandboxRegistry,
} from './state';
import { AcrTokenService } from './tokens';

// The parts, a file each: state.ts (registries, grants, attributes, request log), tokens.ts (the
// token service), front.ts (the authenticating front), metadata.ts (`/acr/v1` and its locks),
// referrers.ts, armImport.ts (ARM and importImage).
export {
  ACR_AAD_AUDIENCES,
  ACR_LOGIN_SUFFIX,
  ACR_REFRESH_TOKEN_USERNAME,
  type AcrPermission,
  type AcrRegistrySpec,
  type AcrRequestRecord,
  type AcrRoute,
  type ChangeableAttributes,
  type ImportRecord,
  type SandboxRegistry,
} from './state';

export interface AcrSandbox extends SandboxService {
  /** The HTTPS front's port; every `<name>.azurecr.io` is routed there. */
  readonly port: number;
  readonly registries: ReadonlyMap<string, SandboxRegistry>;
  /** The registry of that name; throws when there is none. */
  registry(name: string): SandboxRegistry;
  /** Gives an Entra principal (appid or object id) data-plane rights on a registry (replaces earlier grants). */
  grant(registry: string, principalId: string, permissions: readonly AcrPermission[]): void;
  revoke(registry: string, principalId: string): void;
  /** Attributes of a tag, manifest (`sha256:…`) or repository (reference omitted), with defaults. */
  attributes(registry: string, repository: string, reference?: string): ChangeableAttributes;
  setAttributes(
    registry: string,
    repository: string,
    reference: string | undefined,
    changes: Partial<ChangeableAttributes>,
  ): void;
  /** An ACR refresh token for a principal, as `/oauth2/exchange` would return it. */
  issueRefreshToken(registry: string, principalId: string): string;
  /**
   * The front for one registry with a token that may do anything: for fixtures (images.ts). Its
   * requests are recorded with principal `sandbox-owner`.
   */
  ownerEndpoint(registry: string): RegistryEndpoint;
  /** Every request the front received, in order. */
  readonly requests: readonly AcrRequestRecord[];
  /** How many requests matched; `registry` narrows to one registry. */
  requestCount(method: string, route: AcrRoute, registry?: string): number;
  readonly imports: readonly ImportRecord[];
  /** Microsoft.ContainerRegistry routes; already added to the ARM server given in options. */
  readonly armProvider: ArmProvider;
  close(): Promise<void>;
}

export interface AcrOptions extends Pick<ServiceOptions, 'arm'> {
  /** Registries by name (`contosoprod` answers `contosoprod.azurecr.io`), or with their settings. */
  readonly registries: readonly (string | AcrRegistrySpec)[];
}

/**
 * Azure Container Registry: per registry a real docker-registry behind one HTTPS front that answers
 * `<name>.azurecr.io` (routed on the proxy) with ACR's token auth, ACR's `/acr/v1` metadata API and
 * tag locks, an optional referrers API, plus the ARM side (list, get, importImage).
 */
export async function startAcr(base: SandboxBase, options: AcrOptions): Promise<AcrSandbox> {
  const specs = options.registries.map((r) => (typeof r === 'string' ? { name: r } : r));
  const state = new AcrState(base, options.arm);
  const tokens = new AcrTokenService(state);
  const front = new AcrFront(state, tokens);
  const arm = new AcrArmProvider(state);
  const close = async (): Promise<void> => {
    await arm.settle();
    await state.close();
  };
  try {
    const names = specs.map((spec) => spec.name.toLowerCase());
    const duplicate = names.find((name, index) => names.indexOf(name) !== index);
    if (duplicate !== undefined) throw new Error(`registry ${duplicate} is named twice`);
    // Start the real registries side by side (~0.1 s each), keep the order given.
    const started = await Promise.allSettled(specs.map((spec) => state.createRegistry(spec)));
    for (const result of started) {
      if (result.status === 'rejected') throw result.reason;
      state.registries.set(result.value.name, result.value);
    }
    const server = await startHttpsServer(base.serverTls, (request, response) =>
      front.handle(request, response),
    );
    state.closers.push(() => server.close());
    const routes = [...state.registries.values()].map((registry) => registry.loginServer);
    for (const host of routes) base.proxy.route(host, server.port);
    const armProvider: ArmProvider = (call) => arm.handle(call);
    options.arm?.addProvider(armProvider);
    return {
      port: server.port,
      urls: [server.url],
      routes,
      registries: state.registries,
      registry: (name) => state.registryNamed(name),
      grant: (registry, principalId, permissions) =>
        void state
          .grantsOf(state.registryNamed(registry))
          .set(principalId.toLowerCase(), new Set(permissions)),
      revoke: (registry, principalId) =>
        void state.grantsOf(state.registryNamed(registry)).delete(principalId.toLowerCase()),
      attributes: (registry, repository, reference) =>
        state.attributesOf(state.registryNamed(registry), repository, reference),
      setAttributes: (registry, repository, reference, changes) =>
        state.setAttributes(state.registryNamed(registry), repository, reference, changes),
      issueRefreshToken: (registry, principalId) =>
        tokens.refreshToken(state.registryNamed(registry), {
          sub: principalId.toLowerCase(),
          ids: [principalId.toLowerCase()],
        }),
      ownerEndpoint: (registry) => {
        const found = state.registryNamed(registry);
        return {
          port: server.port,
          host: found.loginServer,
          tls: { ca: base.ca.root.certificate, servername: found.loginServer },
          authorization: `Bearer ${tokens.ownerToken(found)}`,
        };
      },
      requests: state.requests,
      requestCount: (method, route, registry) =>
        state.requests.filter(
          (r) =>
            r.method === method && r.route === route && (registry === undefined || r.registry === registry),
        ).length,
      imports: arm.imports,
      armProvider,
      close,
    };
  } catch (error: unknown) {
    await close();
    throw error;
  }
}
