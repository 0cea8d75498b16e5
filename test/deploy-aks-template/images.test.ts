import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as fc from 'fast-check';
import {
  formatImageReference,
  parseImageReference,
  type ImageReference,
} from '../../tasks/common/imageReference';
import {
  applyImageOverrides,
  imageMatchesOverride,
  repositoryKey,
} from '../../tasks/deploy-aks-template/images';
import type { Manifest } from '../../tasks/deploy-aks-template/kubernetesObject';
import { parseManifests } from '../../tasks/deploy-aks-template/render';
import { assertUserError } from './messages';

const FIXTURES = path.resolve(__dirname, '../../../test/deploy-aks-template/fixtures/templates');
const DIGEST = `sha256:${'ab'.repeat(32)}`;

function fixture(name: string): Manifest[] {
  const file = path.join(FIXTURES, name);
  return parseManifests(fs.readFileSync(file, 'utf8'), file);
}

/** Every container image in the manifests, as `Kind name/container: image`. */
function imagesOf(manifests: readonly Manifest[]): string[] {
  const found: string[] = [];
  const walk = (node: unknown, owner: string): void => {
    if (Array.isArray(node)) node.forEach((item) => walk(item, owner));
    else if (typeof node === 'object' && node !== null) {
      const record = node as Record<string, unknown>;
      if (typeof record.image === 'string') found.push(`${owner}/${String(record.name)}: ${record.image}`);
      Object.values(record).forEach((value) => walk(value, owner));
    }
  };
  for (const { object } of manifests) walk(object, `${object.kind} ${object.metadata.name}`);
  return found;
}

describe('applyImageOverrides', () => {
  it('replaces the image in every container list of every kind, whatever tag or digest it had', () => {
    const override = parseImageReference(`contoso.azurecr.io/team/web@${DIGEST}`);
    const { manifests } = applyImageOverrides(fixture('every-kind.yaml'), [override]);
    const web = `contoso.azurecr.io/team/web@${DIGEST}`;
    assert.deepEqual(imagesOf(manifests), [
      `Deployment web/migrate: ${web}`,
      `Deployment web/web: ${web}`,
      'Deployment web/proxy: nginx:1.25',
      `StatefulSet cache/cache: ${web}`,
      `DaemonSet agent/agent: ${web}`,
      `Job seed/seed: ${web}`,
      `CronJob nightly/report: ${web}`,
      'Pod debug/shell: docker.io/library/nginx:1.25',
      `Pod debug/debugger: ${web}`,
      `ReplicaSet legacy/legacy: ${web}`,
      `Pod listed/listed: ${web}`,
      `RayCluster custom/head: ${web}`,
      `RayCluster custom/worker: ${web}`,
      'Pod neighbours/other-registry: contosoprod.azurecr.io/team/web:1.0.0',
      'Pod neighbours/longer-name: contoso.azurecr.io/team/web-api:1.0.0',
      'Pod neighbours/shorter-path: contoso.azurecr.io/web:1.0.0',
    ]);
  });

  it('reports where each override replaced which image', () => {
    const override = parseImageReference('docker.io/library/nginx:1.27');
    const { results } = applyImageOverrides(fixture('every-kind.yaml'), [override]);
    const file = path.join(FIXTURES, 'every-kind.yaml');
    assert.deepEqual(results, [
      {
        override,
        image: 'docker.io/library/nginx:1.27',
        replacements: [
          {
            object: 'Deployment web',
            file,
            path: 'spec.template.spec.containers[1]',
            container: 'proxy',
            previousImage: 'nginx:1.25',
          },
          {
            object: 'Pod debug',
            file,
            path: 'spec.containers[0]',
            container: 'shell',
            previousImage: 'docker.io/library/nginx:1.25',
          },
        ],
      },
    ]);
  });

  it('names the path of init, ephemeral and deeply nested containers', () => {
    const { results } = applyImageOverrides(fixture('every-kind.yaml'), [
      parseImageReference('contoso.azurecr.io/team/web:2.0.0'),
    ]);
    assert.deepEqual(
      results[0]?.replacements.map(({ object, path: where }) => `${object} ${where}`),
      [
        'Deployment web spec.template.spec.initContainers[0]',
        'Deployment web spec.template.spec.containers[0]',
        'StatefulSet cache spec.template.spec.containers[0]',
        'DaemonSet agent spec.template.spec.containers[0]',
        'Job seed spec.template.spec.containers[0]',
        'CronJob nightly spec.jobTemplate.spec.template.spec.containers[0]',
        'Pod debug spec.ephemeralContainers[0]',
        'ReplicaSet legacy spec.template.spec.containers[0]',
        'Pod listed spec.containers[0]',
        'RayCluster custom spec.headGroupSpec.template.spec.containers[0]',
        'RayCluster custom spec.workerGroupSpecs[0].template.spec.containers[0]',
      ],
    );
  });

  it('leaves the manifests it was given unchanged', () => {
    const manifests = fixture('every-kind.yaml');
    const before = structuredClone(manifests);
    applyImageOverrides(manifests, [parseImageReference('contoso.azurecr.io/team/web:2.0.0')]);
    assert.deepEqual(manifests, before);
  });

  it('fails when an image override matches no container', () => {
    assertUserError(
      () =>
        applyImageOverrides(fixture('every-kind.yaml'), [
          parseImageReference('contoso.azurecr.io/team/web:2.0.0'),
          parseImageReference('contoso.azurecr.io/team/api:2.0.0'),
        ]),
      'ImageOverrideMatchedNothing',
      'contoso.azurecr.io/team/api:2.0.0',
      'contoso.azurecr.io/team/api',
    );
  });

  it('fails when two overrides name the same repository', () => {
    assertUserError(
      () =>
        applyImageOverrides(fixture('every-kind.yaml'), [
          parseImageReference('nginx:1.27'),
          parseImageReference('index.docker.io/library/nginx:1.28'),
        ]),
      'ImageOverrideRepeated',
      'nginx:1.27',
      'index.docker.io/library/nginx:1.28',
      'docker.io/library/nginx',
    );
  });

  it('leaves an image it cannot parse for the API server to report', () => {
    const manifests = parseManifests(
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - {name: a, image: "Not An Image"}\n    - {name: b, image: web:1}\n',
      'pod.yaml',
    );
    const { manifests: rendered } = applyImageOverrides(manifests, [parseImageReference('web:2')]);
    assert.deepEqual(imagesOf(rendered), ['Pod p/a: Not An Image', 'Pod p/b: web:2']);
  });

  it('does nothing without overrides', () => {
    const manifests = fixture('every-kind.yaml');
    const { manifests: rendered, results } = applyImageOverrides(manifests, []);
    assert.deepEqual(rendered, manifests);
    assert.deepEqual(results, []);
  });
});

