import { startAcr, type AcrSandbox } from './acr';
import { startAks, type AksSandbox } from './kubernetes/aks';
import { startArm, type ArmServer } from './arm';
import { startBase, type SandboxBase } from './base';
import { startEntra, type EntraServer } from './entra';
import { FaultPlan } from './faults';
import { startKeyVault, type KeyVaultServer } from './keyvault';
import { startKubectlDownloads, type KubectlDownloads } from './kubernetes/kubectlDownloads';

/** Every Azure stand-in, started together and routed on one proxy under the real host names. */
export interface Sandbox {
  readonly base: SandboxBase;
  readonly entra: EntraServer;
  readonly arm: ArmServer;
  readonly keyVault: KeyVaultServer;
  readonly aks: AksSandbox;
  /** Two real registries behind ACR's auth: `contosononprod.azurecr.io` and `contosoprod.azurecr.io`. */
  readonly acr: AcrSandbox;
  readonly downloads: KubectlDownloads;
  /** Faults for Entra ID and Key Vault requests; cleared by `clear()`. */
  readonly faults: FaultPlan;
  /** What a task process needs to reach the sandbox (proxy, CA). */
  readonly environment: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

export async function startSandbox(options: { faultSeed?: number } = {}): Promise<Sandbox> {
  const base = await startBase();
  const faults = new FaultPlan(options.faultSeed ?? 1);
  const closers: (() => Promise<void>)[] = [];
  try {
    const [entra, keyVault, arm, downloads] = await Promise.all([
      startEntra(base, { faults }),
      startKeyVault(base, { faults }),
      startArm(base.serverTls, base.tokens, base.subscriptionId),
      startKubectlDownloads(base),
    ]);
    closers.push(
      () => entra.close(),
      () => keyVault.close(),
      () => arm.close(),
      () => downloads.close(),
    );
    base.proxy.route('management.azure.com', arm.port);
    arm.addProvider(keyVault.armProvider);
    const [aks, acr] = await Promise.all([
      startAks(base, arm),
      startAcr(base, ['contosononprod', 'contosoprod'], { arm }),
    ]);
    closers.push(
      () => aks.close(),
      () => acr.close(),
    );
    return {
      base,
      entra,
      arm,
      keyVault,
      aks,
      acr,
      downloads,
      faults,
      environment: base.clientEnvironment,
      close: async () => {
        await Promise.all(closers.map((close) => close()));
        await base.close();
      },
    };
  } catch (error: unknown) {
    await Promise.all(closers.map((close) => close()));
    await base.close();
    throw error;
  }
}
