import * as assert from 'node:assert/strict';
import {
  annotateManifests,
  runAnnotations,
  runUrl,
  type RunInfo,
} from '../../tasks/deploy-aks-template/annotations';
import type { Manifest } from '../../tasks/deploy-aks-template/kubernetesObject';

const RUN: RunInfo = {
  organizationUrl: 'https://dev.azure.com/contoso/',
  project: 'Web Shop',
  pipelineName: 'web-cd',
  pipelineId: '12',
  runId: '4711',
  runUrl: 'https://dev.azure.com/contoso/Web%20Shop/_build/results?buildId=4711',
  commit: '0123abc',
  jobName: 'Deploy staging',
};

describe('runAnnotations', () => {
  it('names every field of the run under the keys KubernetesManifest uses', () => {
    assert.deepEqual(runAnnotations(RUN), {
      'azure-pipelines/org': 'https://dev.azure.com/contoso/',
      'azure-pipelines/project': 'Web Shop',
      'azure-pipelines/pipeline': 'web-cd',
      'azure-pipelines/pipelineId': '12',
      'azure-pipelines/execution': '4711',
      'azure-pipelines/executionuri': 'https://dev.azure.com/contoso/Web%20Shop/_build/results?buildId=4711',
      'azure-pipelines/commit': '0123abc',
      'azure-pipelines/jobName': 'Deploy staging',
    });
  });

  it('leaves out what the run does not know', () => {
    assert.deepEqual(runAnnotations({ pipelineName: 'p', runId: '1', runUrl: 'u', commit: '' }), {
      'azure-pipelines/pipeline': 'p',
      'azure-pipelines/execution': '1',
      'azure-pipelines/executionuri': 'u',
    });
  });
});

describe('runUrl', () => {
  it('builds the results page of a run, with or without a trailing slash on the organisation', () => {
    const expected = 'https://dev.azure.com/contoso/Web%20Shop/_build/results?buildId=4711';
    assert.equal(runUrl('https://dev.azure.com/contoso/', 'Web Shop', '4711'), expected);
    assert.equal(runUrl('https://dev.azure.com/contoso', 'Web Shop', '4711'), expected);
  });
});

describe('annotateManifests', () => {
  const deployment: Manifest = {
    source: { file: 'app.yaml', document: 1 },
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', annotations: { owner: 'team-web', 'azure-pipelines/commit': 'old' } },
      spec: {
        template: { metadata: { labels: { app: 'web' }, annotations: { 'prometheus.io/scrape': 'true' } } },
      },
    },
  };

  it("adds the run to the object's own annotations, keeping the others", () => {
    const [annotated] = annotateManifests([deployment], RUN);
    assert.deepEqual(annotated?.object.metadata.annotations, { owner: 'team-web', ...runAnnotations(RUN) });
  });

  it('leaves the pod template as it was, so an unchanged deploy restarts nothing', () => {
    const [annotated] = annotateManifests([deployment], RUN);
    assert.deepEqual(annotated?.object.spec, deployment.object.spec);
  });

  it('annotates an object that had no annotations, without changing the one it was given', () => {
    const configMap: Manifest = {
      source: { file: 'cm.yaml', document: 1 },
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' } },
    };
    const [annotated] = annotateManifests([configMap], { pipelineName: 'p', runId: '1', runUrl: 'u' });
    assert.deepEqual(annotated?.object.metadata, {
      name: 'cm',
      annotations: {
        'azure-pipelines/pipeline': 'p',
        'azure-pipelines/execution': '1',
        'azure-pipelines/executionuri': 'u',
      },
    });
    assert.deepEqual(configMap.object.metadata, { name: 'cm' });
  });
});
