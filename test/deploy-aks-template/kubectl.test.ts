import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  FIELD_MANAGER,
  Kubectl,
  KubectlAbortedError,
  KubectlError,
  KubectlTimeoutError,
  errorLine,
  isTransientFailure,
  parseApplyConflicts,
  processRunner,
  type KubectlResult,
  type KubectlRunOptions,
} from '../../tasks/deploy-aks-template/kubectl';
import { assertRejectsWithUserError, message } from './messages';

const KUBECONFIG = '/tmp/agent/kubeconfig';
const GLOBAL = ['--kubeconfig', KUBECONFIG, '--request-timeout=30s'];

/** A runner that records each call and answers from a queue (exit 0, empty output by default). */
class FakeRunner {
  readonly calls: { args: readonly string[]; options: KubectlRunOptions }[] = [];
  private readonly answers: (Partial<KubectlResult> | Error)[] = [];

  answer(...answers: (Partial<KubectlResult> | Error)[]): this {
    this.answers.push(...answers);
    return this;
  }

  readonly run = (args: readonly string[], options: KubectlRunOptions): Promise<KubectlResult> => {
    this.calls.push({ args, options });
    const answer = this.answers.shift() ?? {};
    if (answer instanceof Error) return Promise.reject(answer);
    // What kubectl printed as it ran, line by line as a rollout wait prints.
    for (const line of (answer.stdout ?? '').split(/(?<=\n)/)) if (line !== '') options.onStdout?.(line);
    return Promise.resolve({ code: 0, stdout: '', stderr: '', ...answer });
  };

  kubectl(): Kubectl {
    return new Kubectl(this.run, {
      kubeconfig: KUBECONFIG,
      requestTimeoutSeconds: 30,
      commandTimeoutSeconds: 120,
      retryDelaysMs: [0, 0],
    });
  }

  get args(): (readonly string[])[] {
    return this.calls.map((call) => call.args);
  }
}

const CONFLICT_ONE = `error: Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas
Please review the fields above--they currently have other managers. Here
are the ways you can resolve this warning:
* If you intend to manage all of these fields, please re-run the apply
  command with the \`--force-conflicts\` flag.`;

const CONFLICT_MANY = `error: Apply failed with 3 conflicts: conflicts with "helm" using apps/v1 at 2026-11-30T10:00:00Z:
- .spec.replicas
- .spec.template.spec.containers[name="web"].image
conflicts with "kubectl-edit" using apps/v1:
- .metadata.labels.tier
Please review the fields above--they currently have other managers.`;

