import * as assert from 'node:assert/strict';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import {
  portForwardArgs,
  startPortForward,
  type PortForwardOptions,
} from '../../tasks/run-acceptance-tests/portForward';
import { assertRejectsWithUserError } from './messages';

/** A kubectl that the test scripts: lines on stdout and stderr, an exit, and how it takes signals. */
class FakeKubectl extends EventEmitter {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  pid: number | undefined = 4242;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  readonly signals: NodeJS.Signals[] = [];
  file = '';
  args: readonly string[] = [];
  options: SpawnOptions = {};

  constructor(private readonly ignores: readonly NodeJS.Signals[] = []) {
    super();
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    this.signals.push(signal);
    if (!this.ignores.includes(signal)) setImmediate(() => this.exit(null, signal));
    return true;
  }

  say(line: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    this[stream].write(`${line}\n`);
  }

  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    if (this.exitCode !== null || this.signalCode !== null) return;
    this.exitCode = code;
    this.signalCode = signal;
    this.stdout.end();
    this.stderr.end();
    this.emit('exit', code, signal);
    setImmediate(() => this.emit('close', code, signal));
  }
}

const SERVICE = { namespace: 'web-staging', name: 'web', port: '80' };

function options(kubectl: FakeKubectl, extra: Partial<PortForwardOptions> = {}): PortForwardOptions {
  return {
    kubectlPath: '/tools/kubectl',
    kubeconfigPath: '/tmp/kubeconfig-1',
    env: { KUBECACHEDIR: '/tmp/cache' },
    service: SERVICE,
    spawn: (file, args, spawnOptions) => {
      kubectl.file = file;
      kubectl.args = args;
      kubectl.options = spawnOptions;
      return kubectl as unknown as ChildProcess;
    },
    ...extra,
  };
}

