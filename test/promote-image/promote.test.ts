import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const PROMOTE_MODULE = path.resolve(__dirname, '..', '..', 'tasks', 'promote-image', 'promote.js');

/**
 * Runs a WebAssembly function (undici's HTTP parser stands in as any module would) until V8 would
 * optimise it, in a Node process of its own, and says whether V8 did. `--wasm-tiering-budget` makes
 * V8 decide after a few calls instead of a few dozen HTTP responses.
 */
function wasmTierAfterHeavyUse(withTaskServices: boolean): string {
  const script = `
    if (process.env.WITH_TASK_SERVICES === 'true') require(${JSON.stringify(PROMOTE_MODULE)}).defaultServices();
    // (module (func (export "f") (param i32) (result i32) local.get 0 i32.const 1 i32.add))
    const bytes = new Uint8Array([0,97,115,109,1,0,0,0,1,6,1,96,1,127,1,127,3,2,1,0,7,5,1,1,102,0,0,10,9,1,7,0,32,0,65,1,106,11]);
    const f = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.f;
    const optimised = new Function('f', 'return %IsTurboFanFunction(f);');
    (async () => {
      for (let round = 0; round < 20; round++) {
        for (let i = 0; i < 100000; i++) f(i);
        await new Promise((resolve) => setImmediate(resolve));
        if (optimised(f)) return console.log('optimised');
      }
      console.log('baseline');
    })();`;
  const child = spawnSync(
    process.execPath,
    ['--allow-natives-syntax', '--wasm-tiering-budget=1000', '-e', script],
    { encoding: 'utf8', env: { ...process.env, WITH_TASK_SERVICES: String(withTaskServices) } },
  );
  assert.equal(child.status, 0, child.stderr);
  return child.stdout.trim().split('\n').pop() ?? '';
}

describe('PromoteImage services', () => {
  it('keep WebAssembly on the baseline compiler, so no optimising compile holds back the exit', function () {
    this.timeout(30_000);
    // Without the task's services V8 optimises: the check below would see it.
    assert.equal(wasmTierAfterHeavyUse(false), 'optimised');

    assert.equal(wasmTierAfterHeavyUse(true), 'baseline');
  });
});