describe('Kubectl', () => {
  describe('apply', () => {
    it('applies server-side under our field manager, every file named', async () => {
      const runner = new FakeRunner().answer({
        stdout: 'deployment.apps/web serverside-applied\nservice/web serverside-applied\n',
      });
      const applied = await runner.kubectl().apply(['a.yaml', 'b.yaml'], {
        serverSide: true,
        fieldManager: FIELD_MANAGER,
        forceConflicts: false,
        dryRun: undefined,
      });
      assert.deepEqual(runner.args, [
        [
          ...GLOBAL,
          'apply',
          '--server-side',
          '--field-manager=azure-pipelines',
          '--filename',
          'a.yaml',
          '--filename',
          'b.yaml',
        ],
      ]);
      assert.deepEqual(runner.calls[0]?.options, { timeoutMs: 120_000 });
      assert.deepEqual(applied, ['deployment.apps/web serverside-applied', 'service/web serverside-applied']);
    });

    it('returns the applied objects as the server stored them, with the lines kubectl prints without --output', async () => {
      const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', uid: 'u1' } };
      const ingress = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'shop' } };
      const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-settings' } };
      const runner = new FakeRunner().answer({
        stdout: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [deployment, ingress, configMap] }),
      });
      const applied = await runner.kubectl().applyReturningObjects(['a.yaml'], {
        serverSide: true,
        fieldManager: FIELD_MANAGER,
        forceConflicts: true,
      });
      assert.deepEqual(runner.args, [
        [
          ...GLOBAL,
          'apply',
          '--server-side',
          '--field-manager=azure-pipelines',
          '--force-conflicts',
          '--output=json',
          '--filename',
          'a.yaml',
        ],
      ]);
      assert.deepEqual(applied.objects, [deployment, ingress, configMap]);
      assert.deepEqual(applied.lines, [
        'deployment.apps/web serverside-applied',
        'ingress.networking.k8s.io/shop serverside-applied',
        'configmap/web-settings serverside-applied',
      ]);
    });

    it('returns a single applied object, which kubectl prints without a List', async () => {
      const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' } };
      const runner = new FakeRunner().answer({ stdout: JSON.stringify(service) });
      const applied = await runner.kubectl().applyReturningObjects(['a.yaml'], {
        serverSide: true,
        fieldManager: FIELD_MANAGER,
        forceConflicts: false,
      });
      assert.deepEqual(applied, { objects: [service], lines: ['service/web serverside-applied'] });
    });

    it('forces conflicts and dry-runs on the server only when asked', async () => {
      const runner = new FakeRunner();
      await runner.kubectl().apply(['r.yaml'], {
        serverSide: true,
        fieldManager: 'azure-pipelines',
        forceConflicts: true,
        dryRun: 'server',
      });
      assert.deepEqual(runner.args, [
        [
          ...GLOBAL,
          'apply',
          '--server-side',
          '--field-manager=azure-pipelines',
          '--force-conflicts',
          '--dry-run=server',
          '--filename',
          'r.yaml',
        ],
      ]);
    });

    it('explains a field conflict: which manager owns which field', async () => {
      const runner = new FakeRunner().answer({ code: 1, stderr: CONFLICT_ONE });
      await assertRejectsWithUserError(
        () =>
          runner.kubectl().apply(['r.yaml'], {
            serverSide: true,
            fieldManager: FIELD_MANAGER,
            forceConflicts: false,
            dryRun: 'server',
          }),
        'ApplyConflict',
        '.spec.replicas (owned by kubectl-client-side-apply)',
      );
    });

    it('explains a Job whose pod template the apply would change: it cannot, and what to do', async () => {
      const alone =
        'The Job "migrate" is invalid: spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable';
      // kubectl's form when another object of the apply failed too.
      const withOthers =
        'Error from server (Invalid): Job.batch "migrate" is invalid: spec.template: Invalid value: core.PodTemplateSpec{...}: field is immutable\n' +
        'Error from server (Invalid): ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value';
      for (const stderr of [alone, withOthers])
        await assertRejectsWithUserError(
          () =>
            new FakeRunner().answer({ code: 1, stderr }).kubectl().apply(['r.yaml'], {
              serverSide: true,
              fieldManager: FIELD_MANAGER,
              forceConflicts: false,
              dryRun: undefined,
            }),
          'JobTemplateImmutable',
          'migrate',
        );
    });

    it('fails with the first line kubectl wrote for any other error', async () => {
      const stderr =
        'Error from server (Forbidden): deployments.apps "web" is forbidden: User "ci" cannot patch\nmore';
      const runner = new FakeRunner().answer({ code: 1, stderr });
      await assert.rejects(
        () =>
          runner.kubectl().apply(['r.yaml'], {
            serverSide: true,
            fieldManager: FIELD_MANAGER,
            forceConflicts: false,
            dryRun: undefined,
          }),
        (error: unknown) => {
          assert.ok(error instanceof KubectlError);
          assert.equal(error.message, message('KubectlFailed', 'apply', 1, stderr.split('\n')[0]));
          assert.equal(error.result.stderr, stderr);
          return true;
        },
      );
    });
  });

  describe('diff', () => {
    it('reads exit code 1 as "differences", with the diff', async () => {
      const runner = new FakeRunner().answer({ code: 1, stdout: '-  replicas: 2\n+  replicas: 3\n' });
      const result = await runner
        .kubectl()
        .diff(['r.yaml'], { fieldManager: FIELD_MANAGER, forceConflicts: false });
      assert.deepEqual(result, { changed: true, diff: '-  replicas: 2\n+  replicas: 3\n' });
      assert.deepEqual(runner.args, [
        [...GLOBAL, 'diff', '--server-side', '--field-manager=azure-pipelines', '--filename', 'r.yaml'],
      ]);
    });

    it('reads exit code 0 as "no differences"', async () => {
      const runner = new FakeRunner().answer({ code: 0 });
      const result = await runner
        .kubectl()
        .diff(['r.yaml'], { fieldManager: FIELD_MANAGER, forceConflicts: true });
      assert.deepEqual(result, { changed: false, diff: '' });
      assert.deepEqual(runner.args[0]?.slice(GLOBAL.length), [
        'diff',
        '--server-side',
        '--field-manager=azure-pipelines',
        '--force-conflicts',
        '--filename',
        'r.yaml',
      ]);
    });

    it('fails on exit codes above 1', async () => {
      const runner = new FakeRunner().answer({ code: 2, stderr: 'error: unable to recognize "r.yaml"' });
      await assert.rejects(
        () => runner.kubectl().diff(['r.yaml'], { fieldManager: FIELD_MANAGER, forceConflicts: false }),
        KubectlError,
      );
    });
  });

  describe('rolloutStatus', () => {
    it('watches a Deployment rollout in its namespace, giving the process the wait on top of its limit', async () => {
      const runner = new FakeRunner();
      await runner.kubectl().rolloutStatus([{ kind: 'Deployment', name: 'web' }], 'web-staging', 600);
      assert.deepEqual(runner.args, [
        [
          ...GLOBAL,
          'rollout',
          'status',
          'deployment/web',
          '--watch=true',
          '--timeout=600s',
          '--namespace',
          'web-staging',
        ],
      ]);
      assert.deepEqual(runner.calls[0]?.options, { timeoutMs: 720_000 });
    });

    it('watches the rollouts of several workloads of a namespace in one process, with the abort signal', async () => {
      const runner = new FakeRunner();
      const stop = new AbortController();
      await runner.kubectl().rolloutStatus(
        [
          { kind: 'Deployment', name: 'web' },
          { kind: 'StatefulSet', name: 'db' },
          { kind: 'DaemonSet', name: 'agent' },
        ],
        'shop',
        60,
        { signal: stop.signal },
      );
      assert.deepEqual(runner.args, [
        [
          ...GLOBAL,
          'rollout',
          'status',
          'deployment/web',
          'statefulset/db',
          'daemonset/agent',
          '--watch=true',
          '--timeout=60s',
          '--namespace',
          'shop',
        ],
      ]);
      assert.equal(runner.calls[0]?.options.signal, stop.signal);
    });

    it('reports each workload as kubectl says it finished, lines split across chunks included', async () => {
      const finished: number[] = [];
      const run = (args: readonly string[], options: KubectlRunOptions): Promise<KubectlResult> => {
        for (const chunk of [
          'Waiting for deployment "web" rollout to finish: 0 of 2 updated replicas are available...\n',
          'deployment "web" successfully rol',
          'led out\nWaiting for 1 pods to be ready...\n',
          'partitioned roll out complete: 1 new pods have been updated...\n',
          'daemon set "agent" successfully rolled out\n',
        ])
          options.onStdout?.(chunk);
        return Promise.resolve({ code: 0, stdout: '', stderr: '' });
      };
      const kubectl = new Kubectl(run, {
        kubeconfig: KUBECONFIG,
        requestTimeoutSeconds: 30,
        commandTimeoutSeconds: 120,
      });
      await kubectl.rolloutStatus(
        [
          { kind: 'Deployment', name: 'web' },
          { kind: 'StatefulSet', name: 'db' },
          { kind: 'DaemonSet', name: 'agent' },
        ],
        'shop',
        60,
        { onFinished: (index) => finished.push(index) },
      );
      assert.deepEqual(finished, [0, 1, 2]);
    });

    it('waits for Jobs to complete, which kubectl rollout cannot, and counts `condition met` lines', async () => {
      const finished: number[] = [];
      const run = (args: readonly string[], options: KubectlRunOptions): Promise<KubectlResult> => {
        options.onStdout?.('job.batch/migrate condition met\njob.batch/seed condition met\n');
        return Promise.resolve({ code: 0, stdout: '', stderr: '' });
      };
      const calls: (readonly string[])[] = [];
      const kubectl = new Kubectl(
        (args, options) => {
          calls.push(args);
          return run(args, options);
        },
        { kubeconfig: KUBECONFIG, requestTimeoutSeconds: 30, commandTimeoutSeconds: 120 },
      );
      await kubectl.rolloutStatus(
        [
          { kind: 'Job', name: 'migrate' },
          { kind: 'Job', name: 'seed' },
        ],
        'web',
        60,
        { onFinished: (index) => finished.push(index) },
      );
      assert.deepEqual(calls, [
        [
          ...GLOBAL,
          'wait',
          'job/migrate',
          'job/seed',
          '--for=condition=Complete',
          '--timeout=60s',
          '--namespace',
          'web',
        ],
      ]);
      assert.deepEqual(finished, [0, 1]);
    });

    it('refuses to wait for Jobs and rollouts in one process', async () => {
      const runner = new FakeRunner();
      await assert.rejects(
        () =>
          runner.kubectl().rolloutStatus(
            [
              { kind: 'Job', name: 'migrate' },
              { kind: 'Deployment', name: 'web' },
            ],
            'web',
            60,
          ),
        /apart/,
      );
      assert.deepEqual(runner.args, []);
    });

    it('fails when the rollout does not finish', async () => {
      const runner = new FakeRunner().answer({
        code: 1,
        stderr: 'error: timed out waiting for the condition',
      });
      await assertRejectsWithUserError(
        () => runner.kubectl().rolloutStatus([{ kind: 'StatefulSet', name: 'db' }], 'web', 5),
        'KubectlFailed',
        'rollout status',
        1,
        'error: timed out waiting for the condition',
      );
    });
  });

  it('lists objects by label selector', async () => {
    const runner = new FakeRunner().answer({
      stdout: '{"kind":"List","items":[{"metadata":{"name":"p1"}},{"metadata":{"name":"p2"}}]}',
    });
    const pods = await runner.kubectl().list(['Pod'], 'web', 'app=web,pod-template-hash=7d9c');
    assert.deepEqual(pods, [{ metadata: { name: 'p1' } }, { metadata: { name: 'p2' } }]);
    assert.deepEqual(runner.args, [
      [
        ...GLOBAL,
        'get',
        'Pod',
        '--namespace',
        'web',
        '--selector=app=web,pod-template-hash=7d9c',
        '--output=json',
      ],
    ]);
  });

  it('lists several kinds by label selector in one process', async () => {
    const runner = new FakeRunner().answer({
      stdout: '{"kind":"List","items":[{"kind":"ReplicaSet"},{"kind":"Pod"}]}',
    });
    const objects = await runner.kubectl().list(['ReplicaSet', 'Pod'], 'web', 'app=web');
    assert.deepEqual(objects, [{ kind: 'ReplicaSet' }, { kind: 'Pod' }]);
    assert.deepEqual(runner.args, [
      [...GLOBAL, 'get', 'ReplicaSet,Pod', '--namespace', 'web', '--selector=app=web', '--output=json'],
    ]);
  });

  describe('getObjects', () => {
    it('reads the objects the files address, ignoring those that do not exist', async () => {
      const runner = new FakeRunner().answer({
        stdout: '{"kind":"List","items":[{"kind":"Namespace"},{"kind":"Deployment"}]}',
      });
      const objects = await runner.kubectl().getObjects(['lookup.json']);
      assert.deepEqual(objects, [{ kind: 'Namespace' }, { kind: 'Deployment' }]);
      assert.deepEqual(runner.args, [
        [...GLOBAL, 'get', '--filename', 'lookup.json', '--ignore-not-found', '--output=json'],
      ]);
    });

    it('reads a single object, printed without a List around it', async () => {
      const runner = new FakeRunner().answer({ stdout: '{"kind":"Namespace","metadata":{"name":"web"}}' });
      assert.deepEqual(await runner.kubectl().getObjects(['lookup.json']), [
        { kind: 'Namespace', metadata: { name: 'web' } },
      ]);
    });

    it('reads nothing when none of the objects exists (kubectl prints nothing)', async () => {
      const runner = new FakeRunner().answer({ stdout: '' });
      assert.deepEqual(await runner.kubectl().getObjects(['lookup.json']), []);
    });

    it('fails with the first line kubectl wrote', async () => {
      const runner = new FakeRunner().answer({
        code: 1,
        stderr: 'error: the server has asked for the client to provide credentials\n',
      });
      await assert.rejects(() => runner.kubectl().getObjects(['lookup.json']), KubectlError);
    });
  });

  it('lists the events of one object, oldest first', async () => {
    const items = [
      { reason: 'BackOff', lastTimestamp: '2026-11-30T10:00:09Z' },
      { reason: 'Pulling', eventTime: '2026-11-30T10:00:01.000000Z' },
      { reason: 'Scheduled', metadata: { creationTimestamp: '2026-11-30T10:00:00Z' } },
    ];
    const runner = new FakeRunner().answer({ stdout: JSON.stringify({ items }) });
    const events = await runner.kubectl().events('web', { kind: 'Pod', name: 'web-7d9c-abcde' });
    assert.deepEqual(
      events.map((event) => event.reason),
      ['Scheduled', 'Pulling', 'BackOff'],
    );
    assert.deepEqual(runner.args, [
      [
        ...GLOBAL,
        'get',
        'events',
        '--namespace',
        'web',
        '--field-selector=involvedObject.kind=Pod,involvedObject.name=web-7d9c-abcde',
        '--output=json',
      ],
    ]);
  });

  it("reads the last log lines of a container's previous instance", async () => {
    const runner = new FakeRunner().answer({ stdout: 'panic: no database\n' });
    const logs = await runner.kubectl().logs('web-7d9c-efghi', 'web', 'web', { previous: true, tail: 50 });
    assert.equal(logs, 'panic: no database\n');
    assert.deepEqual(runner.args, [
      [
        ...GLOBAL,
        'logs',
        'web-7d9c-efghi',
        '--container=web',
        '--namespace',
        'web',
        '--tail=50',
        '--previous',
      ],
    ]);
  });

  it('turns a process stopped at its time limit into a message naming the command', async () => {
    const runner = new FakeRunner().answer(new KubectlTimeoutError(120_000));
    await assertRejectsWithUserError(
      () => runner.kubectl().getObjects(['/tmp/lookup.json']),
      'KubectlTimedOut',
      'get',
      120,
    );
  });
});

