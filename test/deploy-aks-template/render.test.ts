import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseImageReference } from '../../tasks/common/imageReference';
import { parseManifests, renderManifests, serializeManifests } from '../../tasks/deploy-aks-template/render';
import type { TemplateFile } from '../../tasks/deploy-aks-template/templates';
import { assertUserError } from './messages';

const FIXTURES = path.resolve(__dirname, '../../../test/deploy-aks-template/fixtures');
const RUN = {
  pipelineName: 'web-cd',
  runId: '4711',
  runUrl: 'https://dev.azure.com/contoso/web/_build/results?buildId=4711',
  commit: '0123abc',
};

function template(name: string): TemplateFile {
  return { path: `k8s/${name}`, text: fs.readFileSync(path.join(FIXTURES, 'templates', name), 'utf8') };
}

describe('parseManifests', () => {
  it('reads every document, drops empty ones and names where each came from', () => {
    const manifests = parseManifests(
      '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# only a comment\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n',
      'k8s/app.yaml',
    );
    assert.deepEqual(manifests, [
      {
        source: { file: 'k8s/app.yaml', document: 1 },
        object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } },
      },
      {
        source: { file: 'k8s/app.yaml', document: 3 },
        object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'b' } },
      },
    ]);
  });

  it('takes the items of a List one by one', () => {
    const manifests = parseManifests(
      'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n',
      'list.yaml',
    );
    assert.deepEqual(
      manifests.map(({ source, object }) => [source, object.metadata.name]),
      [
        [{ file: 'list.yaml', document: 1, item: 1 }, 'a'],
        [{ file: 'list.yaml', document: 1, item: 2 }, 'b'],
      ],
    );
  });

  it('returns nothing for a file of empty documents', () => {
    assert.deepEqual(parseManifests('', 'empty.yaml'), []);
    assert.deepEqual(parseManifests('---\n---\n', 'empty.yaml'), []);
  });

  it('reads scalars as kubectl does: YAML 1.1 booleans and octals, dates as text', () => {
    const [manifest] = parseManifests(
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {on: yes, mode: 0644, day: 2024-01-31, time: 1:20}\n',
      'a.yaml',
    );
    assert.deepEqual(manifest?.object.data, { true: true, mode: 420, day: '2024-01-31', time: '1:20' });
  });

  it('reads a float only with a digit in its mantissa, as go-yaml does: e1, E5, . and -. are text', () => {
    const [manifest] = parseManifests(
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: e1}\ndata: {a: e1, b: E5, c: ., d: -., e: 1.5, f: -.5, g: 1e3, h: 2.5E-1, i: .nan, j: 1_000.5, k: ._5, l: .5_, m: -._5, p: .5e-3}\n',
      'f.yaml',
    );
    assert.equal(manifest?.object.metadata?.name, 'e1');
    const data = manifest?.object.data as Record<string, unknown>;
    assert.deepEqual(
      { ...data, i: String(data['i']) },
      {
        a: 'e1',
        b: 'E5',
        c: '.',
        d: '-.',
        e: 1.5,
        f: -0.5,
        g: 1000,
        h: 0.25,
        i: 'NaN',
        j: 1000.5,
        k: '._5',
        l: '.5_',
        m: -0.5,
        p: 0.0005,
      },
    );
  });

  it('fails naming the file and line of invalid YAML', () => {
    assertUserError(
      () =>
        parseManifests(
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {app: web\n',
          'k8s/bad.yaml',
        ),
      'TemplateInvalidYaml',
      'k8s/bad.yaml',
      6,
      'Flow map in block collection must be sufficiently indented and end with a }',
    );
  });

  it('masks variable values out of the parser reason', () => {
    assertUserError(
      () =>
        parseManifests(
          'apiVersion: v1\nkind: Pod\nmetadata: {name: o}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nx: *hunter2\n',
          'p.yaml',
          ['hunter2'],
        ),
      'TemplateInvalidYaml',
      'p.yaml',
      8,
      'Unresolved alias (the anchor must be set before the alias): ***',
    );
  });

  it('ends, and masks, when a variable value is made of the mask itself', () => {
    assertUserError(
      () =>
        parseManifests(
          'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: o}\ndata:\n  cors: "*"\n  pw: *Summer2024\n',
          'alias.yaml',
          ['*', '**', '***', '*Summer2024'],
        ),
      'TemplateInvalidYaml',
      'alias.yaml',
      6,
      'Unresolved alias (the anchor must be set before the alias): ***',
    );
  });

  it('masks the part of a variable value the parser quotes without its first character', () => {
    assertUserError(
      () =>
        parseManifests(
          'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: o}\ndata:\n  pw: *Zq9xLm2Kp7\n',
          'alias.yaml',
          ['*Zq9xLm2Kp7'],
        ),
      'TemplateInvalidYaml',
      'alias.yaml',
      5,
      'Unresolved alias (the anchor must be set before the alias): ***',
    );
  });

  it('fails on a document that repeats a key', () => {
    assertUserError(
      () => parseManifests('apiVersion: v1\nkind: Pod\nkind: Service\nmetadata: {name: p}\n', 'p.yaml'),
      'TemplateInvalidYaml',
      'p.yaml',
      3,
      'Map keys must be unique',
    );
  });

  it('refuses a document that expands aliases without end', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let level = 1; level <= 8; level++) {
      lines.push(
        `${String.fromCharCode(97 + level)}: &${String.fromCharCode(97 + level)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + level)}`)
          .join(', ')}]`,
      );
    }
    assertUserError(
      () => parseManifests(lines.join('\n'), 'laughs.yaml'),
      'TemplateInvalidYaml',
      'laughs.yaml',
      2,
      'Excessive alias count indicates a resource exhaustion attack',
    );
  });

  const incomplete: [string, string, string][] = [
    ['kind', 'apiVersion: v1\nmetadata: {name: a}\n', 'kind'],
    ['apiVersion', 'kind: ConfigMap\nmetadata: {name: a}\n', 'apiVersion'],
    ['metadata.name', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: a-}\n', 'metadata.name'],
    ['an object at all', '- just\n- a list\n', 'kind'],
  ];
  for (const [what, text, field] of incomplete) {
    it(`fails naming the file and document of an object without ${what}`, () => {
      assertUserError(
        () =>
          parseManifests(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\n${text}`, 'k8s/x.yaml'),
        'ManifestMissingField',
        'k8s/x.yaml',
        2,
        field,
      );
    });
  }

  it('fails naming the item of a List that lacks a name', () => {
    assertUserError(
      () =>
        parseManifests(
          'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {}}\n',
          'l.yaml',
        ),
      'ListItemMissingField',
      'l.yaml',
      1,
      1,
      'metadata.name',
    );
  });
});

