import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as util from 'node:util';
import { runTaskAsAgent, type LoggingCommand, type TaskRun, type TaskRunOptions } from '../../scripts/agent';
import { EXTENSION_STAGING_DIR } from '../../scripts/layout';
import { startSandbox, type Sandbox } from '../../sandbox';
import type { AksCluster } from '../../sandbox/kubernetes/aks';
import { kubectlSession } from '../../sandbox/kubernetes';
import { findLeaks } from '../support/leaks';

const TASK = 'run-acceptance-tests';

/** Distinctive header values: the leak scan must not be able to match ordinary log text. */
const TOKEN = `tok-${crypto.randomBytes(12).toString('base64url')}`;
const API_KEY = `key-${crypto.randomBytes(12).toString('base64url')}`;
const INPUT_ECHO = '##vso[task.debug]headers=';
/** A pipeline secret variable's value that a header carries: the agent masks it in the log, not in files. */
const TENANT_SECRET = `tenant-${crypto.randomBytes(12).toString('base64url')}`;
const HEADERS = `Authorization: Bearer ${TOKEN}\nX-Api-Key: ${API_KEY}\nX-Env: staging`;

/** The task's message `key` as the bundle prints it (task-lib formats with util.format). */
function message(key: string, ...params: unknown[]): string {
  const manifest = JSON.parse(
    fs.readFileSync(path.join(EXTENSION_STAGING_DIR, 'tasks', TASK, 'task.json'), 'utf8'),
  ) as { messages: Record<string, string> };
  const text = manifest.messages[key];
  assert.ok(text !== undefined, `task.json has message ${key}`);
  return util.format(text, ...params);
}

/** What a staging deployment answers, with the ways real ones misbehave. */
interface StagingApp {
  readonly listener: http.RequestListener;
  /** `METHOD path -> status`, in order. */
  readonly log: string[];
  /** The Authorization header of each request (the `headers` input must reach every one). */
  readonly authorizations: (string | undefined)[];
}

function stagingApp(): StagingApp {
  const log: string[] = [];
  const authorizations: (string | undefined)[] = [];
  let firstHealthProbe: number | undefined;
  let flakyHits = 0;
  const listener: http.RequestListener = (request, response) => {
    const url = request.url ?? '/';
    authorizations.push(request.headers.authorization);
    const answer = (status: number, body: string, type = 'text/plain'): void => {
      log.push(`${request.method ?? ''} ${url} -> ${status}`);
      response.writeHead(status, { 'content-type': type }).end(body);
    };
    // Routed by path: a base URL may carry a query (an Azure Function's `?code=`) that every request keeps.
    switch (url.split('?')[0]) {
      case '/healthz':
        // Still starting: 503 for the first 1.8 s after the first probe (the task probes every 2 s).
        firstHealthProbe ??= Date.now();
        return Date.now() - firstHealthProbe < 1800
          ? answer(503, 'starting')
          : answer(200, '{"status":"ok"}', 'application/json');
      case '/api/orders':
        return answer(
          200,
          JSON.stringify({ status: 'ok', orders: [{ id: 1 }, { id: 2 }] }),
          'application/json',
        );
      case '/report':
        return void setTimeout(() => answer(200, 'monthly report'), 600);
      case '/flaky':
        return ++flakyHits <= 2 ? answer(503, 'warming up') : answer(200, 'ok now');
      case '/admin':
        // A debug page that echoes the credentials: the failure excerpt must not show them.
        return answer(
          500,
          `<html>Internal error. Authorization: ${request.headers.authorization ?? ''}; ` +
            `X-Api-Key: ${String(request.headers['x-api-key'] ?? '')}; ` +
            `X-Tenant: ${String(request.headers['x-tenant'] ?? '')}</html>`,
        );
      default:
        return answer(404, 'not found');
    }
  };
  return { listener, log, authorizations };
}

const ALL_CHECKS = `checks:
  - name: orders answer
    request: { path: /api/orders }
    expect: { status: 200, headers: { content-type: "/json/" }, body: { json: { "$.orders[1].id": 2 } } }
  - name: report within 3 s
    request: { path: /report }
    expect: { status: 200, body: { contains: report }, maxLatencyMs: 3000 }
  - name: flaky search recovers
    request: { path: /flaky }
    expect: { status: [200, 204] }
  - name: admin page answers
    request: { path: /admin }
    expect: { status: 200 }
`;

