'use strict';

const { createApp } = require('./app');

/** How long in-flight requests get to finish after SIGTERM; below Kubernetes' 30 s grace period. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

const port = Number(process.env.PORT ?? 8080);
const version = process.env.APP_VERSION || 'dev';
const server = createApp({ version });

server.listen(port, () => {
  log('listening', { port: server.address().port, version });
});

// Kubernetes sends SIGTERM before it kills a pod; `docker stop` does too. Stop accepting
// connections, let the requests in flight finish, then exit 0 so the stop counts as clean.
// (Node as PID 1 in a container has no default signal handling: without this handler it ignores
// SIGTERM and is killed after the grace period.)
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    log('shutting down', { signal });
    server.close(() => {
      log('stopped', {});
      process.exit(0);
    });
    server.closeIdleConnections();
    setTimeout(() => {
      log('forced exit: requests still open', { afterMs: SHUTDOWN_TIMEOUT_MS });
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
  });
}

function log(message, fields) {
  console.log(JSON.stringify({ time: new Date().toISOString(), message, ...fields }));
}
