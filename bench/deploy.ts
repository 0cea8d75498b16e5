// bench/deploy: the bundled DeployAksTemplate task, run as the agent runs it with the real kubectl on
// PATH, against a sandbox AKS cluster reached through the sandbox proxy.
// (1) Detection: a Deployment whose image cannot be pulled, rolloutTimeout 600: the time from the
//     pod first reporting the pull failure (seen in the API server's store) to the task's process
//     ending Failed. The pod says ErrImagePull, then ImagePullBackOff 0.3 s later; the task fails on
//     either, so the clock starts at the first, which is the stricter reading of "from
//     ImagePullBackOff". KubernetesManifest@1 waits out the whole timeout. Bar: ≤ 2 s.
// (2) Overhead: a 10-object template (3 Deployments, 3 Services, 3 ConfigMaps, an Ingress) to a ready
//     cluster, the whole task against what a pipeline script does (`kubectl apply --server-side -f`,
//     then `kubectl rollout status` per workload), in the same sandbox and run, each in a fresh
//     namespace with a fresh kubectl cache. Bar: ratio ≤ 1.3.
// Medians of 5, interleaved so that both sides see the same machine.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { runTaskAsAgent, type TaskRun } from '../scripts/agent';
import { startSandbox } from '../sandbox';
import type { AksCluster } from '../sandbox/kubernetes/aks';
import { resourceTypeOf } from '../sandbox/kubernetes/resources';

const RUNS = 5;
const DETECTION_BAR_MS = 2000;
const OVERHEAD_BAR = 1.3;
const WORKLOADS = ['api', 'web', 'worker'];
const PULL_FAILURES = new Set(['ErrImagePull', 'ImagePullBackOff']);

function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
}

