// What the integration tests of the bundled FetchKeyVaultSecrets task share: a sandbox (Entra ID and
// Key Vault behind the CONNECT proxy, Key Vault with a fault plan), a service principal connection,
// and a run that fails the test when any output line shows a secret.
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { runTaskAsAgent, type TaskRun, type TaskRunOptions } from '../../scripts/agent';
import type { EndpointDefinition } from '../../scripts/agentEnvironment';
import {
  startSandbox,
  type EntraServer,
  type FaultPlan,
  type KeyVaultServer,
  type SandboxBase,
} from '../../sandbox';
import { findLeaks } from '../support/leaks';

export const CONNECTION = '5d0c3b1e-6f7a-4e8b-9c0d-1e2f3a4b5c6d';
/** The principal of the default connection; every vault a harness creates should admit it. */
export const SECRET_SP = { clientId: 'a1b2c3d4-0000-4000-8000-000000000001', secret: 'sp-Secret~Value.1' };

/** Distinctive values, so a leak scan cannot match ordinary log text. */
export function randomValue(): string {
  return `v-${crypto.randomBytes(12).toString('base64url')}`;
}

export interface KeyVaultHarness {
  readonly base: SandboxBase;
  readonly entra: EntraServer;
  readonly keyVault: KeyVaultServer;
  /** Faults of the Key Vault data plane. */
  readonly faults: FaultPlan;
  /** Every value no output line may show: add a test's own secrets and credentials. */
  readonly secretValues: Set<string>;
  /** An AzureRM connection in the sandbox tenant with these authorization parameters. */
  servicePrincipal(auth: Record<string, string>, scheme?: string): EndpointDefinition;
  /**
   * Runs the bundled task against `vault` with the default connection, the sandbox's proxy and CA
   * (`extra.env` adds to them), and asserts that no line of its output shows a secret.
   */
  run(vault: string, inputs: Record<string, string>, extra?: Partial<TaskRunOptions>): Promise<TaskRun>;
  close(): Promise<void>;
}

export async function startKeyVaultHarness(faultSeed: number): Promise<KeyVaultHarness> {
  const sandbox = await startSandbox({ services: ['entra', 'keyvault'], faults: { seed: faultSeed } });
  const { base, entra, keyVault } = sandbox;
  const faults = sandbox.faults.keyvault;
  entra.registerServicePrincipal(SECRET_SP);
  const secretValues = new Set<string>([SECRET_SP.secret]);

  const servicePrincipal = (
    auth: Record<string, string>,
    scheme = 'ServicePrincipal',
  ): EndpointDefinition => ({
    url: 'https://management.azure.com/',
    scheme,
    auth: { tenantid: base.tenantId, ...auth },
    data: { environment: 'AzureCloud', subscriptionId: base.subscriptionId },
  });

  const run = async (
    vault: string,
    inputs: Record<string, string>,
    extra: Partial<TaskRunOptions> = {},
  ): Promise<TaskRun> => {
    const result = await runTaskAsAgent({
      task: 'fetch-keyvault-secrets',
      inputs: { azureSubscription: CONNECTION, keyVaultName: vault, ...inputs },
      endpoints: {
        [CONNECTION]: servicePrincipal({
          serviceprincipalid: SECRET_SP.clientId,
          serviceprincipalkey: SECRET_SP.secret,
          authenticationType: 'spnKey',
        }),
      },
      ...extra,
      env: { ...base.clientEnvironment, ...(extra.env ?? {}) },
    });
    assert.deepEqual(
      findLeaks(result.stdout + result.stderr, [...secretValues]),
      [],
      'no secret value reaches the log',
    );
    return result;
  };

  return {
    base,
    entra,
    keyVault,
    faults,
    secretValues,
    servicePrincipal,
    run,
    close: () => sandbox.close(),
  };
}
