import * as YAML from 'yaml';

/** How the kubeconfig's user authenticates. */
export type KubeconfigCredential =
  | { readonly token: string }
  | {
      readonly exec: {
        readonly command: string;
        readonly args: readonly string[];
        readonly env?: Readonly<Record<string, string>> | null;
        readonly installHint?: string;
      };
    };

export interface KubeconfigOptions {
  readonly clusterName: string;
  /** `https://host:443` */
  readonly server: string;
  /** PEM of the CA that signed the API server's certificate. */
  readonly certificateAuthority: string;
  readonly userName: string;
  readonly credential: KubeconfigCredential;
  readonly namespace?: string;
}

/** A kubeconfig in the layout AKS returns from listClusterUserCredential. */
export function buildKubeconfig(options: KubeconfigOptions): string {
  const user: Record<string, unknown> =
    'token' in options.credential
      ? { token: options.credential.token }
      : {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: options.credential.exec.command,
            args: [...options.credential.exec.args],
            env: options.credential.exec.env ?? null,
            provideClusterInfo: false,
            interactiveMode: 'IfAvailable',
            ...(options.credential.exec.installHint === undefined
              ? {}
              : { installHint: options.credential.exec.installHint }),
          },
        };
  const document = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: options.clusterName,
        cluster: {
          server: options.server,
          'certificate-authority-data': Buffer.from(options.certificateAuthority, 'utf8').toString('base64'),
        },
      },
    ],
    contexts: [
      {
        name: options.clusterName,
        context: {
          cluster: options.clusterName,
          user: options.userName,
          ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
        },
      },
    ],
    'current-context': options.clusterName,
    preferences: {},
    users: [{ name: options.userName, user }],
  };
  return YAML.stringify(document);
}
