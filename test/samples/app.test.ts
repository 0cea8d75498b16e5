import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../scripts/layout';
import { parseImageReference } from '../../tasks/common/imageReference';
import type { KubernetesObject } from '../../tasks/deploy-aks-template/kubernetesObject';
import { renderManifests } from '../../tasks/deploy-aks-template/render';
import type { TemplateFile } from '../../tasks/deploy-aks-template/templates';
import { loadChecksFile } from '../../tasks/run-acceptance-tests/checksFile';

const APP_DIR = path.join(REPO_ROOT, 'samples', 'app');
const CD_PIPELINE = path.join(REPO_ROOT, 'samples', 'pipelines', 'cd.yml');
const DIGEST = `sha256:${'4f'.repeat(32)}`;
const CI_RUN_NAME = '20240601.3';

describe('the sample app', () => {
  it('passes its own unit tests', async () => {
    // The app's `npm test` is `node --test`; TAP is asked for, so the counts can be read on any Node version.
    const env = { ...process.env };
    delete env['NODE_TEST_CONTEXT'];
    const run = await promisify(execFile)(process.execPath, ['--test', '--test-reporter=tap'], {
      cwd: APP_DIR,
      env,
      timeout: 50_000,
    }).catch((error: { code?: number; stdout?: string; stderr?: string }) => {
      assert.fail(`node --test exited with ${error.code}:\n${error.stdout}\n${error.stderr}`);
    });
    assert.match(run.stdout, /^# pass [1-9]\d*$/m);
    assert.match(run.stdout, /^# fail 0$/m);
  });
});

/** The sample's templates as DeployAksTemplate reads them, `files` relative to samples/app/deploy. */
function templates(...files: string[]): TemplateFile[] {
  return files.map((file) => {
    const filePath = path.join(APP_DIR, 'deploy', file);
    return { path: filePath, text: fs.readFileSync(filePath, 'utf8') };
  });
}

// The parts of the rendered objects these tests read.
interface Container {
  image: string;
  env: { name: string; value: string }[];
  readinessProbe: { httpGet: { path: string } };
  livenessProbe: { httpGet: { path: string } };
}
interface Deployment {
  spec: { replicas: unknown; template: { spec: { containers: Container[] } } };
}
interface Service {
  spec: { ports: unknown };
}
interface Ingress {
  spec: { rules: { host: string }[] };
}

function objectOf<T>(objects: readonly KubernetesObject[], kind: string): T {
  const found = objects.find((object) => object.kind === kind);
  assert.ok(found, `no ${kind} rendered`);
  return found as unknown as T;
}

function containerOf(objects: readonly KubernetesObject[]): Container {
  const container = objectOf<Deployment>(objects, 'Deployment').spec.template.spec.containers[0];
  assert.ok(container, 'the Deployment has no container');
  return container;
}

describe('the sample Kubernetes template', () => {
  it('renders with the image by digest, every token resolved and the namespace placed', () => {
    const image = `contosononprod.azurecr.io/shop/web@${DIGEST}`;

    const rendered = renderManifests({
      templates: templates('app.yaml', 'ingress.yaml'),
      variables: new Map([
        ['IMAGE_REGISTRY', 'contosononprod.azurecr.io'],
        ['REPLICAS', '2'],
        ['APP_VERSION', CI_RUN_NAME],
        ['INGRESS_HOST', 'shop-staging.contoso.com'],
      ]),
      images: [parseImageReference(image)],
      namespace: 'shop-staging',
      run: undefined,
    });

    const objects = rendered.manifests.map((manifest) => manifest.object);
    assert.deepEqual(
      objects.map((object) => `${object.kind}/${object.metadata.name}`),
      ['Deployment/web', 'Service/web', 'Ingress/web'],
    );
    assert.deepEqual(
      objects.map((object) => object.metadata.namespace),
      ['shop-staging', 'shop-staging', 'shop-staging'],
    );
    const container = containerOf(objects);
    assert.equal(container.image, image);
    assert.equal(objectOf<Deployment>(objects, 'Deployment').spec.replicas, 2);
    assert.deepEqual(container.env, [
      { name: 'PORT', value: '8080' },
      { name: 'APP_VERSION', value: CI_RUN_NAME },
    ]);
    assert.equal(container.readinessProbe.httpGet.path, '/healthz');
    assert.equal(container.livenessProbe.httpGet.path, '/healthz');
    assert.deepEqual(objectOf<Service>(objects, 'Service').spec.ports, [
      { name: 'http', port: 80, targetPort: 'http' },
    ]);
    assert.equal(objectOf<Ingress>(objects, 'Ingress').spec.rules[0]?.host, 'shop-staging.contoso.com');
    assert.doesNotMatch(rendered.yaml, /\$\{|placeholder/);
  });

  it('renders without the Ingress and its INGRESS_HOST token', () => {
    const rendered = renderManifests({
      templates: templates('app.yaml'),
      variables: new Map([
        ['IMAGE_REGISTRY', 'contosoprod.azurecr.io'],
        ['REPLICAS', '1'],
        ['APP_VERSION', CI_RUN_NAME],
      ]),
      images: [parseImageReference(`contosoprod.azurecr.io/shop/web@${DIGEST}`)],
      namespace: 'shop',
      run: undefined,
    });

    assert.deepEqual(
      rendered.manifests.map(({ object }) => object.kind),
      ['Deployment', 'Service'],
    );
  });

  // What the agent would put in place of each macro of cd.yml's DeployAksTemplate steps: pipeline
  // variables, CI's artifact (here the sample folder itself) and the outputs of earlier steps.
  const macros = (variables: Record<string, string>): Map<string, string> =>
    new Map([
      ...Object.entries(variables),
      ['release', APP_DIR],
      ['resources.pipeline.ci.runName', CI_RUN_NAME],
      ['image.digest', DIGEST],
      [
        'promote.promotedImage',
        `${variables['productionRegistry']}/${variables['imageRepository']}@${DIGEST}`,
      ],
    ]);

  const expand = (text: string, values: ReadonlyMap<string, string>): string =>
    text.replace(/\$\(([^)]+)\)/g, (_macro, name: string) => {
      const value = values.get(name);
      assert.ok(value !== undefined, `the test knows no value for $(${name}) in cd.yml`);
      return value;
    });

  const lines = (text: string): string[] =>
    text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');

  const cd = parse(fs.readFileSync(CD_PIPELINE, 'utf8')) as { variables: Record<string, string> };
  const deploySteps: { displayName: string; inputs: Record<string, string> }[] = [];
  (function collect(node: unknown): void {
    if (Array.isArray(node)) node.forEach(collect);
    else if (node !== null && typeof node === 'object') {
      const step = node as Record<string, unknown>;
      if (step['task'] === 'DeployAksTemplate@1') deploySteps.push(step as (typeof deploySteps)[number]);
      Object.values(step).forEach(collect);
    }
  })(cd);

  it('is deployed by both stages of cd.yml', () => {
    assert.deepEqual(
      deploySteps.map((step) => step.displayName),
      ['Deploy to the staging cluster', 'Deploy to the production cluster'],
    );
  });

  for (const step of deploySteps) {
    it(`renders with the inputs of cd.yml's step "${step.displayName}"`, () => {
      const values = macros(cd.variables);
      const images = lines(expand(step.inputs['images'] ?? '', values));

      const rendered = renderManifests({
        templates: lines(expand(step.inputs['templates'] ?? '', values)).map((file) => ({
          path: file,
          text: fs.readFileSync(file, 'utf8'),
        })),
        variables: new Map(
          lines(expand(step.inputs['variables'] ?? '', values)).map((line) => {
            const [name = '', ...value] = line.split('=');
            return [name, value.join('=')];
          }),
        ),
        images: images.map(parseImageReference),
        namespace: step.inputs['namespace'] ?? 'default',
        run: undefined,
      });

      const objects = rendered.manifests.map((manifest) => manifest.object);
      const container = containerOf(objects);
      assert.deepEqual(images, [container.image]);
      assert.match(container.image, new RegExp(`@${DIGEST}$`));
      assert.ok(objects.every((object) => object.metadata.namespace === step.inputs['namespace']));
      assert.doesNotMatch(rendered.yaml, /\$\{/);
    });
  }
});

describe('the sample acceptance checks', () => {
  it('load with the acceptance task, valid against the checks schema', () => {
    const checks = loadChecksFile(path.join(APP_DIR, 'acceptance', 'checks.yaml'));

    assert.deepEqual(
      checks.map((check) => [check.name, check.request.target, check.expect.status]),
      [
        ['home page welcomes the visitor', { path: '/' }, [200]],
        ['health endpoint reports ok', { path: '/healthz' }, [200]],
        ['product list answers quickly', { path: '/api/products' }, [200]],
        ['unknown path is not found', { path: '/no-such-page' }, [404]],
      ],
    );
    assert.equal(checks[0]?.expect.body.contains, 'Welcome');
    assert.deepEqual(checks[1]?.expect.body.json, [{ path: '$.status', value: 'ok' }]);
    assert.equal(checks[2]?.expect.maxLatencyMs, 1000);
  });
});