describe('retries', () => {
  const RESET =
    'Unable to connect to the server: read tcp 10.0.0.5:51234->20.1.2.3:443: read: connection reset by peer\n';
  const APPLY = {
    serverSide: true,
    fieldManager: FIELD_MANAGER,
    forceConflicts: false,
    dryRun: undefined,
  } as const;

  it('applies again after a dropped connection: server-side apply is idempotent', async () => {
    const runner = new FakeRunner().answer(
      { code: 1, stderr: RESET },
      { stdout: 'deployment.apps/web serverside-applied\n' },
    );
    assert.deepEqual(await runner.kubectl().apply(['r.yaml'], APPLY), [
      'deployment.apps/web serverside-applied',
    ]);
    assert.equal(runner.calls.length, 2);
    assert.deepEqual(runner.args[1], runner.args[0]);
  });

  it('gives up after three tries, naming the last failure', async () => {
    const runner = new FakeRunner().answer(
      { code: 1, stderr: RESET },
      {
        code: 1,
        stderr:
          'Error from server (ServiceUnavailable): the server is currently unable to handle the request\n',
      },
      { code: 1, stderr: RESET },
      { stdout: '{"kind":"List","items":[]}' },
    );
    await assertRejectsWithUserError(
      () => runner.kubectl().list(['Pod'], 'web', 'app=web'),
      'KubectlFailed',
      'get',
      1,
      RESET.trim(),
    );
    assert.equal(runner.calls.length, 3);
  });

  it('does not try again after a refusal, a conflict or a timeout of the wait itself', async () => {
    for (const stderr of [
      'Error from server (Forbidden): deployments.apps "web" is forbidden: User "ci" cannot patch\n',
      CONFLICT_ONE,
      'error: timed out waiting for the condition on deployments/web\n',
    ]) {
      const runner = new FakeRunner().answer({ code: 1, stderr });
      await assert.rejects(() => runner.kubectl().apply(['r.yaml'], APPLY));
      const waiter = new FakeRunner().answer({ code: 1, stderr });
      await assert.rejects(() =>
        waiter.kubectl().rolloutStatus([{ kind: 'Deployment', name: 'web' }], 'web', 60),
      );
      assert.deepEqual([runner.calls.length, waiter.calls.length], [1, 1], stderr);
    }
  });

  it("judges by kubectl's error, not by its log of an aggregated API that is down", async () => {
    const noise =
      "E1201 05:00:00.123456    4242 memcache.go:287] couldn't get resource list for metrics.k8s.io/v1beta1: the server is currently unable to handle the request\n";
    const invalid = `${noise}Error from server (Invalid): Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1\n`;
    const runner = new FakeRunner().answer({ code: 1, stderr: invalid });
    await assertRejectsWithUserError(
      () => runner.kubectl().apply(['r.yaml'], APPLY),
      'KubectlFailed',
      'apply',
      1,
      'Error from server (Invalid): Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1',
    );
    assert.equal(runner.calls.length, 1, 'an invalid object is not tried again');
    const differences = new FakeRunner().answer({ code: 1, stdout: '+ replicas: 3\n', stderr: noise });
    assert.deepEqual(await differences.kubectl().diff(['r.yaml'], APPLY), {
      changed: true,
      diff: '+ replicas: 3\n',
    });
    assert.equal(differences.calls.length, 1, "diff's exit code 1 means differences, not a failure");
  });

  it('starts no other kubectl once it is stopped while pausing between tries', async () => {
    const stop = new AbortController();
    const runner = new FakeRunner().answer(
      { code: 1, stderr: RESET },
      { stdout: '{"kind":"List","items":[]}' },
    );
    const kubectl = new Kubectl(runner.run, {
      kubeconfig: KUBECONFIG,
      requestTimeoutSeconds: 30,
      commandTimeoutSeconds: 120,
      retryDelaysMs: [60_000],
    });
    const listing = kubectl.list(['Pod'], 'web', 'app=web', stop.signal);
    setTimeout(() => stop.abort(), 10);
    await assert.rejects(listing, /KubectlFailed|exit code 1/);
    assert.equal(runner.calls.length, 1);
  });

  it('waits again for the rollouts when the watch was cut, counting the finished ones afresh', async () => {
    const runner = new FakeRunner().answer(
      {
        code: 1,
        stdout: 'deployment "api" successfully rolled out\n',
        stderr: 'error: http2: client connection lost\n',
      },
      { stdout: 'deployment "api" successfully rolled out\ndeployment "web" successfully rolled out\n' },
    );
    const finished: number[] = [];
    await runner.kubectl().rolloutStatus(
      [
        { kind: 'Deployment', name: 'api' },
        { kind: 'Deployment', name: 'web' },
      ],
      'shop',
      60,
      { onFinished: (index) => finished.push(index) },
    );
    assert.deepEqual(finished, [0, 0, 1], 'api, then api and web: web is never taken for api');
    assert.equal(runner.calls.length, 2);
  });

  it('tells transient failures from the others', () => {
    const transient = (stderr: string): boolean => isTransientFailure({ code: 1, stdout: '', stderr });
    for (const stderr of [
      RESET,
      'Unable to connect to the server: net/http: TLS handshake timeout',
      'Unable to connect to the server: EOF',
      'error: unexpected EOF',
      'Error from server (TooManyRequests): the server has received too many requests',
      'Error from server (Timeout): the server was unable to return a response in the time allotted',
      'Error from server: etcdserver: request timed out',
      'Error from server (InternalError): an error on the server ("") has prevented the request from succeeding',
      'error: unable to recognize "lookup.json": an error on the server ("unknown") has prevented the request from succeeding',
      'error: error validating "m.yaml": error validating data: failed to download openapi: the server could not find the requested resource; if you choose to ignore these errors, turn validation off with --validate=false',
      'The connection to the server aks.example:443 was refused - did you specify the right host or port? dial tcp: connect: connection refused',
      // An apply goes on after a dropped request; what followed it failed for want of its namespace.
      'Error from server (NotFound): namespaces "flaky" not found\nError from server: failed to create typed patch object (/v1, Kind=Namespace) flaky: Patch "https://aks.example/api/v1/namespaces/flaky": EOF',
    ])
      assert.ok(transient(stderr), stderr);
    for (const stderr of [
      'Unable to connect to the server: x509: certificate signed by unknown authority',
      'Unable to connect to the server: getting credentials: exec: executable kubelogin not found',
      'Error from server (NotFound): namespaces "web" not found',
      'Error from server (Forbidden): pods is forbidden',
      'error: timed out waiting for the condition on deployments/web',
      'error: unable to recognize "r.yaml": no matches for kind "Widget" in version "contoso.com/v1"',
      'Error from server (Invalid): Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1',
      'Unable to connect to the server: EOF\nUnable to connect to the server: x509: certificate has expired',
    ])
      assert.ok(!transient(stderr), stderr);
    assert.equal(isTransientFailure({ code: 0, stdout: '', stderr: RESET }), false);
  });
});

