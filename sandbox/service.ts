import type { ArmProvider, ArmServer } from './arm';
import type { FaultPlan } from './faults';
import type { ListenAddress } from './httpsServer';

/**
 * The one shape of a sandbox service: `startX(base, options)` starts its server(s), routes its
 * host names on the base's proxy, adds its ARM provider to `options.arm` when it has one, and
 * returns this handle (plus the service's own controls: vaults, registries, clusters, …).
 */
export interface SandboxService {
  /** `https://127.0.0.1:<port>` of each of its servers, for clients that bypass the proxy. */
  readonly urls: readonly string[];
  /** Host names (or `*.suffix` patterns) it routed to itself on the sandbox proxy. */
  readonly routes: readonly string[];
  /** Its resource provider's ARM routes; already added to `options.arm` when one was given. */
  readonly armProvider?: ArmProvider;
  /** Every request it answered, in order. */
  readonly requests: readonly unknown[];
  close(): Promise<void>;
}

/** What a service's start takes besides the base; each service reads the parts it uses. */
export interface ServiceOptions {
  /** The ARM server to add the service's resource provider to. */
  readonly arm?: ArmServer;
  /** Faults applied to the service's requests. */
  readonly faults?: FaultPlan;
  /** A fixed address instead of an ephemeral loopback port (the Key Vault bench connects directly). */
  readonly listen?: ListenAddress;
}
