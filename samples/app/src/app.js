'use strict';

const http = require('node:http');
const { PRODUCTS } = require('./products');

/**
 * The shop's HTTP server, not yet listening: tests start it on an ephemeral port, `server.js` on PORT.
 * `version` is shown on the home page, so a deploy can be seen to have arrived.
 */
function createApp({ version = 'dev' } = {}) {
  const routes = {
    '/': () => ({ status: 200, type: 'text/html; charset=utf-8', body: homePage(version) }),
    '/healthz': () => json(200, { status: 'ok' }),
    '/api/products': () => json(200, PRODUCTS),
  };
  return http.createServer((request, response) => {
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    const route = Object.hasOwn(routes, pathname) ? routes[pathname] : undefined;
    let result;
    if (route === undefined) result = json(404, { error: 'not found', path: pathname });
    else if (request.method !== 'GET' && request.method !== 'HEAD')
      result = { ...json(405, { error: 'method not allowed' }), headers: { Allow: 'GET, HEAD' } };
    else result = route();
    // For HEAD, Node sends the headers and drops the body.
    response.writeHead(result.status, {
      'Content-Type': result.type,
      'Content-Length': Buffer.byteLength(result.body),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      ...result.headers,
    });
    response.end(result.body);
  });
}

function json(status, value) {
  return { status, type: 'application/json; charset=utf-8', body: JSON.stringify(value) };
}

function homePage(version) {
  return `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Contoso Shop</title></head>
  <body>
    <h1>Welcome to Contoso Shop</h1>
    <p>Version <span id="version">${escapeHtml(version)}</span></p>
  </body>
</html>
`;
}

function escapeHtml(text) {
  const entities = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  return text.replace(/[&<>"']/g, (character) => entities[character]);
}

module.exports = { createApp };