describe('errorLine', () => {
  it("takes kubectl's error line over the API server's warnings before it", () => {
    assert.equal(
      errorLine(
        'Warning: policy/v1beta1 PodSecurityPolicy is deprecated in v1.21+\n' +
          'Error from server (Forbidden): deployments.apps "web" is forbidden\n',
      ),
      'Error from server (Forbidden): deployments.apps "web" is forbidden',
    );
    assert.equal(
      errorLine('Warning: a\nerror: unable to recognize "x.yaml"\n'),
      'error: unable to recognize "x.yaml"',
    );
  });

  it('takes the first line that is not a warning when no line says error', () => {
    assert.equal(
      errorLine('\nWarning: a\nUnable to connect to the server: EOF\n'),
      'Unable to connect to the server: EOF',
    );
  });

  it('takes the first line when every line is a warning', () => {
    assert.equal(errorLine('Warning: only this\nWarning: and this'), 'Warning: only this');
  });
});

describe('parseApplyConflicts', () => {
  it('reads the single-conflict form', () => {
    assert.deepEqual(parseApplyConflicts(CONFLICT_ONE), [
      { manager: 'kubectl-client-side-apply', field: '.spec.replicas' },
    ]);
  });

  it('reads the several-conflicts form, manager by manager', () => {
    assert.deepEqual(parseApplyConflicts(CONFLICT_MANY), [
      { manager: 'helm', field: '.spec.replicas' },
      { manager: 'helm', field: '.spec.template.spec.containers[name="web"].image' },
      { manager: 'kubectl-edit', field: '.metadata.labels.tier' },
    ]);
  });

  it('finds none in other errors', () => {
    assert.deepEqual(parseApplyConflicts('error: the server could not find the requested resource'), []);
  });
});

