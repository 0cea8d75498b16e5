import * as assert from 'node:assert/strict';
import {
  deployedImages,
  expectsEndpoint,
  formatDeployedImages,
  ingressUrls,
  serviceUrls,
  waitForEndpoints,
  withDigest,
} from '../../tasks/deploy-aks-template/outputs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kubectl } from '../../tasks/deploy-aks-template/kubectl';
import type { KubernetesObject } from '../../tasks/deploy-aks-template/kubernetesObject';
import { addressKey } from '../../tasks/deploy-aks-template/lookup';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const INIT_DIGEST = `sha256:${'b'.repeat(64)}`;
const WEB = { kind: 'Deployment' as const, name: 'web', namespace: 'web' };

function loadBalancer(ingress: unknown[], ports: unknown[] = [{ name: 'http', port: 80 }]): unknown {
  return { spec: { type: 'LoadBalancer', ports }, status: { loadBalancer: { ingress } } };
}

describe('serviceUrls', () => {
  it('gives one URL per external address and port, https for 443 or a port named https', () => {
    const service = loadBalancer(
      [{ ip: '20.1.2.3' }, { hostname: 'web.westeurope.cloudapp.azure.com' }],
      [
        { name: 'http', port: 80 },
        { name: 'tls', port: 443 },
        { name: 'https', port: 8443 },
      ],
    );
    assert.deepEqual(serviceUrls(service), [
      'http://20.1.2.3:80',
      'https://20.1.2.3:443',
      'https://20.1.2.3:8443',
      'http://web.westeurope.cloudapp.azure.com:80',
      'https://web.westeurope.cloudapp.azure.com:443',
      'https://web.westeurope.cloudapp.azure.com:8443',
    ]);
  });

  it('puts an IPv6 address in brackets', () => {
    assert.deepEqual(serviceUrls(loadBalancer([{ ip: '2001:db8::1' }])), ['http://[2001:db8::1]:80']);
  });

  it('gives nothing while the load balancer has no address', () => {
    assert.deepEqual(serviceUrls(loadBalancer([])), []);
    assert.deepEqual(serviceUrls({ spec: { type: 'LoadBalancer', ports: [{ port: 80 }] }, status: {} }), []);
  });
});

describe('ingressUrls', () => {
  it('gives https for the hosts its TLS covers, http for the others, and skips wildcard hosts', () => {
    const ingress = {
      spec: {
        tls: [{ hosts: ['shop.contoso.com'], secretName: 'tls' }],
        rules: [
          { host: 'shop.contoso.com' },
          { host: 'api.contoso.com' },
          { host: '*.contoso.com' },
          { host: 'shop.contoso.com' },
        ],
      },
    };
    assert.deepEqual(ingressUrls(ingress), ['https://shop.contoso.com', 'http://api.contoso.com']);
  });

  it('uses the load balancer address of an Ingress without hosts', () => {
    const ingress = {
      spec: { rules: [{ http: {} }] },
      status: { loadBalancer: { ingress: [{ ip: '20.9.9.9' }] } },
    };
    assert.deepEqual(ingressUrls(ingress), ['http://20.9.9.9']);
    assert.deepEqual(ingressUrls({ spec: {} }), []);
  });
});

describe('expectsEndpoint', () => {
  const object = (apiVersion: string, kind: string, spec: unknown = {}): KubernetesObject => ({
    apiVersion,
    kind,
    metadata: { name: 'web' },
    spec,
  });

  it('expects an address from LoadBalancer Services and networking Ingresses only', () => {
    assert.equal(expectsEndpoint(object('v1', 'Service', { type: 'LoadBalancer' })), true);
    assert.equal(expectsEndpoint(object('v1', 'Service', { type: 'ClusterIP' })), false);
    assert.equal(expectsEndpoint(object('networking.k8s.io/v1', 'Ingress')), true);
    assert.equal(expectsEndpoint(object('example.com/v1', 'Ingress')), false);
  });
});

