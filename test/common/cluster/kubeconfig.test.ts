import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import {
  AKS_SERVER_APP_ID,
  currentContext,
  entraServerId,
  kubeconfigSecrets,
  parseKubeconfig,
  resolveRelativePaths,
  serializeKubeconfig,
  useContext,
  withBearerToken,
} from '../../../tasks/common/cluster/kubeconfig';
import { taskMessages } from '../../support/userErrors';

const messages = taskMessages('deploy-aks-template');
const SOURCE = { input: 'kubeconfig', value: '/home/me/.kube/config' };

const KUBELOGIN = {
  exec: {
    apiVersion: 'client.authentication.k8s.io/v1beta1',
    command: 'kubelogin',
    args: ['get-token', '--login', 'azurecli', '--server-id', AKS_SERVER_APP_ID],
    env: null,
  },
};

function config(users: Record<string, unknown>[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'aks', cluster: { server: 'https://aks.hcp.westeurope.azmk8s.io:443/' } }],
    contexts: [
      { name: 'aks', context: { cluster: 'aks', user: 'clusterUser', namespace: 'web' } },
      { name: 'other', context: { cluster: 'aks', user: 'other' } },
    ],
    'current-context': 'aks',
    users,
    ...extra,
  });
}

describe('kubeconfig', () => {
  describe('parseKubeconfig', () => {
    it('names the input and the line of a YAML error, quoting nothing of the text', () => {
      messages.assertUserError(
        () => parseKubeconfig('apiVersion: v1\nusers:\n- token: s3cret: tail\n', SOURCE),
        'KubeconfigInvalidYaml',
        'kubeconfig',
        '/home/me/.kube/config',
        3,
      );
    });

    it('refuses a document that is not a mapping', () => {
      messages.assertUserError(
        () => parseKubeconfig('- a\n- b\n', SOURCE),
        'KubeconfigInvalidYaml',
        'kubeconfig',
        SOURCE.value,
        1,
      );
    });
  });

  describe('currentContext', () => {
    it("returns the current context's server (without a trailing slash), namespace and user", () => {
      const kubeconfig = parseKubeconfig(config([{ name: 'clusterUser', user: { token: 't' } }]), SOURCE);
      assert.deepEqual(currentContext(kubeconfig), {
        name: 'aks',
        namespace: 'web',
        cluster: { server: 'https://aks.hcp.westeurope.azmk8s.io:443/' },
        user: { token: 't' },
        server: 'https://aks.hcp.westeurope.azmk8s.io:443',
      });
    });

    it('fails naming the input when there is no current-context', () => {
      const kubeconfig = parseKubeconfig(config([], { 'current-context': '' }), SOURCE);
      messages.assertUserError(
        () => currentContext(kubeconfig),
        'KubeconfigNoCurrentContext',
        'kubeconfig',
        SOURCE.value,
      );
    });

    it('fails naming the contexts there are when the current one is missing', () => {
      const kubeconfig = parseKubeconfig(config([], { 'current-context': 'gone' }), SOURCE);
      messages.assertUserError(
        () => currentContext(kubeconfig),
        'KubeconfigContextNotFound',
        'kubeconfig',
        SOURCE.value,
        'gone',
        'aks, other',
      );
    });
  });

  describe('useContext', () => {
    it('makes the named context current', () => {
      const kubeconfig = parseKubeconfig(config([{ name: 'other', user: { token: 'o' } }]), SOURCE);
      useContext(kubeconfig, 'other');
      assert.equal(currentContext(kubeconfig).name, 'other');
      assert.deepEqual(currentContext(kubeconfig).user, { token: 'o' });
    });

    it('refuses a context the kubeconfig does not define', () => {
      const kubeconfig = parseKubeconfig(config([]), SOURCE);
      messages.assertUserError(
        () => useContext(kubeconfig, 'prod'),
        'KubeconfigContextNotFound',
        'kubeconfig',
        SOURCE.value,
        'prod',
        'aks, other',
      );
    });
  });

  describe('entraServerId', () => {
    it("is AKS's server app for the kubelogin exec user AKS returns", () => {
      assert.equal(entraServerId(KUBELOGIN), AKS_SERVER_APP_ID);
    });

    it('is the --server-id of a legacy Entra ID integration', () => {
      const user = { exec: { ...KUBELOGIN.exec, args: ['get-token', '--server-id', 'legacy-app'] } };
      assert.equal(entraServerId(user), 'legacy-app');
    });

    it("is the apiserver-id of the retired 'azure' auth-provider", () => {
      assert.equal(
        entraServerId({ 'auth-provider': { name: 'azure', config: { 'apiserver-id': 'app-1' } } }),
        'app-1',
      );
    });

    it('is undefined for tokens, client certificates and other exec plugins', () => {
      assert.deepEqual(
        [
          { token: 't' },
          { 'client-certificate-data': 'x' },
          { exec: { command: 'gke-gcloud-auth-plugin' } },
        ].map(entraServerId),
        [undefined, undefined, undefined],
      );
    });
  });

  describe('withBearerToken', () => {
    it("replaces the current context's exec user by a token user and leaves other users", () => {
      const kubeconfig = parseKubeconfig(
        config([
          { name: 'clusterUser', user: KUBELOGIN },
          { name: 'other', user: KUBELOGIN },
        ]),
        SOURCE,
      );
      withBearerToken(kubeconfig, 'entra-token');
      assert.deepEqual(kubeconfig.document['users'], [
        { name: 'clusterUser', user: { token: 'entra-token' } },
        { name: 'other', user: KUBELOGIN },
      ]);
      assert.doesNotMatch(serializeKubeconfig(kubeconfig).split('other')[0] ?? '', /kubelogin/);
    });
  });

  describe('kubeconfigSecrets', () => {
    it('gives tokens, passwords, client keys and certificates (as written and decoded), provider secrets and exec env values', () => {
      const key = '-----BEGIN PRIVATE KEY-----\nMIIEkey\n-----END PRIVATE KEY-----\n';
      const cert = '-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n';
      const b64 = (text: string): string => Buffer.from(text).toString('base64');
      const kubeconfig = parseKubeconfig(
        config([
          { name: 'a', user: { token: 'tok', username: 'admin', password: 'pw' } },
          { name: 'b', user: { 'client-key-data': b64(key), 'client-certificate-data': b64(cert) } },
          {
            name: 'c',
            user: {
              'auth-provider': {
                name: 'oidc',
                config: { 'id-token': 'idt', 'client-id': 'cid', 'refresh-token': 'rt' },
              },
            },
          },
          {
            name: 'd',
            user: {
              exec: {
                command: 'kubelogin',
                env: [{ name: 'AAD_SERVICE_PRINCIPAL_CLIENT_SECRET', value: 'sp-secret' }],
              },
            },
          },
        ]),
        SOURCE,
      );
      assert.deepEqual(kubeconfigSecrets(kubeconfig), [
        'tok',
        'pw',
        b64(key),
        key,
        b64(cert),
        cert,
        'idt',
        'rt',
        'sp-secret',
      ]);
    });

    it('gives nothing for a kubeconfig without credentials (CA data is public)', () => {
      assert.deepEqual(kubeconfigSecrets(parseKubeconfig(config([{ name: 'x', user: {} }]), SOURCE)), []);
    });
  });

  describe('resolveRelativePaths', () => {
    it("makes file paths absolute against the original's folder, and a relative exec command", () => {
      const kubeconfig = parseKubeconfig(
        JSON.stringify({
          clusters: [{ name: 'c', cluster: { server: 'https://x', 'certificate-authority': 'ca.crt' } }],
          users: [
            {
              name: 'u',
              user: { 'client-certificate': './u.crt', 'client-key': '/abs/u.key', tokenFile: 'tok' },
            },
            { name: 'e', user: { exec: { command: 'bin/plugin' } } },
            { name: 'p', user: { exec: { command: 'kubelogin' } } },
          ],
        }),
        SOURCE,
      );
      resolveRelativePaths(kubeconfig, '/home/me/.kube');
      assert.deepEqual(kubeconfig.document, {
        clusters: [
          {
            name: 'c',
            cluster: { server: 'https://x', 'certificate-authority': path.resolve('/home/me/.kube/ca.crt') },
          },
        ],
        users: [
          {
            name: 'u',
            user: {
              'client-certificate': path.resolve('/home/me/.kube/u.crt'),
              'client-key': '/abs/u.key',
              tokenFile: path.resolve('/home/me/.kube/tok'),
            },
          },
          { name: 'e', user: { exec: { command: path.resolve('/home/me/.kube/bin/plugin') } } },
          { name: 'p', user: { exec: { command: 'kubelogin' } } },
        ],
      });
    });
  });
});
