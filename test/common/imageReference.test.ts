import * as assert from 'node:assert/strict';
import * as fc from 'fast-check';
import {
  ImageReferenceError,
  formatImageReference,
  parseImageReference,
  type ImageReference,
} from '../../tasks/common/imageReference';

const DIGEST = `sha256:${'a1'.repeat(32)}`;

describe('parseImageReference', () => {
  const valid: [string, ImageReference][] = [
    ['nginx', { registry: undefined, repository: 'nginx', tag: undefined, digest: undefined }],
    ['team/web:1.2.3', { registry: undefined, repository: 'team/web', tag: '1.2.3', digest: undefined }],
    [
      'contoso.azurecr.io/team/web:v1',
      { registry: 'contoso.azurecr.io', repository: 'team/web', tag: 'v1', digest: undefined },
    ],
    [
      `contoso.azurecr.io/web@${DIGEST}`,
      { registry: 'contoso.azurecr.io', repository: 'web', tag: undefined, digest: DIGEST },
    ],
    [`web:1.0@${DIGEST}`, { registry: undefined, repository: 'web', tag: '1.0', digest: DIGEST }],
    [
      'localhost:5000/web:latest',
      { registry: 'localhost:5000', repository: 'web', tag: 'latest', digest: undefined },
    ],
    ['localhost/web', { registry: 'localhost', repository: 'web', tag: undefined, digest: undefined }],
    [
      'registry:5000/a/b__c.d-e',
      { registry: 'registry:5000', repository: 'a/b__c.d-e', tag: undefined, digest: undefined },
    ],
  ];
  for (const [text, expected] of valid) {
    it(`parses ${text}`, () => assert.deepEqual(parseImageReference(text), expected));
  }

  const invalid: [string, RegExp][] = [
    ['', /empty/],
    ['Web:1', /invalid repository/],
    ['web:-bad', /invalid tag/],
    [`web@sha256:${'A'.repeat(64)}`, /invalid digest/],
    ['web@sha256:abc', /invalid digest/],
    ['contoso.azurecr.io/', /names no repository/],
    ['web/:tag', /invalid repository/],
    ['bad_host!.io/web', /invalid registry/],
    [`a/${'b'.repeat(260)}`, /longer than 255/],
  ];
  for (const [text, message] of invalid) {
    it(`rejects '${text.slice(0, 40)}' saying what is wrong`, () => {
      assert.throws(
        () => parseImageReference(text),
        (error: unknown) => error instanceof ImageReferenceError && message.test(error.message),
      );
    });
  }

  it('round-trips any valid reference through formatImageReference', () => {
    // A first component with a dot would read as a registry host, as in Docker, so only later ones have dots.
    const firstComponent = fc.stringMatching(/^[a-z0-9]{1,8}([_-][a-z0-9]{1,8})?$/);
    const component = fc.stringMatching(/^[a-z0-9]{1,8}([._-][a-z0-9]{1,8})?$/);
    const reference = fc.record({
      registry: fc.option(fc.constantFrom('contoso.azurecr.io', 'localhost:5000', 'registry.example.com'), {
        nil: undefined,
      }),
      repository: fc
        .tuple(firstComponent, fc.array(component, { maxLength: 2 }))
        .map(([first, rest]) => [first, ...rest].join('/')),
      tag: fc.option(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/), { nil: undefined }),
      digest: fc.option(
        fc.stringMatching(/^[a-f0-9]{64}$/).map((hex) => `sha256:${hex}`),
        { nil: undefined },
      ),
    });
    fc.assert(
      fc.property(reference, (ref) =>
        assert.deepEqual(parseImageReference(formatImageReference(ref)), { ...ref }),
      ),
    );
  });
});
