import * as assert from 'node:assert/strict';
import { findLeaks } from './leaks';

describe('the leak scan', () => {
  const value = 'pa%ss;wo]rd-42';

  it('finds a value in an error issue and in the task.complete message, escaped as task-lib escapes them', () => {
    const output = [
      '##vso[task.issue type=error;]Could not parse {"value":"pa%AZP25ss;wo]rd-42",',
      '##vso[task.complete result=Failed;]pa%AZP25ss;wo]rd-42',
      '##vso[task.issue type=warning;source=pa%AZP25ss%3Bwo%5Drd-42;]skipped',
    ].join('\n');

    assert.deepEqual(findLeaks(output, [value]), [
      `${value} in: ##vso[task.issue type=error;]Could not parse {"value":"pa%AZP25ss;wo]rd-42",`,
      `${value} in: ##vso[task.complete result=Failed;]pa%AZP25ss;wo]rd-42`,
      `${value} in: ##vso[task.issue type=warning;source=pa%AZP25ss%3Bwo%5Drd-42;]skipped`,
    ]);
  });

  it('finds each line of a multi-line value, split by CRLF, LF or a lone CR, on stderr and debug lines too', () => {
    const multiLine = 'first-line\r\nsecond-line\rthird-line';
    const output = 'Error: third-line\n##vso[task.debug]body: first-line%0D%0Asecond-line';

    assert.deepEqual(findLeaks(output, [multiLine]), [
      'third-line in: Error: third-line',
      'first-line in: ##vso[task.debug]body: first-line%0D%0Asecond-line',
      'second-line in: ##vso[task.debug]body: first-line%0D%0Asecond-line',
    ]);
  });

  it('finds a value as it looks quoted inside JSON', () => {
    const quoted = 'say "hi"\\now';
    const output = `Unexpected end of JSON input: {"value":${JSON.stringify(quoted)},`;

    assert.deepEqual(findLeaks(output, [quoted]), [`say \\"hi\\"\\\\now in: ${output}`]);
  });

  it('lets through only the commands that hand secrets to the agent, and values too short to tell apart', () => {
    const output = [
      `##vso[task.setsecret]${value}`,
      `##vso[task.setvariable variable=db;issecret=true;]${value}`,
      'ok: 42',
    ].join('\n');

    assert.deepEqual(findLeaks(output, [value, '42']), []);
    assert.equal(findLeaks(`##vso[task.setvariable variable=db;]${value}`, [value]).length, 1);
  });
});