const PASSING_CHECKS = `checks:
  - name: orders answer
    request: { path: /api/orders }
    expect: { status: 200, body: { json: { "$.status": ok } } }
`;

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

interface Testcase {
  readonly name: string;
  readonly failure: string | undefined;
}

/** The testcases of a JUnit file: name, and the failure message when there is one. */
function junitTestcases(xml: string): Testcase[] {
  const unescape = (text: string): string =>
    text
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&');
  const cases: Testcase[] = [];
  for (const match of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const name = /\bname="([^"]*)"/.exec(match[1] ?? '')?.[1] ?? '';
    const failure = /<failure\b[^>]*\bmessage="([^"]*)"/.exec(match[3] ?? '')?.[1];
    cases.push({ name: unescape(name), failure: failure === undefined ? undefined : unescape(failure) });
  }
  return cases;
}

/** Processes whose command line holds every one of `needles` (Linux /proc). */
function processesMatching(...needles: string[]): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let commandLine: string;
    try {
      commandLine = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    if (needles.every((needle) => commandLine.includes(needle))) found.push(`${entry}: ${commandLine}`);
  }
  return found;
}

function named(run: TaskRun, command: string): LoggingCommand[] {
  return run.commands.filter((c) => c.command === command);
}

describe('RunAcceptanceTests bundle, run as the agent runs it', function () {
  this.timeout(120_000);
  let folder: string;
  let local: { server: http.Server; app: StagingApp; baseUrl: string };
  const secretValues = new Set<string>([TOKEN, API_KEY, `Bearer ${TOKEN}`, TENANT_SECRET]);

  interface AcceptanceRun extends TaskRun {
    /** The run's Agent.TempDirectory and System.DefaultWorkingDirectory: they outlive the run. */
    readonly temp: string;
    readonly work: string;
  }

  /**
   * Runs the bundle with the headers input, its temp and working folders in the test's folder (the
   * agent's own are removed when the run ends, and the JUnit files live there), and asserts what every
   * run must show: exactly one task.complete, and no secret in any output line or JUnit file.
   */
  async function run(
    inputs: Record<string, string>,
    extra: Partial<TaskRunOptions> = {},
  ): Promise<AcceptanceRun> {
    const runFolder = fs.mkdtempSync(path.join(folder, 'run-'));
    const temp = path.join(runFolder, 'temp');
    const work = path.join(runFolder, 'work');
    fs.mkdirSync(temp);
    fs.mkdirSync(work);
    const result = await runTaskAsAgent({
      task: TASK,
      inputs: { headers: HEADERS, ...inputs },
      ...extra,
      variables: {
        'Agent.TempDirectory': temp,
        'System.DefaultWorkingDirectory': work,
        ...(extra.variables ?? {}),
      },
      timeoutMs: 60_000,
    });
    assert.equal(named(result, 'task.complete').length, 1, `exactly one task.complete:\n${result.stdout}`);
    // task-lib's getInput debug-logs every input it reads, before the task could register anything:
    // the inputs that may carry credentials are read without that echo, and every line is scanned.
    assert.deepEqual(
      result.stdout.split(/\r?\n/).filter((l) => l.startsWith(INPUT_ECHO)),
      [],
      'no echo of the headers input',
    );
    const taskOutput = result.stdout + result.stderr;
    assert.deepEqual(findLeaks(taskOutput, [...secretValues]), [], 'no secret in the log');
    for (const publish of named(result, 'results.publish'))
      for (const file of (publish.properties['resultFiles'] ?? '').split(','))
        assert.deepEqual(
          findLeaks(fs.readFileSync(file, 'utf8'), [...secretValues]),
          [],
          `no secret in ${file}`,
        );
    return { ...result, temp, work };
  }

  before(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'acceptance-it-'));
    const app = stagingApp();
    const server = http.createServer(app.listener);
    const port = await listen(server);
    local = { server, app, baseUrl: `http://127.0.0.1:${port}` };
  });

  after(async () => {
    await closeServer(local.server);
    fs.rmSync(folder, { recursive: true, force: true });
  });

  describe('against a local HTTP server', () => {
    it('waits for readiness, retries the flaky check, fails on the failing one, and publishes the JUnit file', async () => {
      const checksFile = path.join(folder, 'checks.yaml');
      fs.writeFileSync(checksFile, ALL_CHECKS);
      const result = await run({
        baseUrl: local.baseUrl,
        checksFile,
        readinessPath: '/healthz',
        readinessTimeout: '20',
        testRunTitle: 'Staging acceptance',
      });

      assert.equal(result.result, 'Failed', result.stdout);
      assert.equal(result.resultMessage, message('ChecksFailed', 1, 4));
      assert.deepEqual(
        { passed: result.variables['passed'], failed: result.variables['failed'] },
        { passed: '3', failed: '1' },
      );
      const health = local.app.log.filter((line) => line.startsWith('GET /healthz'));
      assert.equal(health[0], 'GET /healthz -> 503', 'the first probe met a server still starting');
      assert.equal(health.at(-1), 'GET /healthz -> 200');
      assert.equal(
        local.app.log.filter((line) => line.startsWith('GET /flaky')).join(', '),
        'GET /flaky -> 503, GET /flaky -> 503, GET /flaky -> 200',
      );
      assert.ok(
        local.app.authorizations.every((value) => value === `Bearer ${TOKEN}`),
        'every request, readiness probes included, carried the headers input',
      );

      const junitFile = result.variables['testResultsFile'] ?? '';
      assert.ok(junitFile.startsWith(result.temp), `${junitFile} is in the agent's temp folder`);
      const [publish, ...more] = named(result, 'results.publish');
      assert.equal(more.length, 0);
      assert.deepEqual(
        {
          type: publish?.properties['type'],
          resultFiles: publish?.properties['resultFiles'],
          runTitle: publish?.properties['runTitle'],
        },
        { type: 'JUnit', resultFiles: junitFile, runTitle: 'Staging acceptance' },
      );
      const junit = fs.readFileSync(junitFile, 'utf8');
      assert.match(
        junit,
        /Response body: <html>Internal error\. Authorization: \*\*\*; X-Api-Key: \*\*\*; X-Tenant: <\/html>/,
      );
      const cases = junitTestcases(junit);
      assert.deepEqual(
        cases.map((c) => [c.name, c.failure === undefined]),
        [
          ['orders answer', true],
          ['report within 3 s', true],
          ['flaky search recovers', true],
          ['admin page answers', false],
        ],
      );
      assert.match(cases[3]?.failure ?? '', /500/);
    });

    it('keeps secret variables a server echoes out of the JUnit file, and a check name cannot act on the pipeline', async () => {
      const checksFile = path.join(folder, 'hostile.yaml');
      fs.writeFileSync(
        checksFile,
        `checks:
  - name: "admin\\n##vso[task.complete result=Succeeded;]injected ##vso[task.setvariable variable=passed]99"
    request: { path: /admin }
    expect: { status: 200 }
`,
      );
      const result = await run(
        { baseUrl: local.baseUrl, checksFile, headers: `${HEADERS}\nX-Tenant: ${TENANT_SECRET}` },
        { secretVariables: { tenantSecret: TENANT_SECRET } },
      );

      assert.equal(result.result, 'Failed', result.stdout);
      assert.equal(result.variables['passed'], '0', 'only the task sets its outputs');
      const junit = fs.readFileSync(result.variables['testResultsFile'] ?? '', 'utf8');
      assert.match(junit, /X-Tenant: \*\*\*<\/html>/);
    });

    it('runs a command that writes a JUnit file and exits 0, and publishes that file beside the checks’ one', async () => {
      const checksFile = path.join(folder, 'passing.yaml');
      fs.writeFileSync(checksFile, PASSING_CHECKS);
      const result = await run({
        baseUrl: local.baseUrl,
        checksFile,
        command:
          'mkdir -p results && printf \'<testsuites><testsuite name="e2e" tests="1">' +
          '<testcase classname="e2e" name="reached %s"/></testsuite></testsuites>\' "$BASE_URL" > results/e2e.xml',
        junitFiles: 'results/*.xml',
      });

      assert.equal(result.result, 'Succeeded', result.stdout);
      assert.ok(result.stdout.includes(message('CommandPassed')));
      const commandJunit = path.join(result.work, 'results', 'e2e.xml');
      assert.equal(
        named(result, 'results.publish')[0]?.properties['resultFiles'],
        `${result.variables['testResultsFile'] ?? ''},${commandJunit}`,
      );
      assert.deepEqual(
        junitTestcases(fs.readFileSync(commandJunit, 'utf8')).map((c) => c.name),
        [`reached ${local.baseUrl}`],
      );
    });

    it("tests the first URL of a baseUrl that lists several, as DeployAksTemplate's serviceEndpoints does", async () => {
      const other = 'http://20.1.2.3:8080';
      const result = await run({
        baseUrl: `${local.baseUrl}\n${other}`,
        command: 'printf "%s" "$BASE_URL" > base-url.txt',
      });

      assert.equal(result.result, 'Succeeded', result.stdout);
      assert.equal(fs.readFileSync(path.join(result.work, 'base-url.txt'), 'utf8'), local.baseUrl);
      assert.ok(result.stdout.includes(message('TestingBaseUrl', local.baseUrl)), result.stdout);
      assert.ok(result.stdout.includes(message('BaseUrlFirstOfSeveral', 2, other)), result.stdout);
    });

    it("registers a function key in the base URL's query before anything prints the URL, and keeps the query on the readiness probe", async () => {
      const key = `fnkey-${crypto.randomBytes(9).toString('base64url')}`;
      const before = local.app.log.length;
      const result = await run({
        baseUrl: `${local.baseUrl}/?code=${key}`,
        readinessPath: '/healthz',
        command: 'true',
      });

      assert.equal(result.result, 'Succeeded', result.stdout);
      assert.ok(local.app.log.length > before, 'the readiness path was probed');
      assert.ok(
        local.app.log.slice(before).every((entry) => entry.startsWith(`GET /healthz?code=${key} -> `)),
        `the readiness path goes before the base URL's query: ${local.app.log.slice(before).join(', ')}`,
      );
      const lines = result.stdout.split(/\r?\n/);
      const registered = lines.indexOf(`##vso[task.setsecret]${key}`);
      // task-lib's own echo of the input as it is read (masked by the agent when the URL comes from a
      // secret variable, shown only under System.Debug) comes before the task can register anything.
      const shown = lines.findIndex(
        (line) =>
          !line.startsWith('##vso[task.setsecret]') &&
          !line.startsWith('##vso[task.debug]baseUrl=') &&
          line.includes(key),
      );
      assert.ok(registered >= 0, 'the key is registered');
      assert.ok(
        shown < 0 || shown > registered,
        `registered (line ${registered}) before it is shown: ${lines[shown] ?? ''}`,
      );
    });

    it('fails when the command exits 3, and still publishes the JUnit file it wrote', async () => {
      const result = await run({
        baseUrl: local.baseUrl,
        command:
          'mkdir -p results && printf \'<testsuites><testsuite name="e2e" tests="1" failures="1">' +
          '<testcase classname="e2e" name="checkout"><failure message="no basket"/></testcase>' +
          "</testsuite></testsuites>' > results/e2e.xml; exit 3",
        junitFiles: 'results/*.xml',
      });

      assert.equal(result.result, 'Failed', result.stdout);
      assert.equal(result.resultMessage, message('CommandExitCode', 3));
      assert.equal(result.variables['testResultsFile'], '');
      assert.equal(
        named(result, 'results.publish')[0]?.properties['resultFiles'],
        path.join(result.work, 'results', 'e2e.xml'),
      );
    });
  });

  describe('through the sandbox', () => {
    let sandbox: Sandbox;
    let cluster: AksCluster;
    let secureHost: { server: https.Server; app: StagingApp };
    const HTTPS_HOST = 'staging.contoso.com';

    before(async () => {
      sandbox = await startSandbox({ services: ['aks'] });
      const { base } = sandbox;
      const tls = base.ca.issueServerCertificate([HTTPS_HOST]);
      const app = stagingApp();
      const server = https.createServer({ key: tls.key, cert: tls.certificate }, app.listener);
      base.proxy.route(HTTPS_HOST, await listen(server));
      secureHost = { server, app };

      cluster = await sandbox.aks.createCluster({ resourceGroup: 'rg-staging', name: 'aks-staging' });
      secretValues.add(cluster.kubernetes.adminToken);
      const kubectl = kubectlSession({
        parentDirectory: base.directory,
        kubeconfig: cluster.kubeconfig(true),
        environment: base.clientEnvironment,
      });
      try {
        await kubectl.ok(['apply', '-f', '-'], { input: WEB_MANIFEST });
        await kubectl.ok(['rollout', 'status', 'deployment/web', '-n', 'staging', '--timeout=20s']);
      } finally {
        kubectl.dispose();
      }
    });

    after(async () => {
      await closeServer(secureHost.server);
      await sandbox.close();
      assert.deepEqual(sandbox.base.proxy.refused, [], 'nothing tried to leave the sandbox');
    });

    it('reaches an HTTPS host through the agent’s proxy (Agent.ProxyUrl)', async () => {
      const checksFile = path.join(folder, 'proxied.yaml');
      fs.writeFileSync(checksFile, PASSING_CHECKS);
      const { base } = sandbox;
      const tunnels = (): number => base.proxy.connects.filter((c) => c === `${HTTPS_HOST}:443`).length;
      const before = tunnels();
      const result = await run(
        { baseUrl: `https://${HTTPS_HOST}`, checksFile },
        {
          env: { ...base.clientEnvironment, HTTPS_PROXY: '', https_proxy: '' },
          variables: { 'Agent.ProxyUrl': base.proxy.url },
        },
      );

      assert.equal(result.result, 'Succeeded', result.stdout);
      assert.equal(result.variables['passed'], '1');
      assert.ok(tunnels() > before, 'the request went through a CONNECT tunnel of the proxy');
      assert.deepEqual(secureHost.app.log, ['GET /api/orders -> 200']);
    });

    it('tests a ClusterIP Service through kubectl port-forward, and leaves no kubectl behind', async () => {
      const app = stagingApp();
      const pods = await cluster.kubernetes.serveApp('staging', { app: 'web' }, 8080, app.listener);
      const kubeconfig = path.join(folder, 'aks-staging.kubeconfig');
      fs.writeFileSync(kubeconfig, cluster.kubeconfig(true), { mode: 0o600 });
      const checksFile = path.join(folder, 'service.yaml');
      fs.writeFileSync(
        checksFile,
        `${PASSING_CHECKS}  - name: flaky search recovers\n    request: { path: /flaky }\n    expect: { status: 200 }\n`,
      );
      // Watched while the task runs (its kubeconfig is in a temp folder inside `folder`): the
      // port-forward must be seen to exist for its absence afterwards to mean anything.
      const forwarders = new Set<string>();
      const watch = setInterval(() => {
        for (const p of processesMatching('port-forward', folder)) forwarders.add(p);
      }, 100);
      let result: AcceptanceRun;
      try {
        result = await run(
          {
            kubernetesService: 'staging/web:80',
            connectionType: 'kubeconfig',
            kubeconfig,
            readinessPath: '/healthz',
            readinessTimeout: '20',
            checksFile,
          },
          { env: sandbox.base.clientEnvironment },
        );
      } finally {
        clearInterval(watch);
      }

      assert.equal(result.result, 'Succeeded', result.stdout);
      assert.deepEqual(
        { passed: result.variables['passed'], failed: result.variables['failed'] },
        { passed: '2', failed: '0' },
      );
      assert.match(result.stdout, /Forwarding 127\.0\.0\.1:\d+ to Service staging\/web:80\./);
      assert.ok(pods.requests >= 5, `the pods answered the probes and checks (${pods.requests})`);
      assert.equal(app.log[0], 'GET /healthz -> 503');
      assert.ok(forwarders.size > 0, 'kubectl port-forward ran during the task');
      assert.ok(
        [...forwarders].every((p) => p.includes('service/web') && p.includes(result.temp)),
        [...forwarders].join('\n'),
      );
      assert.deepEqual(processesMatching('port-forward', folder), [], 'no kubectl port-forward is left');
      assert.deepEqual(
        fs.readdirSync(result.temp).filter((name) => name.startsWith('kubeconfig')),
        [],
        'the task’s kubeconfig is removed',
      );
      assert.equal(cluster.kubernetes.portForwardSessions, 0, 'the SPDY session ended with kubectl');
      await pods.close();
    });
  });
});

/** A Deployment whose container names its port, and the ClusterIP Service in front of it. */
const WEB_MANIFEST = `apiVersion: v1
kind: Namespace
metadata: { name: staging }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: staging }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: contosoprod.azurecr.io/web:1.4.2
          ports: [{ name: http, containerPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: staging }
spec:
  type: ClusterIP
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }]
`;