/** Three Deployments with a Service and a ConfigMap each, and one Ingress in front: 10 objects, no namespace. */
function tenObjects(): string {
  const documents = WORKLOADS.flatMap((name) => [
    `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, labels: { app: ${name} } }
spec:
  replicas: 2
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers:
        - name: ${name}
          image: contosononprod.azurecr.io/team/${name}:1.0.0
          ports: [{ containerPort: 8080 }]
          envFrom: [{ configMapRef: { name: ${name}-settings } }]`,
    `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec:
  selector: { app: ${name} }
  ports: [{ port: 80, targetPort: 8080 }]`,
    `apiVersion: v1
kind: ConfigMap
metadata: { name: ${name}-settings }
data: { LOG_LEVEL: info }`,
  ]);
  documents.push(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: shop }
spec:
  rules:
    - host: shop.contoso.com
      http:
        paths:
${WORKLOADS.map(
  (name) => `          - path: /${name}
            pathType: Prefix
            backend: { service: { name: ${name}, port: { number: 80 } } }`,
).join('\n')}`);
  return documents.join('\n---\n') + '\n';
}

/**
 * The pull fails this long after the pod is created: spread over the task's pod-poll period, so that
 * the runs see the failure at different points of it, as pods on a real cluster do.
 */
const PULL_FAILURE_DELAYS_MS = [900, 1200, 1500, 1800, 2100];

function brokenImage(run: number): string {
  return `contosononprod.azurecr.io/team/web:does-not-exist-${run}`;
}

function brokenDeployment(namespace: string, image: string): string {
  return `apiVersion: v1
kind: Namespace
metadata: { name: ${namespace} }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${namespace} }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: "${image}" }]
`;
}

interface Bench {
  readonly cluster: AksCluster;
  readonly directory: string;
  readonly kubeconfig: string;
  readonly environment: Readonly<Record<string, string>>;
}

function runTask(bench: Bench, template: string, inputs: Record<string, string> = {}): Promise<TaskRun> {
  return runTaskAsAgent({
    task: 'deploy-aks-template',
    inputs: {
      connectionType: 'kubeconfig',
      kubeconfig: bench.kubeconfig,
      templates: template,
      rolloutTimeout: '600',
      ...inputs,
    },
    env: bench.environment,
    timeoutMs: 700_000,
  });
}

/** Milliseconds from the first ErrImagePull/ImagePullBackOff of a pod in `namespace` to the task's process ending. */
async function detection(bench: Bench, run: number): Promise<number> {
  const namespace = `broken-${run}`;
  const image = brokenImage(run);
  bench.cluster.setImageBehaviour(image, {
    kind: 'imagePullBackOff',
    delayMs: PULL_FAILURE_DELAYS_MS[run % PULL_FAILURE_DELAYS_MS.length],
  });
  const template = path.join(bench.directory, `${namespace}.yaml`);
  fs.writeFileSync(template, brokenDeployment(namespace, image));
  let backOffAt: number | undefined;
  const unsubscribe = bench.cluster.store.subscribe((event) => {
    const { object } = event;
    if (backOffAt !== undefined || object.kind !== 'Pod' || object.metadata.namespace !== namespace) return;
    const statuses = (object.status?.containerStatuses ?? []) as {
      state?: { waiting?: { reason?: string } };
    }[];
    if (statuses.some((s) => PULL_FAILURES.has(s.state?.waiting?.reason ?? '')))
      backOffAt = performance.now();
  });
  try {
    const run = await runTask(bench, template);
    const endedAt = performance.now();
    if (run.result !== 'Failed' || !/ErrImagePull|ImagePullBackOff/.test(run.resultMessage ?? ''))
      throw new Error(
        `the broken deploy ended ${run.result ?? '?'}: ${run.resultMessage ?? ''}\n${run.stdout}`,
      );
    if (backOffAt === undefined) throw new Error('no pod reported a pull failure');
    return endedAt - backOffAt;
  } finally {
    unsubscribe();
  }
}

function createNamespace(bench: Bench, name: string): void {
  bench.cluster.store.create(resourceTypeOf('Namespace'), {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  });
}

async function timeTask(bench: Bench, template: string, namespace: string): Promise<number> {
  createNamespace(bench, namespace);
  const started = performance.now();
  const run = await runTask(bench, template, { namespace });
  const elapsed = performance.now() - started;
  if (run.result !== 'Succeeded') throw new Error(`the task ended ${run.result ?? '?'}\n${run.stdout}`);
  return elapsed;
}

/** What a pipeline's script step does: apply, then wait for each workload in turn. */
async function timeScript(bench: Bench, template: string, namespace: string): Promise<number> {
  createNamespace(bench, namespace);
  const cache = fs.mkdtempSync(path.join(bench.directory, 'kubecache-'));
  const script = [
    'set -e',
    `kubectl apply --server-side -n ${namespace} -f ${template}`,
    ...WORKLOADS.map((name) => `kubectl rollout status -n ${namespace} deployment/${name} --timeout=600s`),
  ].join('\n');
  const started = performance.now();
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn('bash', ['-c', script], {
      env: { ...process.env, ...bench.environment, KUBECONFIG: bench.kubeconfig, KUBECACHEDIR: cache },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.on('close', (exit) => resolve({ code: exit, output: text }));
  });
  const elapsed = performance.now() - started;
  if (code !== 0) throw new Error(`the script failed (${code ?? '?'}):\n${output}`);
  return elapsed;
}

export async function benchDeploy(): Promise<void> {
  const sandbox = await startSandbox({ services: ['aks'] });
  try {
    const cluster = await sandbox.aks.createCluster({ resourceGroup: 'rg-bench', name: 'aks-bench' });
    const directory = fs.mkdtempSync(path.join(sandbox.base.directory, 'bench-deploy-'));
    const kubeconfig = path.join(directory, 'kubeconfig');
    fs.writeFileSync(kubeconfig, cluster.kubernetes.kubeconfig(), { mode: 0o600 });
    const bench: Bench = { cluster, directory, kubeconfig, environment: sandbox.environment };
    const template = path.join(directory, 'ten-objects.yaml');
    fs.writeFileSync(template, tenObjects());

    // Warm the page cache (node, the bundle, kubectl) outside the measurements.
    await timeTask(bench, template, 'warm-task');
    await timeScript(bench, template, 'warm-script');

    const detections: number[] = [];
    for (let i = 0; i < RUNS; i++) detections.push(await detection(bench, i));
    const task: number[] = [];
    const script: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      task.push(await timeTask(bench, template, `task-${i}`));
      script.push(await timeScript(bench, template, `script-${i}`));
    }

    const detectionMs = median(detections);
    const taskMs = median(task);
    const scriptMs = median(script);
    const ratio = taskMs / scriptMs;
    const list = (values: number[]): string => values.map((v) => v.toFixed(0)).join(', ');
    console.log(`\nDeployAksTemplate against a sandbox AKS cluster, kubectl on PATH (median of ${RUNS})`);
    console.log(
      `  detection: pull failure → task failed, rolloutTimeout 600   ${detectionMs.toFixed(0).padStart(6)} ms  ` +
        `(${list(detections)})  bar ≤ ${DETECTION_BAR_MS} ms: ${detectionMs <= DETECTION_BAR_MS ? 'within' : 'OVER'}`,
    );
    console.log(
      `  10 objects, whole task                                       ${taskMs.toFixed(0).padStart(6)} ms  (${list(task)})`,
    );
    console.log(
      `  10 objects, kubectl apply --server-side + rollout status ×3  ${scriptMs.toFixed(0).padStart(6)} ms  (${list(script)})`,
    );
    console.log(
      `  overhead ratio ${ratio.toFixed(2)}  bar ≤ ${OVERHEAD_BAR}: ${ratio <= OVERHEAD_BAR ? 'within' : 'OVER'}`,
    );
    if (detectionMs > DETECTION_BAR_MS || ratio > OVERHEAD_BAR) process.exitCode = 1;
  } finally {
    await sandbox.close();
  }
}

if (require.main === module) {
  benchDeploy().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
