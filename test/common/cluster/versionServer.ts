// A stand-in API server for L0 runs, in a process of its own (the mock runner blocks the test
// process while a scenario runs). Answers GET /version with the gitVersion given as argv[2]; prints
// its port on its first line, then one JSON line per request with the Authorization it carried.
import * as http from 'node:http';

const gitVersion = process.argv[2] ?? 'v1.32.4';
const server = http.createServer((request, response) => {
  console.log(JSON.stringify({ path: request.url, authorization: request.headers.authorization ?? null }));
  if (request.url === '/version') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ major: '1', minor: gitVersion.split('.')[1], gitVersion }));
    return;
  }
  response.writeHead(404).end();
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(typeof address === 'object' && address !== null ? address.port : 0);
});
