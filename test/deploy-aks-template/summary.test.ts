import * as assert from 'node:assert/strict';
import { renderSummary, type DeployReport } from '../../tasks/deploy-aks-template/summary';

const BASE: DeployReport = {
  server: 'https://aks-staging.hcp.westeurope.azmk8s.io:443',
  dryRun: false,
  objects: [
    { object: 'Deployment web/web', result: 'changed' },
    { object: 'Service web/web', result: 'applied' },
  ],
  rolloutMs: new Map([['Deployment web/web', 12345]]),
  images: [
    {
      workload: { kind: 'Deployment', name: 'web', namespace: 'web' },
      container: 'web',
      image: 'contoso.azurecr.io/web:2.0@sha256:abc',
    },
  ],
  endpoints: ['http://20.1.2.3:80'],
  rolledBack: [],
  leftCreated: [],
};

describe('renderSummary', () => {
  it('lists the objects with their rollout times, the images and the endpoints', () => {
    assert.equal(
      renderSummary(BASE),
      [
        '### Deployed to `https://aks-staging.hcp.westeurope.azmk8s.io:443`',
        '',
        '| Object | Result | Rollout |',
        '|---|---|---|',
        '| Deployment web/web | changed | 12.3 s |',
        '| Service web/web | applied |  |',
        '',
        '| Workload | Container | Image |',
        '|---|---|---|',
        '| Deployment web/web | web | `contoso.azurecr.io/web:2.0@sha256:abc` |',
        '',
        'Endpoints:',
        '',
        '- http://20.1.2.3:80',
        '',
      ].join('\n'),
    );
  });

  it('puts the failure first and says what was rolled back and what was left', () => {
    const markdown = renderSummary({
      ...BASE,
      images: [],
      endpoints: [],
      failure: 'Deployment web/web cannot roll out: pod web-1 | container web',
      rolledBack: ['Deployment web/web'],
      leftCreated: ['Deployment web/worker'],
    });
    assert.deepEqual(markdown.split('\n').slice(2, 4), [
      '**Failed:** Deployment web/web cannot roll out: pod web-1 \\| container web',
      '',
    ]);
    assert.match(markdown, /\n\*\*Rolled back:\*\* Deployment web\/web\n/);
    assert.match(markdown, /\n\*\*Left in place \(created by this run\):\*\* Deployment web\/worker\n/);
  });

  it('titles a dry run and says whether the cluster differs', () => {
    const markdown = renderSummary({ ...BASE, dryRun: true, differences: false, images: [], endpoints: [] });
    assert.deepEqual(markdown.split('\n').slice(0, 3), [
      '### Dry run against `https://aks-staging.hcp.westeurope.azmk8s.io:443`',
      '',
      'The cluster already matches the templates.',
    ]);
  });
});
