import * as assert from 'node:assert/strict';
import type { KubernetesObject, Manifest } from '../../tasks/deploy-aks-template/kubernetesObject';
import { placeNamespaces, qualifiedKind } from '../../tasks/deploy-aks-template/namespaces';

function manifest(apiVersion: string, kind: string, name: string, namespace?: string, extra = {}): Manifest {
  const object: KubernetesObject = {
    apiVersion,
    kind,
    metadata: namespace === undefined ? { name } : { name, namespace },
    ...extra,
  };
  return { source: { file: 'all.yaml', document: 1 }, object };
}

const namespacesOf = (manifests: readonly Manifest[]): string[] =>
  manifests.map(
    ({ object }) => `${object.kind} ${object.metadata.name}: ${object.metadata.namespace ?? '(none)'}`,
  );

describe('placeNamespaces', () => {
  it('puts namespaced objects that name none into the namespace input', () => {
    const plan = placeNamespaces(
      [
        manifest('apps/v1', 'Deployment', 'web'),
        manifest('v1', 'Service', 'web'),
        manifest('v1', 'ConfigMap', 'c', ''),
      ],
      'web-staging',
    );
    assert.deepEqual(namespacesOf(plan.manifests), [
      'Deployment web: web-staging',
      'Service web: web-staging',
      'ConfigMap c: web-staging',
    ]);
    assert.deepEqual(plan.needed, ['web-staging']);
  });

  it('respects a namespace a manifest names', () => {
    const plan = placeNamespaces([manifest('v1', 'Service', 'web', 'shared')], 'web-staging');
    assert.deepEqual(namespacesOf(plan.manifests), ['Service web: shared']);
    assert.deepEqual(plan.needed, ['shared']);
  });

  it('gives cluster-scoped objects no namespace', () => {
    const plan = placeNamespaces(
      [
        manifest('v1', 'Namespace', 'team'),
        manifest('rbac.authorization.k8s.io/v1', 'ClusterRole', 'reader'),
        manifest('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'reader'),
        manifest('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.contoso.com'),
        manifest('v1', 'PersistentVolume', 'pv'),
        manifest('storage.k8s.io/v1', 'StorageClass', 'fast'),
        manifest('networking.k8s.io/v1', 'IngressClass', 'nginx'),
        manifest('scheduling.k8s.io/v1', 'PriorityClass', 'high'),
        manifest('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', 'v'),
        manifest('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration', 'm'),
        manifest('apiregistration.k8s.io/v1', 'APIService', 'v1.metrics.k8s.io'),
      ],
      'web-staging',
    );
    assert.ok(plan.manifests.every(({ object }) => object.metadata.namespace === undefined));
    assert.deepEqual(plan.needed, []);
  });

  it('tells a Role in rbac from a ClusterRole, and a custom kind from a built-in one of the same name', () => {
    const plan = placeNamespaces(
      [
        manifest('rbac.authorization.k8s.io/v1', 'Role', 'reader'),
        manifest('contoso.com/v1', 'Namespace', 'not-the-core-one'),
      ],
      'ns',
    );
    assert.deepEqual(namespacesOf(plan.manifests), ['Role reader: ns', 'Namespace not-the-core-one: ns']);
  });

  it('learns cluster-scoped custom kinds from the definitions of this run', () => {
    const plan = placeNamespaces(
      [
        manifest('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'issuers.certs.io', undefined, {
          spec: { group: 'certs.io', scope: 'Cluster', names: { kind: 'ClusterIssuer' } },
        }),
        manifest('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.contoso.com', undefined, {
          spec: { group: 'contoso.com', scope: 'Namespaced', names: { kind: 'Widget' } },
        }),
        manifest('certs.io/v1', 'ClusterIssuer', 'letsencrypt'),
        manifest('contoso.com/v1', 'Widget', 'w'),
      ],
      'ns',
    );
    assert.deepEqual(namespacesOf(plan.manifests).slice(2), [
      'ClusterIssuer letsencrypt: (none)',
      'Widget w: ns',
    ]);
  });

  it('reports which needed namespaces this run defines and which must already exist', () => {
    const plan = placeNamespaces(
      [
        manifest('v1', 'Namespace', 'web-staging'),
        manifest('apps/v1', 'Deployment', 'web'),
        manifest('v1', 'Service', 'web', 'shared'),
        manifest('v1', 'ConfigMap', 'unused-ns-def', 'web-staging'),
        manifest('v1', 'Namespace', 'spare'),
      ],
      'web-staging',
    );
    assert.deepEqual(
      { needed: plan.needed, defined: plan.defined, mustExist: plan.mustExist },
      { needed: ['shared', 'web-staging'], defined: ['spare', 'web-staging'], mustExist: ['shared'] },
    );
  });

  it('writes the namespace right after the name and leaves the given manifests unchanged', () => {
    const given = manifest('v1', 'ConfigMap', 'c', undefined, {});
    given.object.metadata.labels = { app: 'web' };
    const [placed] = placeNamespaces([given], 'ns').manifests;
    assert.deepEqual(Object.keys(placed?.object.metadata ?? {}), ['name', 'namespace', 'labels']);
    assert.equal(given.object.metadata.namespace, undefined);
  });
});

describe('qualifiedKind', () => {
  it('names core kinds alone and others with their group', () => {
    assert.equal(qualifiedKind('v1', 'Namespace'), 'Namespace');
    assert.equal(
      qualifiedKind('rbac.authorization.k8s.io/v1', 'ClusterRole'),
      'ClusterRole.rbac.authorization.k8s.io',
    );
  });
});
