import * as assert from 'node:assert/strict';
import { nextPageUrl } from '../../tasks/promote-image/registryClient';

describe('nextPageUrl', () => {
  const page = 'https://r.example/v2/app/referrers/sha256:abc';

  it('finds rel="next" among other relations and parameters, in any case and order', () => {
    for (const header of [
      '</v2/app/referrers/sha256:abc?page=2>; rel="next"',
      '</v2/app/referrers/sha256:abc?page=2>; rel="prev next"',
      '</v2/app/referrers/sha256:abc?page=2>; type="application/json"; rel="next"',
      '</v2/app/referrers/sha256:abc?page=2>; REL="next"',
      '</v2/app/referrers/sha256:abc?page=1>; rel="prev", </v2/app/referrers/sha256:abc?page=2>; rel=next',
    ])
      assert.equal(nextPageUrl(header, page), `${page}?page=2`, header);
  });

  it('resolves a relative reference against the page it came with, as RFC 8288 says', () => {
    assert.equal(nextPageUrl('<?page=2>; rel="next"', page), `${page}?page=2`);
    assert.equal(nextPageUrl('<sha256:abc?page=2>; rel="next"', page), `${page}?page=2`);
    assert.equal(
      nextPageUrl('<https://r.example/other?n=1>; rel="next"', page),
      'https://r.example/other?n=1',
    );
  });

  it('says there is no next page when no link is rel="next", and throws on a header that does not parse', () => {
    assert.equal(nextPageUrl(undefined, page), undefined);
    assert.equal(nextPageUrl('', page), undefined);
    assert.equal(nextPageUrl('</v2/x?page=1>; rel="prev"', page), undefined);
    assert.throws(() => nextPageUrl('garbage', page));
  });
});