describe('repositoryKey', () => {
  const cases: [string, string][] = [
    ['nginx', 'docker.io/library/nginx'],
    ['nginx:1.25', 'docker.io/library/nginx'],
    ['library/nginx', 'docker.io/library/nginx'],
    ['docker.io/nginx', 'docker.io/library/nginx'],
    ['index.docker.io/library/nginx', 'docker.io/library/nginx'],
    ['registry-1.docker.io/bitnami/redis', 'docker.io/bitnami/redis'],
    ['bitnami/redis', 'docker.io/bitnami/redis'],
    ['Contoso.AzureCR.io/team/web', 'contoso.azurecr.io/team/web'],
    ['localhost:5000/web', 'localhost:5000/web'],
    [`contoso.azurecr.io/web@${DIGEST}`, 'contoso.azurecr.io/web'],
  ];
  for (const [image, key] of cases) {
    it(`reads ${image} as ${key}`, () => assert.equal(repositoryKey(parseImageReference(image)), key));
  }
});

describe('image matcher properties', () => {
  // No dots: a first component with one would be read as a registry host.
  const component = fc.stringMatching(/^[a-z0-9]{1,6}(?:[_-][a-z0-9]{1,4})?$/);
  const repository = fc.array(component, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/'));
  const registry = fc.option(
    fc.constantFrom('contoso.azurecr.io', 'docker.io', 'index.docker.io', 'localhost:5000', 'ghcr.io'),
    { nil: undefined },
  );
  const tag = fc.option(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}$/), { nil: undefined });
  const digest = fc.option(
    fc.stringMatching(/^[a-f0-9]{64}$/).map((hex) => `sha256:${hex}`),
    { nil: undefined },
  );
  const reference = fc.record({ registry, repository, tag, digest });

  it('matches the same repository whatever the tag or digest on either side', () => {
    fc.assert(
      fc.property(reference, tag, digest, (override, otherTag, otherDigest) => {
        const container = formatImageReference({ ...override, tag: otherTag, digest: otherDigest });
        assert.ok(imageMatchesOverride(container, override), container);
      }),
    );
  });

  // A consistency check (repositoryKey is the matcher's own normal form); the literal cases above and
  // below pin the normal form itself.
  it('matches symmetrically, and exactly when repositoryKey says the repositories are one', () => {
    fc.assert(
      fc.property(reference, reference, (a: ImageReference, b: ImageReference) => {
        const matches = imageMatchesOverride(formatImageReference(a), b);
        assert.equal(matches, imageMatchesOverride(formatImageReference(b), a));
        assert.equal(matches, repositoryKey(a) === repositoryKey(b));
      }),
    );
  });

  it('sees an image without a registry as the same repository on Docker Hub', () => {
    fc.assert(
      fc.property(repository, tag, (repo, anyTag) => {
        const onHub = formatImageReference({
          registry: 'docker.io',
          repository: repo,
          tag: anyTag,
          digest: undefined,
        });
        const bare = { registry: undefined, repository: repo, tag: '1', digest: undefined };
        assert.ok(imageMatchesOverride(onHub, bare));
      }),
    );
  });

  it('replaces exactly the matching containers and nothing else', () => {
    const containers = fc.array(reference, { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(containers, fc.nat(), (images, pick) => {
        const chosen = images[pick % images.length] as ImageReference;
        const override = { ...chosen, tag: 'new', digest: undefined };
        const pod: Manifest = {
          source: { file: 'pod.yaml', document: 1 },
          object: {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'p' },
            spec: {
              containers: images.map((image, index) => ({
                name: `c${index}`,
                image: formatImageReference(image),
              })),
            },
          },
        };
        const { manifests } = applyImageOverrides([pod], [override]);
        const expected = images.map(
          (image, index) =>
            `Pod p/c${index}: ${repositoryKey(image) === repositoryKey(override) ? formatImageReference(override) : formatImageReference(image)}`,
        );
        assert.deepEqual(imagesOf(manifests), expected);
      }),
    );
  });
});
