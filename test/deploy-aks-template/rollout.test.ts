import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Kubectl,
  KubectlAbortedError,
  type KubectlResult,
  type KubectlRunOptions,
} from '../../tasks/deploy-aks-template/kubectl';
import type { JsonObject } from '../../tasks/deploy-aks-template/kubernetesObject';
import { waitForRollouts, type RolloutTarget } from '../../tasks/deploy-aks-template/rollout';
import { message } from './messages';

const PODS = path.join(__dirname, '..', '..', '..', 'test', 'deploy-aks-template', 'fixtures', 'pods');

function target(kind: string, name: string, namespace: string): RolloutTarget {
  return {
    workload: { kind, name, namespace } as RolloutTarget['workload'],
    applied: {
      kind,
      metadata: { name, uid: `uid-${name}` },
      spec: { selector: { matchLabels: { app: name } } },
    },
  };
}

type Behaviour = (args: readonly string[], options: KubectlRunOptions) => Promise<KubectlResult>;

/** Records each call without the global flags; `behaviour` answers it. */
function kubectlWith(behaviour: Behaviour): { kubectl: Kubectl; calls: string[] } {
  const calls: string[] = [];
  const kubectl = new Kubectl(
    (args, options) => {
      calls.push(args.slice(3).join(' '));
      return behaviour(args.slice(3), options);
    },
    { kubeconfig: '/k', requestTimeoutSeconds: 30, commandTimeoutSeconds: 60 },
  );
  return { kubectl, calls };
}

const done = (): Promise<KubectlResult> => Promise.resolve({ code: 0, stdout: '', stderr: '' });
const emptyList = (): Promise<KubectlResult> =>
  Promise.resolve({ code: 0, stdout: '{"items":[]}', stderr: '' });

/** `kubectl get job/<name> -o json` of a Job with these conditions. */
function jobAnswer(name: string, conditions: readonly object[]): Promise<KubectlResult> {
  return Promise.resolve({
    code: 0,
    stdout: JSON.stringify({ kind: 'Job', metadata: { name }, status: { conditions } }),
    stderr: '',
  });
}

function hang(options: KubectlRunOptions): Promise<KubectlResult> {
  return new Promise((_resolve, reject) =>
    options.signal?.addEventListener('abort', () => reject(new KubectlAbortedError())),
  );
}

