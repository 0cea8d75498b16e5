// Stands in for @azure/arm-containerservice in L0 runs. What AKS answers comes from FAKE_AKS (a
// FakeAks as JSON); every call is printed so tests can check what was asked, and how.
export const AKS_MARKER = '##l0-aks ';

export interface FakeAks {
  /** The kubeconfig YAML that listCluster*Credentials returns. */
  kubeconfig?: string;
  error?: { statusCode: number; code: string; message: string };
}

function fake(): FakeAks {
  return JSON.parse(process.env['FAKE_AKS'] ?? '{}') as FakeAks;
}

function record(call: string, detail: unknown): void {
  console.log(`${AKS_MARKER}${JSON.stringify({ call, detail })}`);
}

function answer(): Promise<{ kubeconfigs: { name: string; value: Uint8Array }[] }> {
  const { kubeconfig, error } = fake();
  if (error !== undefined) {
    const failure = Object.assign(new Error(error.message), {
      name: 'RestError',
      statusCode: error.statusCode,
      code: error.code,
      details: { error: { code: error.code, message: error.message } },
    });
    return Promise.reject(failure);
  }
  return Promise.resolve({
    kubeconfigs: [{ name: 'clusterUser', value: new Uint8Array(Buffer.from(kubeconfig ?? '', 'utf8')) }],
  });
}

export class ContainerServiceClient {
  readonly managedClusters = {
    listClusterUserCredentials: (resourceGroup: string, name: string, options?: unknown) => {
      record('listClusterUserCredentials', { resourceGroup, name, options });
      return answer();
    },
    listClusterAdminCredentials: (resourceGroup: string, name: string, options?: unknown) => {
      record('listClusterAdminCredentials', { resourceGroup, name, options });
      return answer();
    },
  };

  constructor(
    _credential: unknown,
    subscriptionId: string,
    options: { endpoint?: string; credentials?: unknown },
  ) {
    record('constructor', { subscriptionId, endpoint: options.endpoint, credentials: options.credentials });
  }
}

export interface RecordedAksCall {
  readonly call: string;
  readonly detail: Record<string, unknown>;
}

export function recordedAksCalls(stdout: string): RecordedAksCall[] {
  return stdout
    .split(/\r?\n/)
    .filter((line) => line.startsWith(AKS_MARKER))
    .map((line) => JSON.parse(line.slice(AKS_MARKER.length)) as RecordedAksCall);
}
