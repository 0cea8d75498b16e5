import * as assert from 'node:assert/strict';
import { secretForms } from '../../tasks/common/secrets';

describe('secretForms', () => {
  it('gives a one-line value as it is', () => {
    assert.deepEqual(secretForms('p@ssw0rd'), ['p@ssw0rd']);
  });

  it('gives every line of a multi-line value and its JSON-escaped form, never a multi-line form', () => {
    const forms = secretForms('line-one\nline-two\r\n  line-three  ');
    assert.ok(forms.includes('line-one') && forms.includes('line-two') && forms.includes('line-three'));
    assert.ok(forms.includes('line-one\\nline-two\\r\\n  line-three  '));
    assert.ok(forms.every((form) => !/[\r\n]/.test(form)));
  });

  it('gives every string inside a JSON secret', () => {
    const forms = secretForms('{"user":"admin-user","password":"s3cr3t!","nested":{"keys":["key-one"]}}');
    for (const leaf of ['admin-user', 's3cr3t!', 'key-one']) assert.ok(forms.includes(leaf), leaf);
  });

  it('skips forms too short to mask usefully', () => {
    assert.deepEqual(secretForms('{"a":"xy","b":"long-enough"}').includes('xy'), false);
    assert.deepEqual(secretForms('ab'), []);
  });
});
