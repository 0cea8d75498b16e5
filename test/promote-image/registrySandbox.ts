import type { Dispatcher } from 'undici';
import { undiciDispatcher } from '../../tasks/common/undiciDispatcher';
import type { RegistryCredentials } from '../../tasks/promote-image/registryAuth';
import {
  startSandbox,
  type AcrRegistrySpec,
  type AcrSandbox,
  type FaultPlan,
  type RealRegistry,
  type SandboxBase,
} from '../../sandbox';
import type { RegistryEndpoint } from '../../sandbox/acr/registry';

/** A registry that asks for no credentials at all (docker-registry without auth, behind TLS). */
export const PLAIN_REGISTRY = 'registry.contoso.example';

export interface Principal {
  readonly appid: string;
  readonly oid: string;
}

/**
 * What the promotion tests need, and no more: the sandbox's ACR with the registries asked for, an
 * anonymous registry, and registry faults (startSandbox puts every registry host behind a fault
 * front from the start, so `faults` reaches what the product's client sends).
 */
export interface PromoteSandbox {
  readonly base: SandboxBase;
  readonly acr: AcrSandbox;
  readonly plain: RealRegistry;
  readonly faults: FaultPlan;
  /** Requests as they reach the fault front: `METHOD host path`. */
  readonly frontRequests: readonly string[];
  /** The task's own undici adapter, pointed at the sandbox proxy and CA. */
  readonly dispatcher: Dispatcher;
  /** Credentials that exchange a sandbox-minted Entra ID token for `principal`. */
  credentials(principal: Principal): RegistryCredentials;
  /** Pushes to the plain registry go straight to it (no TLS, no auth). */
  readonly plainEndpoint: RegistryEndpoint;
  close(): Promise<void>;
}

export async function startPromoteSandbox(
  registries: readonly (string | AcrRegistrySpec)[],
): Promise<PromoteSandbox> {
  const sandbox = await startSandbox({
    services: ['acr'],
    registries: { acr: registries, anonymous: [PLAIN_REGISTRY] },
    faults: { seed: 7, registries: true },
  });
  const { base } = sandbox;
  const plain = sandbox.anonymousRegistries.get(PLAIN_REGISTRY)!;
  const dispatcher = undiciDispatcher({
    proxy: { url: base.proxy.url, username: undefined, password: undefined, bypass: [] },
    caFile: base.ca.root.certificatePath,
  });
  return {
    base,
    acr: sandbox.acr,
    plain,
    faults: sandbox.faults.registries,
    frontRequests: sandbox.registryFrontRequests,
    dispatcher,
    credentials: (principal) => ({
      tenantId: base.tenantId,
      entraAccessToken: (scope) =>
        Promise.resolve(
          base.tokens.mint({ aud: scope.replace(/\/\.default$/, ''), tid: base.tenantId, ...principal }),
        ),
    }),
    plainEndpoint: plain.endpoint,
    close: async () => {
      await dispatcher.close();
      await sandbox.close();
    },
  };
}
