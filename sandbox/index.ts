import * as path from 'node:path';
import { startAcr, type AcrRegistrySpec, type AcrSandbox } from './acr';
import { startRegistry, type RealRegistry } from './acr/registry';
import { startArm, type ArmServer } from './arm';
import { startBase, type SandboxBase } from './base';
import { startEntra, type EntraServer } from './entra';
import { FaultPlan, type FaultMatch } from './faults';
import { startFaultFront, type FaultFront, type FrontUpstream } from './faults/front';
import type { ListenAddress } from './httpsServer';
import { startKeyVault, type KeyVaultServer } from './keyvault';
import { startAks, type AksSandbox } from './kubernetes/aks';
import { startKubectlDownloads, type KubectlDownloads } from './kubernetes/kubectlDownloads';

export { KEY_VAULT_MAX_PAGE_SIZE } from './keyvault';
export { ENTRA_HOST } from './entra';
export { mulberry32, type FaultKind, type FaultPlan, type FaultRule } from './faults';
export type { ActiveRefusal, ProxyRefusal } from './proxy';
export { trustCertificateAuthority } from './tls/trust';
export type { SandboxBase, EntraServer, KeyVaultServer, ArmServer, AksSandbox, AcrSandbox, KubectlDownloads };
export type { AcrRegistrySpec, RealRegistry };

/** The services startSandbox can start; `arm` is where the others' resource providers live. */
export type ServiceName = 'entra' | 'arm' | 'keyvault' | 'acr' | 'aks' | 'kubectlDownloads';
export const ALL_SERVICES: readonly ServiceName[] = [
  'entra',
  'arm',
  'keyvault',
  'acr',
  'aks',
  'kubectlDownloads',
];

/** The services whose requests can meet faults and added latency, each with a FaultPlan of its own. */
export type FaultedService = 'entra' | 'keyvault' | 'registries';

export interface SandboxOptions {
  /** Which services to start (default: every one). */
  readonly services?: readonly ServiceName[];
  readonly faults?: {
    /** Seeds each plan's random draws (every plan has its own generator). Default 1. */
    readonly seed?: number;
    /**
     * Put the registries (ACR and anonymous ones) behind a fault front, so `faults.registries`
     * reaches them. Off by default: it costs a TLS hop per registry request.
     */
    readonly registries?: boolean;
  };
  /** Milliseconds added to a service's requests (those `match` selects, else every one). */
  readonly latency?: Partial<Record<FaultedService, { readonly ms: number; readonly match?: FaultMatch }>>;
  readonly registries?: {
    /** ACR registries (default `contosononprod`, `contosoprod`). */
    readonly acr?: readonly (string | AcrRegistrySpec)[];
    /** Host names of registries without any auth (a real docker-registry behind TLS). */
    readonly anonymous?: readonly string[];
  };
  /** Fixed addresses for services a bench reaches directly, without the proxy. */
  readonly listen?: Partial<Record<'entra' | 'keyvault', ListenAddress>>;
}

/** The Azure stand-ins asked for, started together and routed on one proxy under the real host names. */
export interface Sandbox {
  readonly base: SandboxBase;
  /** Each service throws when read if startSandbox was not asked for it. */
  readonly entra: EntraServer;
  readonly arm: ArmServer;
  readonly keyVault: KeyVaultServer;
  readonly aks: AksSandbox;
  /** Real registries behind ACR's auth (`contosononprod.azurecr.io`, `contosoprod.azurecr.io` by default). */
  readonly acr: AcrSandbox;
  readonly kubectlDownloads: KubectlDownloads;
  /** The anonymous registries by host name. */
  readonly anonymousRegistries: ReadonlyMap<string, RealRegistry>;
  /** One plan per faulted service; `clear()` them between tests. */
  readonly faults: Readonly<Record<FaultedService, FaultPlan>>;
  /** Requests as they reached the registries' fault front (`METHOD host path`); empty without it. */
  readonly registryFrontRequests: readonly string[];
  /** What a task process needs to reach the sandbox (proxy, CA). */
  readonly environment: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

const DEFAULT_ACR_REGISTRIES = ['contosononprod', 'contosoprod'];

/** The one place that wires the sandbox's services together. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const wanted = new Set(options.services ?? ALL_SERVICES);
  const seed = options.faults?.seed ?? 1;
  const faults: Record<FaultedService, FaultPlan> = {
    entra: new FaultPlan(seed),
    keyvault: new FaultPlan(seed),
    registries: new FaultPlan(seed),
  };
  for (const [service, latency] of Object.entries(options.latency ?? {}) as [
    FaultedService,
    { ms: number; match?: FaultMatch },
  ][])
    faults[service].add({ match: latency.match ?? (() => true), latencyMs: latency.ms });

  const base = await startBase();
  const closers: (() => Promise<void>)[] = [];
  const started = async <T extends { close(): Promise<void> }>(service: Promise<T>): Promise<T> => {
    const handle = await service;
    closers.push(() => handle.close());
    return handle;
  };
  const close = async (): Promise<void> => {
    await Promise.all(closers.map((closeOne) => closeOne()));
    await base.close();
  };
  try {
    const arm = wanted.has('arm') ? await started(startArm(base)) : undefined;
    const [entra, keyVault, aks, acr, kubectlDownloads] = await Promise.all([
      wanted.has('entra')
        ? started(startEntra(base, { faults: faults.entra, ...listenOf(options, 'entra') }))
        : undefined,
      wanted.has('keyvault')
        ? started(startKeyVault(base, { faults: faults.keyvault, arm, ...listenOf(options, 'keyvault') }))
        : undefined,
      wanted.has('aks') ? started(startAks(base, { arm })) : undefined,
      wanted.has('acr')
        ? started(startAcr(base, { registries: options.registries?.acr ?? DEFAULT_ACR_REGISTRIES, arm }))
        : undefined,
      wanted.has('kubectlDownloads') ? started(startKubectlDownloads(base)) : undefined,
    ]);
    const anonymousRegistries = new Map<string, RealRegistry>();
    for (const host of options.registries?.anonymous ?? [])
      anonymousRegistries.set(host, await started(startRegistry(path.join(base.directory, host))));
    let front: FaultFront | undefined;
    if (options.faults?.registries === true || anonymousRegistries.size > 0) {
      const upstreams = new Map<string, FrontUpstream>();
      for (const host of acr?.routes ?? []) upstreams.set(host, { port: acr!.port, tls: true });
      for (const [host, registry] of anonymousRegistries)
        upstreams.set(host, { port: registry.port, tls: false });
      front = await started(startFaultFront(base, { upstreams, faults: faults.registries }));
    }
    const need = <T>(service: T | undefined, name: ServiceName): T => {
      if (service === undefined) throw new Error(`startSandbox was not asked for ${name}`);
      return service;
    };
    return {
      base,
      get entra() {
        return need(entra, 'entra');
      },
      get arm() {
        return need(arm, 'arm');
      },
      get keyVault() {
        return need(keyVault, 'keyvault');
      },
      get aks() {
        return need(aks, 'aks');
      },
      get acr() {
        return need(acr, 'acr');
      },
      get kubectlDownloads() {
        return need(kubectlDownloads, 'kubectlDownloads');
      },
      anonymousRegistries,
      faults,
      registryFrontRequests: front?.requests ?? [],
      environment: base.clientEnvironment,
      close,
    };
  } catch (error: unknown) {
    await close();
    throw error;
  }
}

function listenOf(options: SandboxOptions, service: 'entra' | 'keyvault'): { listen?: ListenAddress } {
  const listen = options.listen?.[service];
  return listen === undefined ? {} : { listen };
}
