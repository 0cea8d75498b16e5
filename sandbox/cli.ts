// npm run sandbox: starts every Azure stand-in, seeds a service principal, a vault and an AKS
// cluster, and prints what scripts/run-task needs to use them. Ctrl-C stops it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startSandbox } from './index';

const CLIENT_ID = '11111111-2222-4333-8444-555555555555';
const CLIENT_SECRET = 'sandbox-client-secret';

async function main(): Promise<void> {
  const started = performance.now();
  const sandbox = await startSandbox();
  const startupMs = performance.now() - started;
  const { base, entra, keyVault, aks } = sandbox;

  entra.registerServicePrincipal({ clientId: CLIENT_ID, secret: CLIENT_SECRET });
  keyVault.createVault('contoso-kv', { model: 'rbac', allowedPrincipals: [CLIENT_ID] });
  keyVault.setSecret('contoso-kv', 'db-password', 'sandbox-db-password');
  keyVault.setSecret('contoso-kv', 'api-key', 'sandbox-api-key');
  const cluster = await aks.createCluster({ resourceGroup: 'rg-staging', name: 'aks-staging' });

  const endpointFile = path.join(base.directory, 'azure-connection.json');
  fs.writeFileSync(
    endpointFile,
    JSON.stringify(
      {
        url: 'https://management.azure.com/',
        scheme: 'ServicePrincipal',
        auth: {
          tenantid: base.tenantId,
          serviceprincipalid: CLIENT_ID,
          serviceprincipalkey: CLIENT_SECRET,
          authenticationType: 'spnKey',
        },
        data: { environment: 'AzureCloud', subscriptionId: base.subscriptionId },
      },
      null,
      2,
    ),
  );
  const kubeconfigFile = path.join(base.directory, 'kubeconfig');
  fs.writeFileSync(kubeconfigFile, cluster.kubeconfig());

  const exports = Object.entries(sandbox.environment)
    .filter(([key]) => key === key.toUpperCase())
    .map(([key, value]) => `export ${key}=${value}`)
    .join('\n');
  console.log(`Sandbox up in ${startupMs.toFixed(0)} ms.

In another shell:
${exports}
scripts/run-task fetch-keyvault-secrets --endpoint conn=${endpointFile} \\
  --input azureSubscription=conn --input keyVaultName=contoso-kv --input secrets='*'

Seeded: service principal ${CLIENT_ID}; vault contoso-kv (db-password, api-key);
AKS cluster rg-staging/aks-staging (kubeconfig: ${kubeconfigFile}; kubectl needs HTTPS_PROXY);
registries contosononprod.azurecr.io and contosoprod.azurecr.io (real docker-registry behind ACR's auth).
Ctrl-C stops the sandbox.`);

  const stop = (): void => {
    void sandbox.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