describe('processRunner', () => {
  let folder: string;
  let fakeKubectl: string;
  before(function () {
    if (process.platform === 'win32') this.skip();
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'kubectl-runner-'));
    fakeKubectl = path.join(folder, 'kubectl');
    // Prints each argument on its own line, then exits with the code in FAKE_EXIT (or sleeps).
    fs.writeFileSync(
      fakeKubectl,
      '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\necho "to stderr" >&2\n[ -n "$FAKE_SLEEP" ] && exec sleep "$FAKE_SLEEP"\nexit "${FAKE_EXIT:-0}"\n',
      { mode: 0o755 },
    );
  });
  after(() => fs.rmSync(folder, { recursive: true, force: true }));

  it('passes arguments as they are, with no shell to expand them', async () => {
    const args = ['get', 'pod', '$(touch pwned)', 'a b', '*', '--selector=app=web;x'];
    const result = await processRunner(fakeKubectl, { PATH: process.env.PATH })(args, { timeoutMs: 30_000 });
    assert.deepEqual(result, { code: 0, stdout: `${args.join('\n')}\n`, stderr: 'to stderr\n' });
  });

  it('hands stdout to onStdout as it comes, and still collects it', async () => {
    const seen: string[] = [];
    const args = ['rollout', 'status'];
    const result = await processRunner(fakeKubectl, { PATH: process.env.PATH })(args, {
      timeoutMs: 30_000,
      onStdout: (text) => seen.push(text),
    });
    assert.equal(seen.join(''), 'rollout\nstatus\n');
    assert.equal(result.stdout, 'rollout\nstatus\n');
  });

  it('resolves with the exit code kubectl ended with', async () => {
    const result = await processRunner(fakeKubectl, { PATH: process.env.PATH, FAKE_EXIT: '3' })(['diff'], {
      timeoutMs: 30_000,
    });
    assert.deepEqual(result, { code: 3, stdout: 'diff\n', stderr: 'to stderr\n' });
  });

  it('stops kubectl at the time limit', async () => {
    const run = processRunner(fakeKubectl, { PATH: process.env.PATH, FAKE_SLEEP: '30' });
    await assert.rejects(() => run(['rollout'], { timeoutMs: 200 }), KubectlTimeoutError);
  });

  it('stops kubectl when its abort signal fires, long before its time limit', async () => {
    const run = processRunner(fakeKubectl, { PATH: process.env.PATH, FAKE_SLEEP: '30' });
    const stop = new AbortController();
    const started = Date.now();
    setTimeout(() => stop.abort(), 100);
    await assert.rejects(
      () => run(['rollout'], { timeoutMs: 30_000, signal: stop.signal }),
      KubectlAbortedError,
    );
    assert.ok(Date.now() - started < 5_000, 'stopped at once');
  });

  it('fails naming a kubectl that cannot be started', async () => {
    const missing = path.join(folder, 'no-kubectl');
    await assertRejectsWithUserError(
      () => processRunner(missing)(['version'], { timeoutMs: 30_000 }),
      'KubectlNotStarted',
      missing,
      `spawn ${missing} ENOENT`,
    );
  });
});
