import * as assert from 'node:assert/strict';
import { secretForms } from '../../tasks/common/secrets';

describe('secretForms', () => {
  it('gives a one-line value as it is', () => {
    assert.deepEqual(secretForms('p@ssw0rd'), ['p@ssw0rd']);
  });

  it('gives every line of a multi-line value and its JSON-escaped form, never a multi-line form', () => {
    const forms = secretForms('line-one\nline-two\r\n  line-three  ');
    assert.deepEqual(
      forms.sort(),
      ['line-one', 'line-one\\nline-two\\r\\n  line-three  ', 'line-three', 'line-two'].sort(),
    );
  });

  it('splits lines at a lone carriage return too', () => {
    const forms = secretForms('part-one\rpart-two');
    assert.ok(forms.includes('part-one') && forms.includes('part-two'), forms.join(' | '));
  });

  it('gives the strings under secret-like keys of a JSON secret, not ordinary values', () => {
    const forms = secretForms(
      '{"user":"admin-user","password":"s3cr3t!","region":"westeurope","enabled":"true","nested":{"apiKeys":["key-one"]},"db":{"connectionString":"Server=x;Pwd=y"}}',
    );
    for (const leaf of ['s3cr3t!', 'key-one', 'Server=x;Pwd=y']) assert.ok(forms.includes(leaf), leaf);
    for (const word of ['admin-user', 'westeurope', 'true']) assert.ok(!forms.includes(word), word);
  });

  it('masks the private key of a PEM, not its certificate or the markers', () => {
    const pem = [
      '-----BEGIN CERTIFICATE-----',
      'MIIBcertificateLineOne',
      'MIIBcertificateLineTwo',
      '-----END CERTIFICATE-----',
      '-----BEGIN PRIVATE KEY-----',
      'MIIEprivateKeyLineOne',
      'MIIEprivateKeyLineTwo',
      '-----END PRIVATE KEY-----',
    ].join('\n');
    const forms = secretForms(pem);
    assert.ok(forms.includes('MIIEprivateKeyLineOne') && forms.includes('MIIEprivateKeyLineTwo'));
    for (const publicLine of [
      'MIIBcertificateLineOne',
      '-----BEGIN CERTIFICATE-----',
      '-----END PRIVATE KEY-----',
    ])
      assert.ok(!forms.includes(publicLine), publicLine);
  });

  it('skips forms too short to mask usefully', () => {
    assert.deepEqual(secretForms('{"password":"xy","token":"long-enough"}').includes('xy'), false);
    assert.deepEqual(secretForms('ab'), []);
  });
});
