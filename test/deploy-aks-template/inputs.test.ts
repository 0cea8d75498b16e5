import * as assert from 'node:assert/strict';
import {
  parseImageOverride,
  parseKubectlVersion,
  parseVariables,
} from '../../tasks/deploy-aks-template/inputs';
import { taskMessages } from '../support/userErrors';

const { assertUserError } = taskMessages('deploy-aks-template');

describe('DeployAksTemplate input parsers', () => {
  describe('parseVariables', () => {
    it('reads NAME=value lines; a value may be empty or hold = signs, and spaces around it are ignored', () => {
      assert.deepEqual(
        [
          ...parseVariables(
            ['REPLICAS=3', 'CONNECTION=Server=x;Database=y', 'EMPTY=', ' SPACED = kept '].join('\n'),
          ),
        ],
        [
          ['REPLICAS', '3'],
          ['CONNECTION', 'Server=x;Database=y'],
          ['EMPTY', ''],
          ['SPACED', 'kept'],
        ],
      );
    });

    it('refuses a line without = or with a bad name, naming its number and never its value', () => {
      assertUserError(
        () => parseVariables(['A=1', 'p@ssw0rd-pasted-alone'].join('\n')),
        'InvalidVariableLine',
        2,
      );
      assertUserError(() => parseVariables(['1ST=secret-value'].join('\n')), 'InvalidVariableLine', 1);
      assertUserError(
        () => parseVariables('A=1\n\n  \r\nB=2\nsecret-value'),
        'InvalidVariableLine',
        5, // blank lines count: the number is the one the user sees
      );
      assertUserError(() => parseVariables(['BAD NAME=secret-value'].join('\n')), 'InvalidVariableLine', 1);
    });

    it('refuses a variable given twice', () => {
      assertUserError(() => parseVariables(['A=1', 'A=2'].join('\n')), 'DuplicateVariable', 'A');
    });
  });

  describe('parseKubectlVersion', () => {
    it('reads auto, latest and exact versions with or without a v', () => {
      assert.deepEqual(['auto', 'AUTO', 'latest', '1.32.4', 'v1.30.0'].map(parseKubectlVersion), [
        { kind: 'auto' },
        { kind: 'auto' },
        { kind: 'latest' },
        { kind: 'exact', version: '1.32.4' },
        { kind: 'exact', version: '1.30.0' },
      ]);
    });

    it('refuses partial and malformed versions', () => {
      for (const value of ['1.32', 'v1', '1.32.4-rc.1', 'stable'])
        assertUserError(() => parseKubectlVersion(value), 'InvalidKubectlVersion', value);
    });
  });

  describe('parseImageOverride', () => {
    it('reads a full reference with a tag or a digest', () => {
      const digest = `sha256:${'a'.repeat(64)}`;
      assert.deepEqual(parseImageOverride('contoso.azurecr.io/shop/web:1.4.2'), {
        registry: 'contoso.azurecr.io',
        repository: 'shop/web',
        tag: '1.4.2',
        digest: undefined,
      });
      assert.equal(parseImageOverride(`contoso.azurecr.io/shop/web@${digest}`).digest, digest);
    });

    it('refuses a reference with neither tag nor digest', () => {
      assertUserError(
        () => parseImageOverride('contoso.azurecr.io/shop/web'),
        'ImageOverrideNeedsTagOrDigest',
        'contoso.azurecr.io/shop/web',
      );
    });
  });
});
