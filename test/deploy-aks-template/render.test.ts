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

  // What kubectl 1.32.4 read each plain scalar as (`kubectl create --dry-run=client -o json` of a
  // ConfigMap holding them, against the sandbox): go-yaml v2's resolve, which `yaml`'s 1.1 schema
  // does not follow for numbers (it read `e1` as NaN and `0o17` as a string).
  const KUBECTL_READS: readonly [string, unknown][] = [
    ['e1', 'e1'],
    ['E5', 'E5'],
    ['.', '.'],
    ['-.', '-.'],
    ['1.5', 1.5],
    ['-.5', -0.5],
    ['1e3', 1000],
    ['2.5E-1', 0.25],
    ['1_000.5', 1000.5],
    ['._5', '._5'],
    ['.5_', '.5_'],
    ['-._5', -0.5],
    ['.5e-3', 0.0005],
    ['.5_0', 0.5],
    ['.1_2_3', 0.123],
    ['1e_3', 1000],
    ['-_1', -1],
    ['+_1', 1],
    ['0o17', 15],
    ['0x1F', 31],
    ['+0x1F', 31],
    ['0b101', 5],
    ['0644', 420],
    ['08', 8],
    ['09.5', 9.5],
    ['1_', 1],
    ['1.', 1],
    ['+.5', 0.5],
    ['-1.5E+3', -1500],
    ['1e', '1e'],
    ['.e1', '.e1'],
    ['_1', '_1'],
    ['0_x1F', 31],
    ['1__0', 10],
    ['0', 0],
    ['-0', 0],
    ['00', 0],
    ['0.0', 0],
    ['1e1_0', 10000000000],
    ['.5e1_0', 5000000000],
    ['.5e_1', '.5e_1'],
    ['123456789012', 123456789012],
    ['1:20', '1:20'],
    ['2024-01-31', '2024-01-31'],
    ['0x', '0x'],
    ['0b', '0b'],
    ['0o', '0o'],
    ['+', '+'],
    ['1_e3', 1000],
    ['1_.5', 1.5],
    ['1._5', 1.5],
    ['yes', true],
    ['on', true],
    ['n', false],
    ['~', null],
    ['null', null],
    ['0777_7', 4095],
    ['0xG', '0xG'],
    ['1.2.3', '1.2.3'],
    ['1e400', '1e400'],
    ['-1e400', '-1e400'],
    ['.1e400', '.1e400'],
    ['0x1FFFFFFFFFFFFFFFF', '0x1FFFFFFFFFFFFFFFF'],
    ['0o7777777777777777777777777', '0o7777777777777777777777777'],
    [
      '0b11111111111111111111111111111111111111111111111111111111111111111',
      '0b11111111111111111111111111111111111111111111111111111111111111111',
    ],
    ['-0x8000000000000001', '-0x8000000000000001'],
    ['18446744073709551615', 18446744073709552000],
    ['18446744073709551616', 18446744073709552000],
    ['-9223372036854775808', -9223372036854776000],
    ['-9223372036854775809', -9223372036854776000],
    ['-0x1F', -31],
    ['0X1f', 31],
    ['+0o7', 7],
    ['0_7', 7],
    ['0b_1', 1],
    ['1.e5', 100000],
    ['01.5', 1.5],
    ['6.02e+23', 6.02e23],
  ];

  it('reads every plain scalar as kubectl does', () => {
    const text =
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: scalars}\ndata:\n' +
      KUBECTL_READS.map(([plain], index) => `  k${index}: ${plain}\n`).join('');
    const data = parseManifests(text, 's.yaml')[0]?.object.data as Record<string, unknown>;
    for (const [index, [plain, kubectl]] of KUBECTL_READS.entries())
      assert.deepEqual(JSON.parse(JSON.stringify(data[`k${index}`])), kubectl, plain);
  });

  it('writes back quoted every string kubectl would read as something else', () => {
    const text =
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: strings}\ndata:\n' +
      KUBECTL_READS.map(([plain], index) => `  k${index}: ${JSON.stringify(plain)}\n`).join('');
    const written = serializeManifests(parseManifests(text, 's.yaml'));
    const reread = parseManifests(written, 'w.yaml')[0]?.object.data as Record<string, unknown>;
    for (const [index, [plain]] of KUBECTL_READS.entries()) assert.equal(reread[`k${index}`], plain, plain);
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
