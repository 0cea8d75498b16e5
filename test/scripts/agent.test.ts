import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { TaskCommand } from 'azure-pipelines-task-lib/taskcommand';
import { parseLoggingCommands } from '../../scripts/agent';

describe('parseLoggingCommands', () => {
  it('reads back what task-lib writes, whatever the value holds', () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 });
    const awkward = fc
      .array(fc.constantFrom('%', ';', ']', '\r', '\n', '%25', '%3B', '%AZP25', '%0A', 'x'), {
        maxLength: 12,
      })
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.oneof(text, awkward), fc.oneof(text, awkward), (property, message) => {
        const line = new TaskCommand(
          'task.setvariable',
          { variable: property, issecret: 'true' },
          message,
        ).toString();
        // A message with a line break spans lines, as it would in the log; the parser reads one line.
        fc.pre(!/[\r\n]/.test(message));
        const [command] = parseLoggingCommands(line);
        assert.equal(command?.command, 'task.setvariable');
        assert.equal(command.properties['variable'] ?? '', property);
        assert.equal(command.message, message);
      }),
    );
  });

  it('leaves the text %25 alone, as the agent does', () => {
    const [command] = parseLoggingCommands('##vso[task.setvariable variable=x;]50%25 off');
    assert.equal(command?.message, '50%25 off');
  });
});
