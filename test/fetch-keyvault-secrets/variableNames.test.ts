import * as assert from 'node:assert/strict';
import { envSafeName, planVariables } from '../../tasks/fetch-keyvault-secrets/variableNames';

describe('envSafeName', () => {
  it('upper-cases and turns other characters into underscores', () => {
    assert.equal(envSafeName('db-password'), 'DB_PASSWORD');
    assert.equal(envSafeName('Api.Key-2'), 'API_KEY_2');
  });
  it('puts an underscore before a leading digit', () => assert.equal(envSafeName('1st-key'), '_1ST_KEY'));
});

describe('planVariables', () => {
  it('adds the alias only when it differs from the variable name, ignoring case', () => {
    assert.deepEqual(
      planVariables(
        [
          { secretName: 'DBPASS', variableName: 'dbpass' },
          { secretName: 'a-b', variableName: 'a-b' },
        ],
        true,
      ),
      [
        { secretName: 'DBPASS', variableNames: ['dbpass'] },
        { secretName: 'a-b', variableNames: ['a-b', 'A_B'] },
      ],
    );
  });
  it('sets no aliases when they are turned off', () => {
    assert.deepEqual(planVariables([{ secretName: 'a-b', variableName: 'a-b' }], false), [
      { secretName: 'a-b', variableNames: ['a-b'] },
    ]);
  });
  it('lets one secret set two variables', () => {
    assert.deepEqual(
      planVariables(
        [
          { secretName: 's', variableName: 'One' },
          { secretName: 's', variableName: 'Two' },
        ],
        false,
      ),
      [{ secretName: 's', variableNames: ['One', 'Two'] }],
    );
  });
});
