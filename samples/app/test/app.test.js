'use strict';

const { test, describe, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { createApp } = require('../src/app');
const { PRODUCTS } = require('../src/products');

describe('Contoso Shop routes', () => {
  let server;
  let baseUrl;

  before(async () => {
    server = createApp({ version: '1.2.3' });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${server.address().port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('the home page welcomes the visitor and shows the version', async () => {
    const response = await fetch(`${baseUrl}/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type'), /^text\/html/);
    const body = await response.text();
    assert.match(body, /Welcome to Contoso Shop/);
    assert.match(body, /<span id="version">1\.2\.3<\/span>/);
  });

  test('the home page escapes the version', async () => {
    const other = createApp({ version: '<script>' });
    await new Promise((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const body = await (await fetch(`http://127.0.0.1:${other.address().port}/`)).text();
      assert.match(body, /&lt;script&gt;/);
      assert.doesNotMatch(body, /<script>/);
    } finally {
      other.closeAllConnections();
      await new Promise((resolve) => other.close(resolve));
    }
  });

  test('/healthz answers {"status":"ok"}', async () => {
    const response = await fetch(`${baseUrl}/healthz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok' });
  });

  test('/api/products lists the catalog as JSON', async () => {
    const response = await fetch(`${baseUrl}/api/products`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type'), /^application\/json/);
    const products = await response.json();
    assert.deepEqual(products, PRODUCTS);
    assert.ok(products.length > 0);
  });

  test('a query string does not change the route', async () => {
    const response = await fetch(`${baseUrl}/healthz?probe=liveness`);
    assert.equal(response.status, 200);
  });

  test('HEAD answers with the headers and no body', async () => {
    const response = await fetch(`${baseUrl}/api/products`, { method: 'HEAD' });
    assert.equal(response.status, 200);
    assert.equal(await response.text(), '');
  });

  test('an unknown path answers 404 as JSON', async () => {
    const response = await fetch(`${baseUrl}/no-such-page`);
    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), { error: 'not found', path: '/no-such-page' });
  });

  test('a method other than GET or HEAD answers 405 naming the allowed ones', async () => {
    const response = await fetch(`${baseUrl}/api/products`, { method: 'POST', body: '{}' });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get('allow'), 'GET, HEAD');
  });
});