describe('serializeManifests', () => {
  it('writes one document per object and quotes strings kubectl would read as something else', () => {
    const yaml = serializeManifests([
      {
        source: { file: 'a.yaml', document: 1 },
        object: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'a' },
          data: {
            flag: 'on',
            answer: 'yes',
            mode: '0644',
            count: '12',
            day: '2024-01-31',
            line: 'x'.repeat(200),
          },
        },
      },
      {
        source: { file: 'a.yaml', document: 2 },
        object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'b' } },
      },
    ]);
    assert.equal(
      yaml,
      [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: a',
        'data:',
        "  flag: 'on'",
        "  answer: 'yes'",
        "  mode: '0644'",
        "  count: '12'",
        '  day: 2024-01-31',
        `  line: ${'x'.repeat(200)}`,
        '---',
        'apiVersion: v1',
        'kind: Secret',
        'metadata:',
        '  name: b',
        '',
      ].join('\n'),
    );
  });

  it('reads back as the objects it wrote', () => {
    const manifests = parseManifests(template('every-kind.yaml').text, 'every-kind.yaml');
    const again = parseManifests(serializeManifests(manifests), 'rendered.yaml');
    assert.deepEqual(
      again.map(({ object }) => object),
      manifests.map(({ object }) => object),
    );
  });
});

describe('renderManifests', () => {
  it('renders tokens, images, namespaces and annotations into the YAML that will be applied', () => {
    const rendered = renderManifests({
      templates: [template('app.yaml')],
      variables: new Map([
        ['REPLICAS', '3'],
        ['HOST', 'staging.contoso.com'],
      ]),
      images: [parseImageReference('contoso.azurecr.io/team/web:1.4.2')],
      namespace: 'web-staging',
      run: RUN,
    });
    assert.equal(rendered.yaml, fs.readFileSync(path.join(FIXTURES, 'rendered', 'app.yaml'), 'utf8'));
    assert.deepEqual(rendered.namespaces, {
      needed: ['shared', 'web-staging'],
      defined: ['web-staging'],
      mustExist: ['shared'],
    });
    assert.deepEqual(
      rendered.images.map(({ image, replacements }) => [
        image,
        replacements.map((r) => `${r.object} ${r.previousImage}`),
      ]),
      [['contoso.azurecr.io/team/web:1.4.2', ['Deployment web contoso.azurecr.io/team/web:latest']]],
    );
    assert.deepEqual(
      rendered.manifests.map(({ object }) => `${object.kind} ${object.metadata.name}`),
      ['Namespace web-staging', 'Deployment web', 'Service web', 'ClusterRole web-reader'],
    );
  });

  it('adds no annotations when there is no run to name', () => {
    const rendered = renderManifests({
      templates: [{ path: 'cm.yaml', text: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n' }],
      variables: new Map(),
      images: [],
      namespace: 'default',
      run: undefined,
    });
    assert.equal(
      rendered.yaml,
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: default\n',
    );
  });

  it('puts Namespaces and CustomResourceDefinitions before the objects that need them', () => {
    const rendered = renderManifests({
      templates: [
        {
          path: 'all.yaml',
          text: [
            'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first, namespace: team}',
            'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.contoso.com}',
            'apiVersion: v1\nkind: Namespace\nmetadata: {name: team}',
            'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: second, namespace: team}',
          ].join('\n---\n'),
        },
      ],
      variables: new Map(),
      images: [],
      namespace: 'default',
      run: undefined,
    });
    assert.deepEqual(
      rendered.manifests.map(({ object }) => object.metadata.name),
      ['team', 'widgets.contoso.com', 'first', 'second'],
    );
  });

  it('fails on an unresolved token in any file, before anything else', () => {
    assertUserError(
      () =>
        renderManifests({
          templates: [template('app.yaml')],
          variables: new Map([['REPLICAS', '3']]),
          images: [parseImageReference('contoso.azurecr.io/team/other:1')],
          namespace: 'default',
          run: RUN,
        }),
      'UnresolvedToken',
      'k8s/app.yaml',
      27,
      'HOST',
    );
  });

  it('fails when the templates hold no objects', () => {
    assertUserError(
      () =>
        renderManifests({
          templates: [
            { path: 'a.yaml', text: '---\n' },
            { path: 'b.yaml', text: '# nothing yet\n' },
          ],
          variables: new Map(),
          images: [],
          namespace: 'default',
          run: undefined,
        }),
      'TemplatesHoldNoObjects',
      2,
    );
  });
});
