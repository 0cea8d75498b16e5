import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findTemplateFiles, readTemplateFiles } from '../../tasks/deploy-aks-template/templates';
import { assertUserError } from './messages';

describe('findTemplateFiles', () => {
  let root: string;
  const write = (relative: string, text = 'kind: x\n'): void => {
    const file = path.join(root, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  };
  const relative = (files: string[]): string[] => files.map((file) => path.relative(root, file));

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'templates-'));
    write('k8s/b-service.yaml');
    write('k8s/a-deployment.yml');
    write('k8s/Z-upper.YAML');
    write('k8s/overlays/prod/patch.yaml');
    write('k8s/README.md');
    write('k8s/secret.yaml');
    write('extra/job.yaml');
    write('docs/notes.txt');
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('takes every YAML file of a folder, recursively, in code-point order', () => {
    assert.deepEqual(relative(findTemplateFiles(['k8s'], root)), [
      'k8s/Z-upper.YAML',
      'k8s/a-deployment.yml',
      'k8s/b-service.yaml',
      'k8s/overlays/prod/patch.yaml',
      'k8s/secret.yaml',
    ]);
  });

  it('takes a named file whatever its extension', () => {
    assert.deepEqual(relative(findTemplateFiles(['docs/notes.txt'], root)), ['docs/notes.txt']);
  });

  it('takes what a glob matches, and the YAML files of folders it matches', () => {
    assert.deepEqual(relative(findTemplateFiles(['k8s/*-*.y*ml', 'k8s/overlay*'], root)), [
      'k8s/a-deployment.yml',
      'k8s/b-service.yaml',
      'k8s/overlays/prod/patch.yaml',
    ]);
  });

  it('keeps the order of the lines and lists a file once', () => {
    assert.deepEqual(relative(findTemplateFiles(['extra/job.yaml', 'k8s/b-service.yaml', 'extra'], root)), [
      'extra/job.yaml',
      'k8s/b-service.yaml',
    ]);
  });

  it('accepts absolute paths', () => {
    assert.deepEqual(findTemplateFiles([path.join(root, 'extra')], root), [
      path.join(root, 'extra/job.yaml'),
    ]);
  });

  it('leaves out what a ! line matches, inside matched folders too', () => {
    assert.deepEqual(relative(findTemplateFiles(['k8s', '!k8s/secret.yaml', '!**/overlays/**'], root)), [
      'k8s/Z-upper.YAML',
      'k8s/a-deployment.yml',
      'k8s/b-service.yaml',
    ]);
  });

  it('fails naming a line that matches nothing', () => {
    assertUserError(
      () => findTemplateFiles(['k8s', 'manifests/*.yaml'], root),
      'TemplateMatchedNothing',
      'manifests/*.yaml',
      root,
    );
  });

  it('fails naming a folder that holds no YAML file', () => {
    assertUserError(() => findTemplateFiles(['docs'], root), 'TemplateMatchedNothing', 'docs', root);
  });

  it('fails naming a line whose every match is excluded', () => {
    assertUserError(
      () => findTemplateFiles(['extra', '!extra/*'], root),
      'TemplateMatchedNothing',
      'extra',
      root,
    );
  });

  it('reads the files it found', () => {
    write('read/one.yaml', 'a: 1\n');
    assert.deepEqual(readTemplateFiles([path.join(root, 'read/one.yaml')]), [
      { path: path.join(root, 'read/one.yaml'), text: 'a: 1\n' },
    ]);
  });
});
