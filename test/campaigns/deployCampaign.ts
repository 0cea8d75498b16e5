// A fault campaign for the bundled DeployAksTemplate task: per seed, a random template (1-3
// Deployments, each with a ConfigMap and sometimes a Service, all in a namespace the template
// defines), sometimes one workload whose image can never be pulled, and random faults between
// kubectl and the API server (5xx, 429, connections reset before the answer). Each run must end
// with every workload at the new image and its digest in `deployedImages`, or fail in one clean
// line; faults alone may fail only a few runs (the bound of the other campaigns).
// `npm run campaign -- deploy --seeds 50`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTaskAsAgent, type TaskRun } from '../../scripts/agent';
import { mulberry32, startSandbox, type Sandbox } from '../../sandbox';
import type { AksCluster } from '../../sandbox/kubernetes/aks';
import {
  countFaults,
  findingsOfAnyRun,
  judgeFailure,
  reportOf,
  type Judgement,
  type RunExpectation,
  type SeededCampaignOptions,
} from './judgeRun';
import type { RunReport } from './keyVaultCampaign';

export type { RunReport };

/** The faults are the API server's. */
export type DeployCampaignOptions = SeededCampaignOptions;

const REPOSITORY = 'contosononprod.azurecr.io/campaign';
const NAMES = ['api', 'web', 'worker'];