describe('waitForRollouts', () => {
  it('waits in one kubectl process per namespace, Jobs in one of their own, and times each workload', async () => {
    const web = target('Deployment', 'web', 'a');
    const db = target('StatefulSet', 'db', 'a');
    const migrate = target('Job', 'migrate', 'a');
    const api = target('Deployment', 'api', 'b');
    const { kubectl, calls } = kubectlWith((args) => (args[0] === 'get' ? emptyList() : done()));
    const rolledOut: string[] = [];
    const result = await waitForRollouts(kubectl, [web, db, migrate, api], {
      timeoutSeconds: 600,
      pollIntervalMs: 60_000,
      now: Date.now,
      onRolledOut: ({ workload }) => rolledOut.push(workload.name),
    });
    assert.deepEqual(result.failures, []);
    assert.deepEqual([...calls].sort(), [
      'rollout status deployment/api --watch=true --timeout=600s --namespace b',
      'rollout status deployment/web statefulset/db --watch=true --timeout=600s --namespace a',
      'wait job/migrate --for=condition=Complete --timeout=600s --namespace a',
    ]);
    assert.deepEqual([...result.durationsMs.keys()].sort(), [
      'Deployment a/web',
      'Deployment b/api',
      'Job a/migrate',
      'StatefulSet a/db',
    ]);
    assert.deepEqual([...rolledOut].sort(), ['api', 'db', 'migrate', 'web']);
  });

  it('times out the workload kubectl was still waiting for when the one timeout for all has passed', async () => {
    const web = target('Deployment', 'web', 'a');
    const db = target('StatefulSet', 'db', 'a');
    const rolledOut: string[] = [];
    const { kubectl } = kubectlWith((args, options) => {
      if (args[0] === 'get') return emptyList();
      options.onStdout?.('deployment "web" successfully rolled out\n');
      return hang(options);
    });
    const result = await waitForRollouts(kubectl, [web, db], {
      timeoutSeconds: 1,
      pollIntervalMs: 60_000,
      now: Date.now,
      onRolledOut: ({ workload }) => rolledOut.push(workload.name),
    });
    assert.deepEqual(rolledOut, ['web']);
    assert.equal(result.failures.length, 1);
    assert.equal(result.failures[0]?.error.message, message('RolloutTimedOut', 'StatefulSet a/db', 1));
  });

  it('fails at the first poll that finds a pod that cannot start, and stops the rollout wait', async () => {
    const web = target('Deployment', 'web', 'a');
    const backOff = JSON.parse(
      fs.readFileSync(path.join(PODS, 'image-pull-backoff.json'), 'utf8'),
    ) as JsonObject;
    let stopped = false;
    const { kubectl, calls } = kubectlWith((args, options) => {
      if (args[0] === 'get')
        return Promise.resolve({ code: 0, stdout: JSON.stringify({ items: [backOff] }), stderr: '' });
      return hang(options).catch((error: unknown) => {
        stopped = true;
        throw error;
      });
    });
    const result = await waitForRollouts(kubectl, [web], {
      timeoutSeconds: 600,
      pollIntervalMs: 5,
      now: Date.now,
    });
    assert.equal(result.failures.length, 1);
    assert.equal(result.failures[0]?.pod?.reason, 'ImagePullBackOff');
    assert.ok(stopped, 'the rollout wait was stopped');
    assert.ok(calls.includes('get ReplicaSet,Pod --namespace a --selector=app=web --output=json'));
  });

  it('fails a Job that gave up as soon as a failed pod leads to its Failed condition, with that pod and its container', async () => {
    const migrate = target('Job', 'migrate', 'a');
    const failedPod = {
      kind: 'Pod',
      metadata: { name: 'migrate-x1', labels: { app: 'migrate' }, creationTimestamp: '2026-12-01T05:00:02Z' },
      status: {
        phase: 'Failed',
        containerStatuses: [{ name: 'migrate', state: { terminated: { reason: 'Error', exitCode: 3 } } }],
      },
    };
    let jobFailed = false;
    const { kubectl, calls } = kubectlWith((args, options) => {
      if (args[0] === 'get' && args[1] === 'Pod')
        return Promise.resolve({ code: 0, stdout: JSON.stringify({ items: [failedPod] }), stderr: '' });
      if (args[0] === 'get' && args[1] === 'job/migrate') {
        // The first ask: the Job still retries; the second: it has given up.
        const conditions = jobFailed
          ? [
              {
                type: 'Failed',
                status: 'True',
                reason: 'BackoffLimitExceeded',
                message: 'Job has reached the specified backoff limit',
              },
            ]
          : [];
        jobFailed = true;
        return jobAnswer('migrate', conditions);
      }
      return hang(options);
    });
    const result = await waitForRollouts(kubectl, [migrate], {
      timeoutSeconds: 600,
      pollIntervalMs: 5,
      now: Date.now,
    });
    assert.equal(result.failures.length, 1);
    assert.equal(
      result.failures[0]?.error.message,
      message(
        'JobFailed',
        'Job a/migrate',
        'BackoffLimitExceeded: Job has reached the specified backoff limit',
      ),
    );
    assert.deepEqual(result.failures[0]?.pod, {
      pod: 'migrate-x1',
      container: 'migrate',
      reason: 'Failed',
      message: 'BackoffLimitExceeded; exit: Error, code 3',
    });
    assert.equal(calls.filter((call) => call.startsWith('get job/migrate')).length, 2);
  });

  it('fails a Job that ran out of time even when its pods are gone', async () => {
    const migrate = target('Job', 'migrate', 'a');
    const { kubectl } = kubectlWith((args, options) => {
      if (args[0] === 'get' && args[1] === 'Pod') return emptyList();
      if (args[0] === 'get' && args[1] === 'job/migrate')
        return jobAnswer('migrate', [
          {
            type: 'Failed',
            status: 'True',
            reason: 'DeadlineExceeded',
            message: 'Job was active longer than specified deadline',
          },
        ]);
      return hang(options);
    });
    const result = await waitForRollouts(kubectl, [migrate], {
      timeoutSeconds: 600,
      pollIntervalMs: 5,
      now: Date.now,
    });
    assert.equal(
      result.failures[0]?.error.message,
      message(
        'JobFailed',
        'Job a/migrate',
        'DeadlineExceeded: Job was active longer than specified deadline',
      ),
    );
    assert.equal(result.failures[0]?.pod, undefined);
  });
});
