import * as assert from 'node:assert/strict';
import { startBase, type SandboxBase } from '../../sandbox/base';
import { useSandboxInProcess } from '../../sandbox/tls/trust';

interface Closable {
  close(): Promise<void>;
}

/** Starts a service on the suite's base and closes it after the suite (the last started first). */
export type Keep = <T extends Closable>(service: Promise<T>) => Promise<T>;

export interface SandboxSuiteOptions {
  /** Point this process's Azure SDK clients at the sandbox (proxy and CA) before `setUp` runs. */
  readonly inProcess?: boolean;
}

/**
 * The set-up and tear-down the service tests share, as hooks of the calling `describe`: before
 * the suite a base (CA, proxy, temp folder), then `setUp` starts the services it needs through
 * `keep`; after the suite they close in reverse order, then the base; after each test, no request
 * may have left the sandbox. Tests that start a sandbox part by part use this; the integration
 * tests, benches and campaigns use `startSandbox`.
 */
export function sandboxSuite(
  setUp: (base: SandboxBase, keep: Keep) => Promise<void>,
  options: SandboxSuiteOptions = {},
): void {
  let base: SandboxBase | undefined;
  let leaveSandbox: (() => void) | undefined;
  const closers: (() => Promise<void>)[] = [];

  before(async function () {
    base = await startBase();
    if (options.inProcess === true) leaveSandbox = useSandboxInProcess(base);
    await setUp(base, async (service) => {
      const started = await service;
      closers.push(() => started.close());
      return started;
    });
  });

  after(async function () {
    leaveSandbox?.();
    for (const close of closers.splice(0).reverse()) await close();
    await base?.close();
  });

  afterEach(function () {
    assert.deepEqual(base?.proxy.refused, [], 'no request may leave the sandbox');
  });
}