describe('portForward', () => {
  it('runs kubectl port-forward to the service on a system-chosen loopback port', () => {
    assert.deepEqual(portForwardArgs('/tmp/kubeconfig-1', SERVICE), [
      '--kubeconfig',
      '/tmp/kubeconfig-1',
      'port-forward',
      'service/web',
      ':80',
      '-n',
      'web-staging',
      '--address',
      '127.0.0.1',
    ]);
  });

  it('resolves with the local port kubectl reports, spawned with the given kubectl and environment', async () => {
    const kubectl = new FakeKubectl();
    const starting = startPortForward(options(kubectl));
    kubectl.say('Forwarding from 127.0.0.1:41234 -> 8080');
    const forward = await starting;
    assert.equal(forward.localPort, 41234);
    assert.equal(forward.baseUrl, 'http://127.0.0.1:41234');
    assert.equal(kubectl.file, '/tools/kubectl');
    assert.deepEqual(kubectl.args, portForwardArgs('/tmp/kubeconfig-1', SERVICE));
    assert.deepEqual(kubectl.options.env, { KUBECACHEDIR: '/tmp/cache' });
    await forward.stop();
  });

  it('ends kubectl with SIGTERM on stop and resolves once it has exited', async () => {
    const kubectl = new FakeKubectl();
    const starting = startPortForward(options(kubectl));
    kubectl.say('Forwarding from 127.0.0.1:5000 -> 80');
    const forward = await starting;
    await forward.stop();
    assert.deepEqual(kubectl.signals, ['SIGTERM']);
    assert.equal(kubectl.signalCode, 'SIGTERM');
    await forward.stop();
    assert.deepEqual(kubectl.signals, ['SIGTERM'], 'a second stop sends nothing more');
  });

  it('sends SIGTERM synchronously, so a signal handler can rely on it', async () => {
    const kubectl = new FakeKubectl();
    const starting = startPortForward(options(kubectl));
    kubectl.say('Forwarding from 127.0.0.1:5000 -> 80');
    const forward = await starting;
    const stopped = forward.stop();
    assert.deepEqual(kubectl.signals, ['SIGTERM']);
    await stopped;
  });

  it('follows with SIGKILL when kubectl ignores SIGTERM past the grace period', async () => {
    const kubectl = new FakeKubectl(['SIGTERM']);
    const starting = startPortForward(options(kubectl, { killGraceMs: 20 }));
    kubectl.say('Forwarding from 127.0.0.1:5000 -> 80');
    await (await starting).stop();
    assert.deepEqual(kubectl.signals, ['SIGTERM', 'SIGKILL']);
  });

  it('fails with the first line kubectl wrote to stderr when it exits before forwarding', async () => {
    const kubectl = new FakeKubectl();
    const starting = startPortForward(options(kubectl));
    kubectl.say('', 'stderr');
    kubectl.say('unable to forward: pod web-7d9 is Pending', 'stderr');
    kubectl.say('second line', 'stderr');
    setImmediate(() => kubectl.exit(1));
    await assertRejectsWithUserError(
      () => starting,
      'PortForwardFailed',
      'web-staging/web:80',
      'unable to forward: pod web-7d9 is Pending',
    );
  });

  it('fails naming the exit code when kubectl exits early without a word', async () => {
    const kubectl = new FakeKubectl();
    const starting = startPortForward(options(kubectl));
    kubectl.exit(3);
    await assertRejectsWithUserError(
      () => starting,
      'PortForwardFailed',
      'web-staging/web:80',
      'exit code 3',
    );
  });

  it('fails at once on an error line, naming the service, and stops kubectl', async () => {
    const kubectl = new FakeKubectl();
    const starting = startPortForward(options(kubectl));
    kubectl.say('Error from server (NotFound): services "web" not found', 'stderr');
    await assertRejectsWithUserError(
      () => starting,
      'PortForwardFailed',
      'web-staging/web:80',
      'Error from server (NotFound): services "web" not found',
    );
    assert.deepEqual(kubectl.signals, ['SIGTERM']);
  });

  it('fails and stops kubectl when it reports no port within the ready timeout', async () => {
    const kubectl = new FakeKubectl();
    const starting = startPortForward(options(kubectl, { readyTimeoutMs: 30 }));
    kubectl.say('Handling nothing yet');
    await assertRejectsWithUserError(() => starting, 'PortForwardTimedOut', 'web-staging/web:80', 0);
    assert.deepEqual(kubectl.signals, ['SIGTERM']);
  });

  it('fails naming the service when kubectl cannot be started', async () => {
    const kubectl = new FakeKubectl();
    kubectl.pid = undefined;
    const starting = startPortForward(options(kubectl));
    kubectl.emit('error', Object.assign(new Error('spawn /tools/kubectl ENOENT'), { code: 'ENOENT' }));
    await assertRejectsWithUserError(
      () => starting,
      'PortForwardNotStarted',
      'web-staging/web:80',
      'spawn /tools/kubectl ENOENT',
    );
    assert.deepEqual(kubectl.signals, []);
  });

  it('passes on what kubectl prints while forwarding and reports an exit nobody asked for', async () => {
    const kubectl = new FakeKubectl();
    const lines: string[] = [];
    const endings: string[] = [];
    const starting = startPortForward(
      options(kubectl, {
        onOutput: (line, stream) => lines.push(`${stream}: ${line}`),
        onEndedEarly: (reason) => endings.push(reason),
      }),
    );
    kubectl.say('Forwarding from 127.0.0.1:5000 -> 80');
    const forward = await starting;
    kubectl.say('Handling connection for 5000');
    kubectl.say('E1201 portforward.go:413] lost connection to pod', 'stderr');
    await new Promise((resolve) => setImmediate(resolve));
    kubectl.exit(1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(lines, [
      'stdout: Handling connection for 5000',
      'stderr: E1201 portforward.go:413] lost connection to pod',
    ]);
    assert.deepEqual(endings, ['E1201 portforward.go:413] lost connection to pod']);
    await forward.stop();
    assert.deepEqual(kubectl.signals, [], 'nothing to signal once it has exited');
  });

  it('does not report the exit that stop asked for', async () => {
    const kubectl = new FakeKubectl();
    const endings: string[] = [];
    const starting = startPortForward(options(kubectl, { onEndedEarly: (reason) => endings.push(reason) }));
    kubectl.say('Forwarding from 127.0.0.1:5000 -> 80');
    await (await starting).stop();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(endings, []);
  });
});
