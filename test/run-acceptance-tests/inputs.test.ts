import * as assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { UserError } from '../../tasks/common/errors';
import {
  credentialHeaderValues,
  credentialUrlValues,
  parseBaseUrl,
  withoutCredentials,
  parseHeaders,
  parseKubernetesService,
} from '../../tasks/run-acceptance-tests/inputs';
import { assertUserError } from './messages';

describe('parseHeaders', () => {
  it('returns each header with its value trimmed, keeping the name as written', () => {
    assert.deepEqual(
      [...parseHeaders(['Authorization: Bearer abc:def', 'X-Canary:always', 'X-Empty:'].join('\n'))],
      [
        ['Authorization', 'Bearer abc:def'],
        ['X-Canary', 'always'],
        ['X-Empty', ''],
      ],
    );
  });

  it('refuses a header given twice in any case, naming it and both lines but not the value', () => {
    assertUserError(
      () =>
        parseHeaders(['Authorization: Bearer one', 'X-Env: staging', 'authorization: Bearer two'].join('\n')),
      'DuplicateHeader',
      'authorization',
      1,
      3,
    );
  });

  it('refuses a line without a valid name by its number', () => {
    assertUserError(
      () => parseHeaders(['Accept: text/html', 'no colon here'].join('\n')),
      'InvalidHeaderLine',
      2,
    );
    assertUserError(() => parseHeaders(['X Bad: 1'].join('\n')), 'InvalidHeaderLine', 1);
    assertUserError(
      () => parseHeaders('\nAccept: text/html\r\n\n   \nno colon here'),
      'InvalidHeaderLine',
      5, // blank lines count: the number is the one the user sees
    );
  });

  it('refuses a control character in a value, naming the header and line', () => {
    assertUserError(
      () => parseHeaders(['X-A: 1', 'X-Token: abc\u0000def'].join('\n')),
      'InvalidHeaderValue',
      'X-Token',
      2,
    );
  });

  it('never fails with anything but a one-line UserError that leaves the values out', () => {
    const secretValue = fc.stringMatching(/^[A-Za-z0-9]{6}$/).map((s) => `SECRET${s}`);
    const line = fc.oneof(
      fc
        .tuple(fc.constantFrom('X-A', 'x-a', 'Authorization', 'bad name', '', 'É'), secretValue)
        .map(([name, value]) => `${name}: ${value}`),
      fc.tuple(fc.string(), secretValue).map(([text, value]) => `${text}${value}`),
      fc
        .tuple(fc.constantFrom('X-A', 'X-B'), secretValue, fc.constantFrom('\u0000', '\u007f', '\u0001'))
        .map(([name, value, control]) => `${name}: ${value}${control}`),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 5 }), (lines) => {
        try {
          parseHeaders(lines.join('\n'));
          return true;
        } catch (error: unknown) {
          if (!(error instanceof UserError)) throw error;
          return !/[\r\n]/.test(error.message) && !/SECRET[A-Za-z0-9]{6}/.test(error.message);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseBaseUrl', () => {
  it('drops trailing slashes and keeps path and query', () => {
    assert.equal(parseBaseUrl('https://staging.contoso.com/'), 'https://staging.contoso.com');
    assert.equal(parseBaseUrl('http://10.0.0.4:8080/api//'), 'http://10.0.0.4:8080/api');
    assert.equal(
      parseBaseUrl('https://fn.azurewebsites.net/api?code=x'),
      'https://fn.azurewebsites.net/api?code=x',
    );
  });

  it('refuses what is not an http or https URL', () => {
    assertUserError(() => parseBaseUrl('ftp://staging'), 'InvalidBaseUrl', 'ftp://staging');
    assertUserError(() => parseBaseUrl('staging.contoso.com'), 'InvalidBaseUrl', 'staging.contoso.com');
  });
});

describe('parseKubernetesService', () => {
  it('returns the namespace, Service and port, a port number or name', () => {
    assert.deepEqual(parseKubernetesService('web-staging/web:80'), {
      namespace: 'web-staging',
      name: 'web',
      port: '80',
    });
    assert.deepEqual(parseKubernetesService('default/api-v2:http-web'), {
      namespace: 'default',
      name: 'api-v2',
      port: 'http-web',
    });
  });

  it('refuses anything but namespace/service:port, quoting the value', () => {
    for (const value of [
      'web:80',
      'web-staging/web',
      'Web/web:80',
      'ns/web:0',
      'ns/web:65536',
      'ns/web:80/x',
      'ns/web:Http',
    ])
      assertUserError(() => parseKubernetesService(value), 'InvalidKubernetesService', value);
  });
});

describe('credentialHeaderValues', () => {
  it('returns credential-like values with the credentials after the scheme and each cookie value', () => {
    const headers = new Map([
      ['Authorization', 'Bearer eyJ.token.sig'],
      ['X-Api-Key', 'k-123456'],
      ['Cookie', 'session=abc123; theme=dark'],
      ['X-Env', 'staging'],
      ['Accept', 'application/json'],
      ['X-Signature', ''],
    ]);
    assert.deepEqual(credentialHeaderValues(headers), [
      'Bearer eyJ.token.sig',
      'eyJ.token.sig',
      'k-123456',
      'session=abc123; theme=dark',
      'abc123',
      'dark',
    ]);
  });

  it('leaves ordinary headers alone, so their words are not masked in the whole job log', () => {
    assert.deepEqual(
      credentialHeaderValues(
        new Map([
          ['X-Canary', 'always'],
          ['Accept-Language', 'en'],
        ]),
      ),
      [],
    );
  });
});

describe('credentialUrlValues', () => {
  it("returns a URL's password and its credential-like query values, as written and decoded", () => {
    assert.deepEqual(
      credentialUrlValues([
        'https://fn.azurewebsites.net/api?code=abc%2Fdef%3D%3D&name=orders',
        'https://tester:p%40ss@staging.contoso.com',
        'https://blob.contoso.com/c?sv=2022&sig=s1g&se=2030',
      ]),
      [
        'abc%2Fdef%3D%3D',
        'abc/def==',
        'p%40ss',
        'p@ss',
        Buffer.from('tester:p@ss').toString('base64'),
        's1g',
      ],
    );
  });

  it('takes any query name that ends in key, token or secret', () => {
    assert.deepEqual(
      credentialUrlValues(['https://api.contoso.com/?x-api-key=k3y1&access_token=t0k2&client_secret=s3c3']),
      ['k3y1', 't0k2', 's3c3'],
    );
  });

  it('leaves a URL without credentials alone, so ordinary words are not masked', () => {
    assert.deepEqual(
      credentialUrlValues([
        'https://staging.contoso.com/api?region=westeurope&page=2&author=ada&keyword=shoes',
      ]),
      [],
    );
  });
});

describe('withoutCredentials', () => {
  it('leaves out the query and the user and password of a refused base URL', () => {
    assert.equal(
      withoutCredentials('myfunc.azurewebsites.net/api?code=FUNCKEY12345'),
      'myfunc.azurewebsites.net/api?…',
    );
    assert.equal(withoutCredentials('ftp://tester:pa55@staging/x#frag'), 'ftp://…@staging/x?…');
    assert.equal(withoutCredentials('tester:pa55@staging.contoso.com'), '…@staging.contoso.com');
    assert.equal(withoutCredentials('staging.contoso.com'), 'staging.contoso.com');
    assert.equal(
      withoutCredentials('https://tester:pa/s@s@staging.contoso.com'),
      'https://…@staging.contoso.com',
    );
  });

  it('is what the error quotes', () => {
    assertUserError(
      () => parseBaseUrl('myfunc.azurewebsites.net/api?code=FUNCKEY12345'),
      'InvalidBaseUrl',
      'myfunc.azurewebsites.net/api?…',
    );
  });
});