describe('deployedImages', () => {
  const deployment = {
    spec: {
      template: {
        spec: {
          initContainers: [{ name: 'migrate', image: 'contoso.azurecr.io/migrate:2.0' }],
          containers: [
            { name: 'web', image: 'contoso.azurecr.io/web:2.0' },
            { name: 'proxy', image: `contoso.azurecr.io/proxy@${INIT_DIGEST}` },
            { name: 'sidecar', image: 'busybox:1.36' },
          ],
        },
      },
    },
  };
  const pod = {
    status: {
      initContainerStatuses: [{ name: 'migrate', imageID: `contoso.azurecr.io/migrate@${INIT_DIGEST}` }],
      containerStatuses: [
        { name: 'web', imageID: `docker-pullable://contoso.azurecr.io/web@${DIGEST}` },
        { name: 'proxy', imageID: `contoso.azurecr.io/proxy@${DIGEST}` },
        { name: 'sidecar', imageID: `sha256:${'c'.repeat(64)}` },
      ],
    },
  };

  it('appends the digest the pods report, keeps an image pinned by digest, and adds none from a local image id', () => {
    assert.deepEqual(deployedImages(WEB, deployment, [{ status: {} }, pod]), [
      { workload: WEB, container: 'migrate', image: `contoso.azurecr.io/migrate:2.0@${INIT_DIGEST}` },
      { workload: WEB, container: 'web', image: `contoso.azurecr.io/web:2.0@${DIGEST}` },
      { workload: WEB, container: 'proxy', image: `contoso.azurecr.io/proxy@${INIT_DIGEST}` },
      { workload: WEB, container: 'sidecar', image: 'busybox:1.36' },
    ]);
  });

  it('gives the images without digests when no pod reports one', () => {
    assert.deepEqual(
      deployedImages(WEB, deployment, []).map(({ image }) => image),
      [
        'contoso.azurecr.io/migrate:2.0',
        'contoso.azurecr.io/web:2.0',
        `contoso.azurecr.io/proxy@${INIT_DIGEST}`,
        'busybox:1.36',
      ],
    );
  });

  it('formats the output one image per line, each once', () => {
    assert.equal(
      formatDeployedImages([
        { workload: WEB, container: 'web', image: 'web:2.0' },
        { workload: { ...WEB, name: 'worker' }, container: 'web', image: 'web:2.0' },
        { workload: WEB, container: 'sidecar', image: 'busybox:1.36' },
      ]),
      'web:2.0\nbusybox:1.36',
    );
    assert.equal(withDigest('web:2.0', undefined), 'web:2.0');
  });
});

describe('waitForEndpoints', () => {
  const ingress: KubernetesObject = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'shop', namespace: 'web' },
    spec: { rules: [{ host: 'shop.contoso.com' }] },
  };
  const service: KubernetesObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'web' },
    spec: { type: 'LoadBalancer', ports: [{ port: 80 }] },
  };
  const key = (object: KubernetesObject): string =>
    addressKey({
      apiVersion: object.apiVersion,
      kind: object.kind,
      name: object.metadata.name,
      namespace: 'web',
    });

  function recordingKubectl(answers: string[]): { kubectl: Kubectl; reads: number } {
    const recorded = { reads: 0 } as { kubectl: Kubectl; reads: number };
    recorded.kubectl = new Kubectl(
      () => {
        recorded.reads++;
        return Promise.resolve({ code: 0, stdout: answers.shift() ?? '', stderr: '' });
      },
      { kubeconfig: '/k', requestTimeoutSeconds: 30, commandTimeoutSeconds: 60 },
    );
    return recorded;
  }

  let directory: string;
  beforeEach(() => (directory = fs.mkdtempSync(path.join(os.tmpdir(), 'endpoints-'))));
  afterEach(() => fs.rmSync(directory, { recursive: true, force: true }));

  it('takes what the apply returned without asking the cluster when it has every address', async () => {
    const recorded = recordingKubectl([]);
    const result = await waitForEndpoints(recorded.kubectl, [ingress], {
      timeoutSeconds: 5,
      pollIntervalMs: 1,
      now: Date.now,
      lookupFile: path.join(directory, 'endpoints.json'),
      applied: new Map([[key(ingress), ingress]]),
    });
    assert.deepEqual(result, { urls: ['http://shop.contoso.com'], missing: [] });
    assert.equal(recorded.reads, 0);
  });

  it('asks again at once for what the apply returned without an address, then polls', async () => {
    const withAddress = { ...service, status: { loadBalancer: { ingress: [{ ip: '20.1.2.3' }] } } };
    const recorded = recordingKubectl([JSON.stringify(service), JSON.stringify(withAddress)]);
    const result = await waitForEndpoints(recorded.kubectl, [ingress, service], {
      timeoutSeconds: 5,
      pollIntervalMs: 1,
      now: Date.now,
      lookupFile: path.join(directory, 'endpoints.json'),
      applied: new Map([
        [key(ingress), ingress],
        [key(service), service],
      ]),
    });
    assert.deepEqual(result, { urls: ['http://shop.contoso.com', 'http://20.1.2.3:80'], missing: [] });
    assert.equal(recorded.reads, 2);
    const listed = JSON.parse(fs.readFileSync(path.join(directory, 'endpoints.json'), 'utf8')) as {
      items: { kind: string }[];
    };
    assert.deepEqual(
      listed.items.map((item) => item.kind),
      ['Service'],
      'only the object still without an address',
    );
  });
});
