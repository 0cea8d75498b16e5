import * as assert from 'node:assert/strict';
import { inertLine, inertText } from '../../tasks/common/logText';

describe('inertText and inertLine', () => {
  it('leaves no logging command the agent would act on, anywhere in a line', () => {
    const hostile =
      'a\n##vso[task.complete result=Succeeded;]done\n##[error]x and ##VSO[task.setvariable variable=v]1';
    for (const text of [inertText(hostile), inertLine(hostile)]) {
      assert.doesNotMatch(text, /##(vso)?\[/i);
      assert.equal(text.replace(/\u200b/g, '').replace(/\s+/g, ' '), hostile.replace(/\s+/g, ' '));
    }
    assert.equal(inertText(hostile).split('\n').length, 3, 'inertText keeps the lines');
    assert.equal(inertLine(hostile).includes('\n'), false, 'inertLine makes one line');
  });

  it('leaves ordinary text alone', () => {
    assert.equal(inertText('## heading\n#1 [ok]'), '## heading\n#1 [ok]');
  });
});
