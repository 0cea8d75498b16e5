import * as assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { UserError } from '../../tasks/common/errors';
import { replaceTokens } from '../../tasks/deploy-aks-template/tokens';
import { assertUserError } from './messages';

const FILE = 'k8s/app.yaml';

/**
 * What a user writes to keep text literal: the documented escape, `$` before every `${NAME}`.
 * Written here, not taken from the renderer, so that the properties below check the renderer
 * against the syntax rather than against itself.
 */
function escapeTokens(text: string): string {
  return text.replace(/\$?\$\{[A-Za-z_][A-Za-z0-9_.-]*\}/g, (token) => `$${token}`);
}

describe('replaceTokens', () => {
  it('replaces every token with its value', () => {
    const variables = new Map([
      ['REPLICAS', '3'],
      ['HOST', 'staging.contoso.com'],
    ]);
    assert.equal(
      replaceTokens('replicas: ${REPLICAS}\nhost: ${HOST}\nurl: https://${HOST}/', variables, FILE),
      'replicas: 3\nhost: staging.contoso.com\nurl: https://staging.contoso.com/',
    );
  });

  it('writes $${NAME} as a literal ${NAME}, even when NAME has a value', () => {
    assert.equal(
      replaceTokens('echo $${HOME} ${HOME}', new Map([['HOME', '/root']]), FILE),
      'echo ${HOME} /root',
    );
  });

  it('leaves shell forms that are not tokens as they are', () => {
    assert.equal(
      replaceTokens('a: ${HOME:-/root} $HOME ${} ${1}', new Map(), FILE),
      'a: ${HOME:-/root} $HOME ${} ${1}',
    );
  });

  it('does not expand a token inside a value', () => {
    const variables = new Map([
      ['A', '${B}'],
      ['B', 'never'],
    ]);
    assert.equal(replaceTokens('x: ${A}', variables, FILE), 'x: ${B}');
  });

  it('fails naming the file, the line and the unresolved token', () => {
    assertUserError(
      () => replaceTokens('a: 1\nb: ${SET}\nc: ${MISSING}\n', new Map([['SET', 'x']]), FILE),
      'UnresolvedToken',
      FILE,
      3,
      'MISSING',
    );
  });

  it('fails on a pipeline-style name rather than deploying it as text', () => {
    assertUserError(
      () => replaceTokens('id: ${Build.BuildId}', new Map(), FILE),
      'UnresolvedToken',
      FILE,
      1,
      'Build.BuildId',
    );
  });

  describe('properties', () => {
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,8}$/);
    const variables = fc.dictionary(name, fc.string()).map((record) => new Map(Object.entries(record)));
    /** Text rich in the characters tokens are made of, so that near-tokens are common. */
    const templateText = fc
      .array(fc.oneof(fc.constantFrom('$', '{', '}', '$$', '${', '\n', 'A', 'B_1', '.', ':-'), fc.string()), {
        maxLength: 30,
      })
      .map((parts) => parts.join(''));

    it('throws nothing but a UserError, whatever the text and variables', () => {
      fc.assert(
        fc.property(templateText, variables, (text, vars) => {
          try {
            replaceTokens(text, vars, FILE);
          } catch (error: unknown) {
            assert.ok(error instanceof UserError, String(error));
          }
        }),
      );
    });

    it('never shows a value in its error', () => {
      const secret = fc.string({ minLength: 8 }).filter((value) => !value.includes('$'));
      fc.assert(
        fc.property(templateText, secret, (text, value) => {
          try {
            replaceTokens(`${text}\${SECRET}\${MISSING}`, new Map([['SECRET', value]]), FILE);
          } catch (error: unknown) {
            assert.ok(error instanceof UserError);
            assert.ok(!error.message.includes(value), error.message);
            return;
          }
          assert.fail('${MISSING} was resolved');
        }),
      );
    });

    it('gives back escaped text exactly, with or without variables', () => {
      fc.assert(
        fc.property(templateText, variables, (text, vars) => {
          assert.equal(replaceTokens(escapeTokens(text), vars, FILE), text);
        }),
      );
    });

    it('puts a value in as it is, tokens in it included', () => {
      // A '$' right before a token would make it the escape `$${V}`: the syntax has no way around that.
      const prefixText = templateText.filter((text) => !text.endsWith('$'));
      fc.assert(
        fc.property(prefixText, templateText, (prefix, value) => {
          const safePrefix = escapeTokens(prefix);
          assert.equal(
            replaceTokens(`${safePrefix}\${V}`, new Map([['V', value]]), FILE),
            `${prefix}${value}`,
          );
        }),
      );
    });
  });
});
