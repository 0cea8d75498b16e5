import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { classifyPodFailure, type PodFailure } from '../../tasks/deploy-aks-template/podFailures';

const PODS = path.resolve(__dirname, '../../../test/deploy-aks-template/fixtures/pods');

function pod(name: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(PODS, `${name}.json`), 'utf8'));
}

describe('classifyPodFailure', () => {
  const failures: [string, PodFailure][] = [
    [
      'image-pull-backoff',
      {
        pod: 'web-7d9c-abcde',
        container: 'web',
        reason: 'ImagePullBackOff',
        message: 'Back-off pulling image "contoso.azurecr.io/team/web:1.4.2"',
      },
    ],
    [
      'err-image-pull',
      {
        pod: 'web-7d9c-bcdef',
        container: 'web',
        reason: 'ErrImagePull',
        message: 'failed to pull and unpack image "contoso.azurecr.io/team/web:1.4.2": not found',
      },
    ],
    [
      'invalid-image-name',
      {
        pod: 'web-7d9c-cdefg',
        container: 'web',
        reason: 'InvalidImageName',
        message: 'Failed to apply default image tag "Contoso/Web": couldn\'t parse image name',
      },
    ],
    [
      'create-container-config-error',
      {
        pod: 'web-7d9c-defgh',
        container: 'web',
        reason: 'CreateContainerConfigError',
        message: 'secret "web-db" not found',
      },
    ],
    [
      'crash-loop',
      {
        pod: 'web-7d9c-efghi',
        container: 'web',
        reason: 'CrashLoopBackOff',
        message:
          'back-off 20s restarting failed container=web pod=web-7d9c-efghi_web-staging(0f0e); last exit: Error, code 1',
      },
    ],
    [
      'init-container-crash',
      {
        pod: 'web-7d9c-fghij',
        container: 'migrate',
        reason: 'CrashLoopBackOff',
        message: 'back-off 10s restarting failed container=migrate; last exit: OOMKilled, code 137',
      },
    ],
    [
      'unschedulable',
      {
        pod: 'web-7d9c-ghijk',
        container: undefined,
        reason: 'Unschedulable',
        message: '0/3 nodes are available: 3 Insufficient cpu.',
      },
    ],
  ];
  for (const [fixture, expected] of failures) {
    it(`classifies ${fixture} as ${expected.reason}`, () =>
      assert.deepEqual(classifyPodFailure(pod(fixture)), expected));
  }

  for (const fixture of ['container-creating', 'running', 'pending-no-status']) {
    it(`finds nothing wrong with ${fixture}: it may yet become ready`, () =>
      assert.equal(classifyPodFailure(pod(fixture)), undefined));
  }

  it('finds nothing in what is not a pod', () => {
    assert.equal(classifyPodFailure(null), undefined);
    assert.equal(classifyPodFailure({ status: { containerStatuses: 'broken' } }), undefined);
  });
});
