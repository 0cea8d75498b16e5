import * as assert from 'node:assert/strict';
import { decideTags } from '../../tasks/promote-image/tagProtection';

const PROMOTED = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;

describe('PromoteImage tag protection', () => {
  it('creates absent tags and keeps tags already at the promoted digest', () => {
    const current = new Map([
      ['1.0.0', undefined],
      ['prod', PROMOTED],
    ]);
    assert.deepEqual(decideTags(['1.0.0', 'prod'], current, PROMOTED, false), {
      ok: true,
      decisions: [
        { tag: '1.0.0', current: undefined, action: 'create' },
        { tag: 'prod', current: PROMOTED, action: 'keep' },
      ],
    });
  });

  it('refuses every tag at another digest when overwrite is off, naming both digests', () => {
    const current = new Map([
      ['1.0.0', undefined],
      ['prod', OTHER],
      ['stable', OTHER],
    ]);
    assert.deepEqual(decideTags(['1.0.0', 'prod', 'stable'], current, PROMOTED, false), {
      ok: false,
      conflicts: [
        { tag: 'prod', current: OTHER, promoted: PROMOTED },
        { tag: 'stable', current: OTHER, promoted: PROMOTED },
      ],
    });
  });

  it('moves a tag at another digest when overwrite is on', () => {
    assert.deepEqual(decideTags(['prod'], new Map([['prod', OTHER]]), PROMOTED, true), {
      ok: true,
      decisions: [{ tag: 'prod', current: OTHER, action: 'move' }],
    });
  });

  it('decides nothing for a promotion without tags', () => {
    assert.deepEqual(decideTags([], new Map(), PROMOTED, false), { ok: true, decisions: [] });
  });
});