export interface DeployScenario {
  readonly namespace: string;
  readonly workloads: readonly string[];
  /** Workloads that also get a Service. */
  readonly services: readonly string[];
  readonly tag: string;
  /** A workload whose image can never be pulled: the run must fail naming it. */
  readonly broken: string | undefined;
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

export function drawScenario(seed: number): DeployScenario {
  const random = mulberry32(seed);
  const count = 1 + Math.floor(random() * NAMES.length);
  const workloads = NAMES.slice(0, count);
  return {
    namespace: `campaign-${seed}`,
    workloads,
    services: workloads.filter(() => random() < 0.5),
    tag: `1.${seed}.0`,
    broken: random() < 0.15 ? pick(random, workloads) : undefined,
  };
}

export function describeScenario(scenario: DeployScenario): string {
  return `${scenario.workloads.join(',')} (services: ${scenario.services.join(',') || 'none'})${scenario.broken === undefined ? '' : `, ${scenario.broken} cannot pull`}`;
}

export function expectedOutcome(scenario: DeployScenario): RunExpectation {
  return scenario.broken === undefined
    ? { kind: 'succeed' }
    : {
        kind: 'fail',
        message: new RegExp(
          `^Deployment ${scenario.namespace}/${scenario.broken} cannot roll out: .*(ErrImagePull|ImagePullBackOff)`,
        ),
      };
}

export function imageOf(scenario: DeployScenario, workload: string): string {
  return `${REPOSITORY}/${workload}:${scenario.broken === workload ? 'missing' : scenario.tag}`;
}

export function template(scenario: DeployScenario): string {
  const documents = [`apiVersion: v1\nkind: Namespace\nmetadata: { name: ${scenario.namespace} }`];
  for (const name of scenario.workloads) {
    documents.push(`apiVersion: v1
kind: ConfigMap
metadata: { name: ${name}-settings, namespace: ${scenario.namespace} }
data: { LOG_LEVEL: info }`);
    documents.push(`apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: ${scenario.namespace}, labels: { app: ${name} } }
spec:
  replicas: 2
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers:
        - name: ${name}
          image: ${imageOf(scenario, name)}
          envFrom: [{ configMapRef: { name: ${name}-settings } }]`);
    if (scenario.services.includes(name))
      documents.push(`apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${scenario.namespace} }
spec:
  selector: { app: ${name} }
  ports: [{ port: 80, targetPort: 8080 }]`);
  }
  return documents.join('\n---\n') + '\n';
}

/** What the cluster holds after a run, read from the API server's store (no request, no fault). */
export interface ClusterObservation {
  /** Workload → the image of its Deployment's container, undefined when there is none. */
  readonly images: Readonly<Record<string, string | undefined>>;
  /** Workload → whether its ConfigMap exists. */
  readonly configMaps: Readonly<Record<string, boolean>>;
}

/** Everything wrong with one run, judged against the expectation and what the cluster holds. */
export function judge(
  run: TaskRun,
  scenario: DeployScenario,
  cluster: ClusterObservation,
  faults: number,
  secrets: readonly string[],
): Judgement {
  const findings = findingsOfAnyRun(run, secrets);
  const expectation = expectedOutcome(scenario);
  if (run.result === 'Failed') return mergeJudgement(findings, judgeFailure(run, expectation, faults));
  if (expectation.kind === 'fail') {
    findings.push(`succeeded, expected a failure matching ${expectation.message}`);
    return { findings, failedUnderFaults: false };
  }
  const deployed = (run.variables['deployedImages'] ?? '').split('\n').filter((line) => line !== '');
  for (const workload of scenario.workloads) {
    const image = imageOf(scenario, workload);
    if (cluster.images[workload] !== image)
      findings.push(`Deployment ${workload} runs ${cluster.images[workload] ?? 'nothing'}, not ${image}`);
    if (cluster.configMaps[workload] !== true) findings.push(`ConfigMap ${workload}-settings is missing`);
    if (!deployed.some((line) => line.startsWith(`${image}@sha256:`)))
      findings.push(`deployedImages lacks ${image} with its digest: ${deployed.join(' ')}`);
  }
  return { findings, failedUnderFaults: false };
}

function mergeJudgement(findings: string[], failure: Judgement): Judgement {
  return { findings: [...findings, ...failure.findings], failedUnderFaults: failure.failedUnderFaults };
}

/** This run's faults: a share of the API server's requests meets one of each kind. */
function planFaults(cluster: AksCluster, seed: number, rate: number): void {
  const { faults } = cluster.kubernetes;
  faults.clear(seed);
  const random = mulberry32(seed ^ 0x85ebca6b);
  const share = rate / 3;
  const any = (): boolean => true;
  faults.add({ match: any, status5xx: pick(random, [500, 502, 503, 504]), probability: share });
  faults.add({ match: any, status429: { retryAfterSeconds: 1 }, probability: share / 2 });
  faults.add({ match: any, resetBeforeResponse: true, probability: share });
  faults.add({ match: any, latencyMs: 5, probability: 0.2 });
}

interface Campaign {
  readonly sandbox: Sandbox;
  readonly cluster: AksCluster;
  readonly directory: string;
  readonly kubeconfig: string;
}

async function runSeed(campaign: Campaign, seed: number, options: DeployCampaignOptions): Promise<RunReport> {
  const { cluster } = campaign;
  const scenario = drawScenario(seed);
  if (scenario.broken !== undefined)
    cluster.setImageBehaviour(imageOf(scenario, scenario.broken), { kind: 'imagePullBackOff' });
  const file = path.join(campaign.directory, `${scenario.namespace}.yaml`);
  fs.writeFileSync(file, template(scenario));
  planFaults(cluster, seed, options.faultRate);
  const run = await runTaskAsAgent({
    task: 'deploy-aks-template',
    inputs: {
      connectionType: 'kubeconfig',
      kubeconfig: campaign.kubeconfig,
      templates: file,
      rolloutTimeout: '120',
    },
    env: campaign.sandbox.environment,
    timeoutMs: 300_000,
  });
  // A copy: clear() empties the plan's log in place.
  const injected = [...cluster.kubernetes.faults.injected];
  cluster.kubernetes.faults.clear(seed);
  const observation: ClusterObservation = {
    images: Object.fromEntries(
      scenario.workloads.map((name) => {
        const deployment = cluster.store.getByKind('Deployment', scenario.namespace, name);
        const containers = (
          deployment?.spec?.template as { spec?: { containers?: { image?: string }[] } } | undefined
        )?.spec?.containers;
        return [name, containers?.[0]?.image];
      }),
    ),
    configMaps: Object.fromEntries(
      scenario.workloads.map((name) => [
        name,
        cluster.store.getByKind('ConfigMap', scenario.namespace, `${name}-settings`) !== undefined,
      ]),
    ),
  };
  const faults = countFaults(injected).faults;
  const judged = judge(run, scenario, observation, faults, [
    cluster.kubernetes.adminToken,
    cluster.kubernetes.userToken,
  ]);
  return reportOf(seed, describeScenario(scenario), run, injected, judged);
}

/** Runs every seed against one sandbox cluster; returns the reports of all runs. */
export async function runDeployCampaign(options: DeployCampaignOptions): Promise<RunReport[]> {
  const sandbox = await startSandbox({ services: ['aks'] });
  const reports: RunReport[] = [];
  try {
    const cluster = await sandbox.aks.createCluster({ resourceGroup: 'rg-campaign', name: 'aks-campaign' });
    const directory = fs.mkdtempSync(path.join(sandbox.base.directory, 'deploy-campaign-'));
    const kubeconfig = path.join(directory, 'kubeconfig');
    fs.writeFileSync(kubeconfig, cluster.kubernetes.kubeconfig(), { mode: 0o600 });
    for (const seed of options.seeds) {
      const report = await runSeed({ sandbox, cluster, directory, kubeconfig }, seed, options);
      reports.push(report);
      options.onRun?.(report);
    }
  } finally {
    await sandbox.close();
  }
  return reports;
}
