import * as tl from 'azure-pipelines-task-lib/task';
import { userError } from '../messages';
import { registerSecret } from '../secrets';
import {
  kubeconfigSecrets,
  parseKubeconfig,
  serviceAccountKubeconfig,
  useContext,
  type Kubeconfig,
  type KubeconfigSource,
} from './kubeconfig';

/**
 * The kubeconfig of a Kubernetes service connection, read as KubernetesManifest@1 reads it
 * (azure-pipelines-tasks, kubernetes-common `kubectlutility.ts`):
 * - `Kubeconfig` (or none): authorization parameter `kubeconfig`, and `clusterContext` to pick a context;
 * - `ServiceAccount` and `AzureSubscription`: the endpoint URL as the server, `apiToken` (base64 of the
 *   token) and `serviceAccountCertificate` (base64 of the CA's PEM). For an Azure Subscription
 *   connection Azure DevOps creates a service account when the connection is saved and keeps its
 *   token here; the connection carries no Azure credential of its own to call ARM with.
 * Data parameter `acceptUntrustedCerts` is honoured as the Kubernetes tasks do; `namespace` becomes the
 * context's namespace, which no command of ours relies on: DeployAksTemplate places every object by its
 * `namespace` input (DESIGN.md), and RunAcceptanceTests' `kubernetesService` names its namespace.
 */
export function serviceConnectionKubeconfig(endpointId: string, authorizationType: string): Kubeconfig {
  const source: KubeconfigSource = { input: 'kubernetesServiceConnection', value: endpointId };
  // The whole authorization at once: task-lib's per-parameter getter writes each value to the debug log.
  const parameters = new Map(
    Object.entries(tl.getEndpointAuthorization(endpointId, true)?.parameters ?? {}).map(([k, v]) => [
      k.toLowerCase(),
      v,
    ]),
  );
  const parameter = (key: string): string | undefined => {
    const value = parameters.get(key.toLowerCase())?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const data = (key: string): string | undefined =>
    tl.getEndpointDataParameter(endpointId, key, true)?.trim() || undefined;

  switch (authorizationType.toLowerCase()) {
    case 'kubeconfig': {
      const text = parameter('kubeconfig');
      if (text === undefined) throw userError('ConnectionMissingParameter', endpointId, 'kubeconfig');
      // Parsed before its secrets are known: a YAML error is reported by line only, quoting nothing.
      const kubeconfig = parseKubeconfig(text, source);
      for (const secret of kubeconfigSecrets(kubeconfig)) registerSecret(secret);
      const clusterContext = parameter('clusterContext');
      if (clusterContext !== undefined) useContext(kubeconfig, clusterContext);
      return kubeconfig;
    }
    case 'serviceaccount':
    case 'azuresubscription': {
      const apiToken = parameter('apiToken');
      if (apiToken === undefined)
        throw userError('ConnectionMissingParameter', endpointId, 'service account token');
      registerSecret(apiToken);
      const token = decodeToken(apiToken);
      registerSecret(token);
      const server = tl.getEndpointUrl(endpointId, true)?.trim();
      if (!server) throw userError('ConnectionMissingParameter', endpointId, 'server URL');
      const insecure = data('acceptUntrustedCerts')?.toLowerCase() === 'true';
      const certificate = parameter('serviceAccountCertificate');
      if (certificate === undefined && !insecure)
        throw userError('ConnectionMissingParameter', endpointId, 'service account certificate');
      return serviceAccountKubeconfig(
        {
          name: 'kubernetes-service-connection',
          server: server.replace(/\/+$/, ''),
          certificateAuthorityData: certificate === undefined ? undefined : certificateData(certificate),
          insecureSkipTlsVerify: insecure,
          token,
          namespace: data('namespace'),
        },
        source,
      );
    }
    default:
      throw userError('KubernetesAuthorizationUnsupported', endpointId, authorizationType);
  }
}

/**
 * The service connection keeps the token as the Secret's `data.token`, base64; a JWT pasted as it
 * is (it has dots, which base64 has not) is taken as it is.
 */
export function decodeToken(apiToken: string): string {
  return /^[A-Za-z0-9+/=\s]+$/.test(apiToken)
    ? Buffer.from(apiToken, 'base64').toString('utf8').trim()
    : apiToken;
}

/** certificate-authority-data is base64 of the PEM; a PEM pasted as it is gets encoded. */
export function certificateData(certificate: string): string {
  return certificate.includes('-----BEGIN')
    ? Buffer.from(certificate, 'utf8').toString('base64')
    : certificate;
}
