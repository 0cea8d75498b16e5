import * as assert from 'node:assert/strict';
import { interpretOutput, maskSecrets } from '../../scripts/agent';
import { parseArguments, summarise } from '../../scripts/runTask';

describe('scripts/run-task', () => {
  it('reads inputs, variables and flags', () => {
    const args = parseArguments([
      'promote-image',
      '--input',
      'image=web:1=2',
      '--variable',
      'System.Debug=true',
      '--prejob',
    ]);
    assert.equal(args.task, 'promote-image');
    assert.deepEqual(args.inputs, { image: 'web:1=2' });
    assert.deepEqual(args.variables, { 'System.Debug': 'true' });
    assert.equal(args.preJob, true);
  });

  it('refuses an input without a value', () => {
    assert.throws(() => parseArguments(['promote-image', '--input', 'image']), /--input expects name=value/);
  });

  it('shows secret variables and registered secrets as ***', () => {
    const stdout = [
      '##vso[task.setsecret]hunter2-line',
      'token was hunter2-line',
      '##vso[task.setvariable variable=Password;issecret=true;]pa55word-xyz',
      '##vso[task.setvariable variable=Plain;]visible',
      'echo pa55word-xyz',
    ].join('\n');
    const summary = summarise({
      ...interpretOutput(stdout),
      result: 'Succeeded',
      exitCode: 0,
      stdout,
      stderr: '',
      durationMs: 5,
    });
    assert.doesNotMatch(summary, /hunter2-line|pa55word-xyz/);
    assert.match(summary, /Password = \*\*\* \(secret\)/);
    assert.match(summary, /Plain = visible/);
    assert.match(summary, /token was \*\*\*/);
  });

  it('masks the longest secret first, so a secret inside another leaves nothing behind', () => {
    assert.equal(maskSecrets('abc-secret-def', ['secret', 'abc-secret-def']), '***');
  });
});
