import * as assert from 'node:assert/strict';
import { parseImageReference } from '../../tasks/common/imageReference';
import { loginServerOf, sourceImageOf, targetTagsOf } from '../../tasks/promote-image/inputs';
import { taskMessages } from '../support/userErrors';

const { assertUserError } = taskMessages('promote-image');
const DIGEST = `sha256:${'b'.repeat(64)}`;

describe('PromoteImage input parsers', () => {
  describe('targetTagsOf', () => {
    it('takes the targetTags lines when given', () => {
      assert.deepEqual(targetTagsOf(['1.4.2', 'stable'], parseImageReference('shop/web:1.4.2-rc1')), [
        '1.4.2',
        'stable',
      ]);
    });

    it('defaults to the source tag, and to no tag for a digest', () => {
      assert.deepEqual(targetTagsOf([], parseImageReference('shop/web:1.4.2')), ['1.4.2']);
      assert.deepEqual(targetTagsOf([], parseImageReference(`shop/web@${DIGEST}`)), []);
    });

    it('refuses an invalid or repeated tag', () => {
      assertUserError(
        () => targetTagsOf(['bad tag'], parseImageReference('shop/web:1')),
        'InvalidTargetTag',
        'bad tag',
      );
      assertUserError(
        () => targetTagsOf(['v1', 'v1'], parseImageReference('shop/web:1')),
        'DuplicateTargetTag',
      );
    });
  });

  describe('loginServerOf', () => {
    it('lower-cases a login server and drops https:// and trailing slashes', () => {
      assert.equal(
        loginServerOf('targetRegistry', 'https://ContosoProd.azurecr.io/'),
        'contosoprod.azurecr.io',
      );
      assert.equal(loginServerOf('sourceRegistry', 'registry.local:5000'), 'registry.local:5000');
    });

    it('refuses a value with a path or a scheme other than https', () => {
      for (const value of ['contoso.azurecr.io/team', 'http://contoso.azurecr.io'])
        assertUserError(
          () => loginServerOf('sourceRegistry', value),
          'InvalidRegistry',
          'sourceRegistry',
          value,
        );
    });
  });

  describe('sourceImageOf', () => {
    it('drops a registry that repeats the source registry, keeping tag and digest', () => {
      const image = sourceImageOf(
        `contosononprod.azurecr.io/shop/web@${DIGEST}`,
        'contosononprod.azurecr.io',
      );
      assert.deepEqual([image.registry, image.repository, image.digest], [undefined, 'shop/web', DIGEST]);
    });

    it('refuses an image of another registry, and one with neither tag nor digest', () => {
      assertUserError(
        () => sourceImageOf('other.azurecr.io/shop/web:1', 'contosononprod.azurecr.io'),
        'ImageRegistryMismatch',
        'other.azurecr.io/shop/web:1',
        'contosononprod.azurecr.io',
      );
      assertUserError(
        () => sourceImageOf('shop/web', 'contosononprod.azurecr.io'),
        'ImageNeedsTagOrDigest',
        'shop/web',
      );
    });
  });
});
