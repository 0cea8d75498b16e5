// What the integration tests, the fault campaign and the bench of the bundled PromoteImage task
// share: a sandbox (Entra ID, ARM, two ACRs behind the token exchange, an anonymous registry, a
// fault front before every registry), one AzureRM connection allowed to pull and push on both, and
// a run that fails the test when a credential reaches the log or the task reports more or less
// than one result.
import * as assert from 'node:assert/strict';
import { runTaskAsAgent, type TaskRun, type TaskRunOptions } from '../../scripts/agent';
import type { EndpointDefinition } from '../../scripts/agentEnvironment';
import {
  startSandbox,
  type AcrSandbox,
  type FaultPlan,
  type RealRegistry,
  type Sandbox,
  type SandboxBase,
} from '../../sandbox';
import { pushImage, pushImageTo, type PushImageOptions, type PushedImage } from '../../sandbox/acr/images';
import { getManifest, type RegistryEndpoint } from '../../sandbox/acr/registry';
import { findLeaks } from '../support/leaks';

export const NONPROD = 'contosononprod';
export const PROD = 'contosoprod';
/** A registry without any auth (a real docker-registry behind TLS): the task goes anonymous there. */
export const ANONYMOUS_REGISTRY = 'registry.contoso.example';
export const CONNECTION = '3e7b0c4d-2a1f-4b8e-9c6d-5f4a3b2c1d0e';
export const PROMOTER = {
  clientId: 'b2c3d4e5-0000-4000-8000-0000000000b1',
  secret: 'promoter-Secret~Value.7',
};

export function loginServer(registry: string): string {
  return registry.includes('.') ? registry : `${registry}.azurecr.io`;
}

export interface PromoteHarness {
  readonly sandbox: Sandbox;
  readonly base: SandboxBase;
  readonly acr: AcrSandbox;
  /** Faults of every registry request (ACR and anonymous), as the task sends them. */
  readonly faults: FaultPlan;
  /** Values no output line may show. */
  readonly secretValues: Set<string>;
  readonly connection: EndpointDefinition;
  /** Where a fixture is pushed to or read from with every right (the owner token, or no auth). */
  endpoint(registry: string): RegistryEndpoint;
  push(registry: string, repository: string, options?: PushImageOptions): Promise<PushedImage>;
  /** The digest a tag or digest resolves to in a registry, read with the owner's rights; undefined when absent. */
  digestAt(registry: string, repository: string, reference: string): Promise<string | undefined>;
  /**
   * Runs the bundled task with the connection on both sides (`inputs` adds to and overrides the
   * defaults: NONPROD → PROD) and checks no credential leaked and exactly one task.complete.
   */
  run(inputs: Record<string, string>, extra?: Partial<TaskRunOptions>): Promise<TaskRun>;
  /** The same run without the checks, for a judge that reports rather than throws. */
  runUnchecked(inputs: Record<string, string>, extra?: Partial<TaskRunOptions>): Promise<TaskRun>;
  close(): Promise<void>;
}

export interface PromoteHarnessOptions {
  /** Seeds the registry fault plan; default 7. */
  readonly faultSeed?: number;
  /**
   * The anonymous registry and a fault front before every registry (default true). The bench
   * turns them off: the front costs a TLS hop per request, and it measures copies, not faults.
   */
  readonly faultFront?: boolean;
}

export async function startPromoteHarness(options: PromoteHarnessOptions = {}): Promise<PromoteHarness> {
  const faultFront = options.faultFront ?? true;
  const sandbox = await startSandbox({
    services: ['entra', 'arm', 'acr'],
    registries: { acr: [NONPROD, PROD], anonymous: faultFront ? [ANONYMOUS_REGISTRY] : [] },
    faults: { seed: options.faultSeed ?? 7, registries: faultFront },
  });
  const { base, acr } = sandbox;
  try {
    sandbox.entra.registerServicePrincipal(PROMOTER);
    for (const registry of [NONPROD, PROD]) acr.grant(registry, PROMOTER.clientId, ['pull', 'push']);
  } catch (error: unknown) {
    await sandbox.close();
    throw error;
  }
  const anonymousRegistry = sandbox.anonymousRegistries.get(ANONYMOUS_REGISTRY);
  const anonymous = (): RealRegistry => {
    if (anonymousRegistry === undefined) throw new Error('this harness has no anonymous registry');
    return anonymousRegistry;
  };
  const secretValues = new Set<string>([PROMOTER.secret]);
  const connection: EndpointDefinition = {
    url: 'https://management.azure.com/',
    scheme: 'ServicePrincipal',
    auth: {
      tenantid: base.tenantId,
      serviceprincipalid: PROMOTER.clientId,
      serviceprincipalkey: PROMOTER.secret,
      authenticationType: 'spnKey',
    },
    data: { environment: 'AzureCloud', subscriptionId: base.subscriptionId },
  };
  const endpoint = (registry: string): RegistryEndpoint =>
    registry === ANONYMOUS_REGISTRY ? anonymous().endpoint : acr.ownerEndpoint(registry);

  const runUnchecked = async (
    inputs: Record<string, string>,
    extra: Partial<TaskRunOptions> = {},
  ): Promise<TaskRun> => {
    const run = await runTaskAsAgent({
      task: 'promote-image',
      inputs: {
        sourceAzureSubscription: CONNECTION,
        sourceRegistry: loginServer(NONPROD),
        targetRegistry: loginServer(PROD),
        ...inputs,
      },
      endpoints: { [CONNECTION]: connection },
      ...extra,
      env: { ...base.clientEnvironment, ...(extra.env ?? {}) },
    });
    lastRun = run;
    return run;
  };

  return {
    sandbox,
    base,
    acr,
    faults: sandbox.faults.registries,
    secretValues,
    connection,
    endpoint,
    push: (registry, repository, options = {}) =>
      registry === ANONYMOUS_REGISTRY
        ? pushImageTo(anonymous().endpoint, repository, options)
        : pushImage(acr, registry, repository, options),
    digestAt: async (registry, repository, reference) =>
      (await getManifest(endpoint(registry), repository, reference))?.digest,
    runUnchecked,
    run: async (inputs, extra = {}) => {
      const run = await runUnchecked(inputs, extra);
      assert.deepEqual(findLeaks(run.stdout + run.stderr, [...secretValues]), [], 'no credential in the log');
      assert.equal(
        run.commands.filter((c) => c.command === 'task.complete').length,
        1,
        'exactly one task.complete',
      );
      return run;
    },
    close: () => sandbox.close(),
  };
}

let lastRun: TaskRun | undefined;

/** The last run of any harness, once: for an afterEach that shows what the task printed when a test failed. */
export function takeLastPromoteRun(): TaskRun | undefined {
  const run = lastRun;
  lastRun = undefined;
  return run;
}
