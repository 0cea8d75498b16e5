// A fault campaign for the bundled FetchKeyVaultSecrets task: per seed, a random vault (values of
// every shape, disabled, expired and not yet valid secrets), random inputs and random faults on
// Key Vault and Entra ID. Each run must either set exactly the expected variables, or fail with one
// clear line and set nothing; no run may print a value. Faults alone may fail only a few runs (the
// bound), so a task that gives up too early cannot pass. `npm run campaign -- keyVault --seeds 200`.
import { runTaskAsAgent, type TaskRun } from '../../scripts/agent';
import type { EndpointDefinition } from '../../scripts/agentEnvironment';
import { planVariables } from '../../tasks/fetch-keyvault-secrets/variableNames';
import {
  mulberry32,
  startSandbox,
  type ActiveRefusal,
  type FaultKind,
  type FaultPlan,
  type KeyVaultServer,
  type ProxyRefusal,
  type Sandbox,
  type SandboxBase,
} from '../../sandbox';
import { findingsOfAnyRun, judgeFailure, type Judgement, type SeededCampaignOptions } from './judgeRun';

const CONNECTION = '0c4a1f0e-7d2b-4c4e-9f1a-3b5d7e9f1a2c';
const PRINCIPAL = { clientId: 'c0ffee00-0000-4000-8000-00000000ca11', secret: 'campaign-Secret~42' };

export interface CampaignOptions extends SeededCampaignOptions {
  /** Largest vault drawn; the size is uniform in 0..maxSecrets. */
  readonly maxSecrets: number;
  /** A staged extension other than dist/extension (a variant bundle, e.g. with retries off). */
  readonly extensionDir?: string;
}

/**
 * The share of runs that may fail only because faults outlasted the task's retries (the scenario
 * did not call for a failure). At fault rate 0.1 a task that retries well stays far below it.
 */
export const FAULT_FAILURE_BOUND = 0.05;
/** The per-try timeout the task is given through this variable, so a hung request costs seconds. */
const HTTP_TIMEOUT_SECONDS = '3';

export interface RunReport {
  readonly seed: number;
  readonly scenario: string;
  readonly result: string;
  readonly durationMs: number;
  /** Faults that fail a request (latency and slow bodies only delay it). */
  readonly faults: number;
  /** Every injected fault by kind, proxy refusals included. */
  readonly faultKinds: Readonly<Partial<Record<FaultKind | 'proxyRefusal', number>>>;
  /** The failure message, when the run failed. */
  readonly failure?: string;
  /** A failure the scenario did not call for, accepted because faults outlasted the retries. */
  readonly failedUnderFaults: boolean;
  /** What was wrong with the run; empty when it behaved. */
  readonly findings: readonly string[];
}

interface VaultSecret {
  readonly name: string;
  readonly value: string;
  readonly state: 'usable' | 'disabled' | 'expired' | 'notYetValid';
}

interface Scenario {
  readonly secrets: readonly VaultSecret[];
  /** The `secrets` input. */
  readonly selection: string;
  readonly envSafeNames: boolean;
  readonly failOnMissing: boolean;
  readonly allowMultiline: boolean;
  readonly concurrency: number;
}

/** What the task must do with a scenario when no fault gets in the way. */
type Expectation =
  | { readonly kind: 'succeed'; readonly variables: ReadonlyMap<string, string>; readonly warnings: number }
  | { readonly kind: 'fail'; readonly message: RegExp };

/** Values of every shape the agent's escaping and our masking must survive. */
const VALUE_SHAPES: readonly ((random: () => number, i: number) => string)[] = [
  (random) => `plain-${token(random)}`,
  () => '',
  (random) => JSON.stringify({ user: `u-${token(random)}`, password: `p-${token(random)}`, port: 5432 }),
  (random) => `semi;colon]bracket%25percent%AZP25${token(random)}`,
  (random) => `-----BEGIN KEY-----\n${token(random)}\r\n${token(random)}\n-----END KEY-----`,
  (random) => `  spaced ${token(random)}  `,
  (random, i) => `ünïcödé-✓-${i}-${token(random)}`,
];

function token(random: () => number): string {
  return Math.floor(random() * 2 ** 48).toString(36);
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

export function drawScenario(seed: number, maxSecrets: number): Scenario {
  const random = mulberry32(seed);
  const count = Math.floor(random() * (maxSecrets + 1));
  const secrets: VaultSecret[] = [];
  for (let i = 0; i < count; i++) {
    const roll = random();
    const state = roll < 0.85 ? 'usable' : roll < 0.9 ? 'disabled' : roll < 0.95 ? 'expired' : 'notYetValid';
    const shape = random() < 0.6 ? VALUE_SHAPES[0]! : pick(random, VALUE_SHAPES);
    secrets.push({ name: `s${i}-${token(random).slice(0, 5)}`, value: shape(random, i), state });
  }
  let selection = '*';
  if (random() < 0.35) {
    const chosen = secrets.filter(() => random() < 0.4);
    const entries = chosen.map((secret, i) => (random() < 0.3 ? `${secret.name}:Renamed_${i}` : secret.name));
    if (random() < 0.25) entries.push(`absent-${seed}`);
    // A rename onto another secret's alias: a collision the task must refuse before setting anything.
    if (random() < 0.1 && chosen.length >= 2)
      entries.push(`${chosen[1]!.name}:${chosen[0]!.name.toUpperCase()}`);
    if (entries.length > 0) selection = entries.join(random() < 0.5 ? ',' : '\n');
  }
  return {
    secrets,
    selection,
    envSafeNames: random() < 0.7,
    failOnMissing: random() < 0.6,
    allowMultiline: random() < 0.85,
    concurrency: 1 + Math.floor(random() * 64),
  };
}

function describeScenario(scenario: Scenario): string {
  const states = scenario.secrets.reduce<Record<string, number>>((counts, secret) => {
    counts[secret.state] = (counts[secret.state] ?? 0) + 1;
    return counts;
  }, {});
  const selection = scenario.selection === '*' ? '*' : `${scenario.selection.split(/[,\n]/).length} named`;
  return `${scenario.secrets.length} secrets ${JSON.stringify(states)}, secrets=${selection}, envSafeNames=${scenario.envSafeNames}, failOnMissing=${scenario.failOnMissing}, multiline=${scenario.allowMultiline}, concurrency=${scenario.concurrency}`;
}

/**
 * The outcome the task's contract (DESIGN.md, issue 4) asks for. Alias and collision rules come from
 * the task's own planVariables: L0 tests pin those down; this campaign is about faults.
 */
export function expectedOutcome(scenario: Scenario): Expectation {
  const byName = new Map(scenario.secrets.map((secret) => [secret.name.toLowerCase(), secret]));
  let requests: { secretName: string; variableName: string }[];
  let warnings: number;
  if (scenario.selection === '*') {
    const usable = scenario.secrets.filter((secret) => secret.state === 'usable');
    warnings = scenario.secrets.length - usable.length;
    requests = usable.map((secret) => ({ secretName: secret.name, variableName: secret.name }));
  } else {
    requests = scenario.selection.split(/[,\n]/).map((entry) => {
      const [secretName = '', variableName = secretName] = entry.split(':');
      return { secretName, variableName };
    });
    try {
      planVariables(requests, scenario.envSafeNames);
    } catch (error: unknown) {
      return { kind: 'fail', message: collisionPattern(error) };
    }
    const unavailable = [...new Set(requests.map((r) => r.secretName))].filter(
      (name) => byName.get(name.toLowerCase())?.state !== 'usable',
    );
    if (unavailable.length > 0 && scenario.failOnMissing)
      return { kind: 'fail', message: new RegExp(escape(unavailable[0]!)) };
    warnings = unavailable.length;
    requests = requests.filter((r) => !unavailable.includes(r.secretName));
  }
  const valueOf = (name: string): string => byName.get(name.toLowerCase())!.value;
  if (!scenario.allowMultiline && requests.some((r) => /[\r\n]/.test(valueOf(r.secretName))))
    return { kind: 'fail', message: /System\.UnsafeAllowMultilineSecret/ };
  let plan;
  try {
    plan = planVariables(requests, scenario.envSafeNames);
  } catch (error: unknown) {
    return { kind: 'fail', message: collisionPattern(error) };
  }
  const variables = new Map<string, string>();
  for (const { secretName, variableNames } of plan)
    for (const variableName of variableNames) variables.set(variableName, valueOf(secretName));
  warnings += plan.filter(({ secretName }) => valueOf(secretName) === '').length;
  return { kind: 'succeed', variables, warnings };
}

function collisionPattern(error: unknown): RegExp {
  // Outside the task, task-lib's loc prints the key; inside, the message. Either names the variable.
  const text = error instanceof Error ? error.message : String(error);
  const variable = /['"]?([A-Za-z0-9_-]+)['"]?\s*$/.exec(text)?.[1];
  if (variable === undefined) throw new Error(`no variable name in "${text}"`);
  return new RegExp(escape(variable), 'i');
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A proxy that refuses every tunnel to one host in this run: the run must fail naming the proxy. */
interface LastingRefusal {
  readonly host: string;
  readonly refusal: ProxyRefusal;
}

const LASTING_REFUSALS: readonly ProxyRefusal[] = [
  { kind: 'status', status: 502, truncated: true },
  { kind: 'status', status: 403 },
  { kind: 'authenticationRequired', realm: 'campaign-proxy' },
  { kind: 'captivePortal' },
];

/**
 * Adds this run's faults: a share of Key Vault and Entra ID requests meets one of each kind; some
 * runs get a short throttling window, a proxy that fails one tunnel, or one that refuses them all.
 * Returns the lasting refusal, if this run has one, and the proxy rules to lift after the run.
 */
function planFaults(
  sandbox: CampaignSandbox,
  seed: number,
  rate: number,
): { lasting: LastingRefusal | undefined; proxyRules: ActiveRefusal[] } {
  const { vaultFaults, entraFaults, base } = sandbox;
  vaultFaults.clear(seed);
  entraFaults.clear(seed + 1);
  const random = mulberry32(seed ^ 0x5eed);
  const proxyRules: ActiveRefusal[] = [];
  const anyVaultRequest = { pathPattern: /^\/secrets/ };
  // Added first so that, while it lasts, it wins over every other rule.
  if (random() < rate * 2) {
    const opensAfter = Math.floor(random() * 20);
    let seen = 0;
    vaultFaults.add({
      match: (request) => request.headers.authorization !== undefined && ++seen > opensAfter,
      status429: { retryAfterSeconds: 1 },
      windowMs: 2_000 + Math.floor(random() * 1_000),
    });
  }
  if (random() < rate / 4) {
    proxyRules.push(
      base.proxy.refuse(
        '*.vault.azure.net',
        { kind: 'status', status: pick(random, [502, 503]), truncated: random() < 0.5 },
        { times: 1 },
      ),
    );
  }
  let lasting: LastingRefusal | undefined;
  if (random() < rate / 5) {
    lasting = {
      host: random() < 0.5 ? '*.vault.azure.net' : 'login.microsoftonline.com',
      refusal: pick(random, LASTING_REFUSALS),
    };
    proxyRules.push(base.proxy.refuse(lasting.host, lasting.refusal));
  }
  const share = rate / 7;
  const authorizedVaultRequest = { pathPattern: /^\/secrets/, authorized: true };
  vaultFaults.add({ match: anyVaultRequest, status429: { retryAfterSeconds: 1 }, probability: share });
  vaultFaults.add({
    match: anyVaultRequest,
    status5xx: pick(mulberry32(seed), [500, 502, 503, 504]),
    probability: share,
  });
  vaultFaults.add({ match: anyVaultRequest, resetBeforeResponse: true, probability: share });
  vaultFaults.add({ match: anyVaultRequest, resetMidBody: true, probability: share });
  vaultFaults.add({ match: anyVaultRequest, slowBodyBytesPerSecond: 20_000, probability: share });
  vaultFaults.add({ match: authorizedVaultRequest, truncatedJson: true, probability: share });
  vaultFaults.add({ match: anyVaultRequest, neverAnswer: true, probability: share });
  vaultFaults.add({ match: anyVaultRequest, latencyMs: 5, probability: 0.3 });
  entraFaults.add({ match: { pathPattern: /\/oauth2\/v2\.0\/token$/ }, status5xx: 503, probability: rate });
  return { lasting, proxyRules };
}

/** What a run with a lasting refusal must do: fail naming the proxy, unless its inputs fail it first. */
function refusedOutcome(expectation: Expectation, proxyAddress: string): Expectation {
  const proxy = escape(proxyAddress);
  return {
    kind: 'fail',
    message: new RegExp(expectation.kind === 'fail' ? `${proxy}|${expectation.message.source}` : proxy),
  };
}

/** Everything that is wrong with one run, judged against the expectation. */
export function judge(run: TaskRun, expectation: Expectation, scenario: Scenario, faults: number): Judgement {
  const values = [...scenario.secrets.map((secret) => secret.value), PRINCIPAL.secret];
  const findings = findingsOfAnyRun(run, values);
  if (Object.keys(run.variables).length > 0)
    findings.push(`non-secret variables set: ${Object.keys(run.variables).join(', ')}`);

  if (run.result === 'Failed') {
    if (Object.keys(run.secretVariables).length > 0)
      findings.push(`failed after setting ${Object.keys(run.secretVariables).length} variables`);
    const failure = judgeFailure(run, expectation, faults);
    return { findings: [...findings, ...failure.findings], failedUnderFaults: failure.failedUnderFaults };
  }
  const failedUnderFaults = false;
  if (expectation.kind === 'fail') {
    findings.push(`succeeded, expected a failure matching ${expectation.message}`);
    return { findings, failedUnderFaults };
  }
  const actual = run.secretVariables;
  for (const [name, value] of expectation.variables) {
    if (!(name in actual)) findings.push(`variable ${name} not set`);
    else if (actual[name] !== value) findings.push(`variable ${name} has the wrong value`);
  }
  for (const name of Object.keys(actual))
    if (!expectation.variables.has(name)) findings.push(`unexpected variable ${name}`);
  if (run.warnings.length !== expectation.warnings)
    findings.push(`${run.warnings.length} warnings, expected ${expectation.warnings}`);
  return { findings, failedUnderFaults };
}

interface CampaignSandbox {
  readonly sandbox: Sandbox;
  readonly base: SandboxBase;
  readonly keyVault: KeyVaultServer;
  readonly vaultFaults: FaultPlan;
  readonly entraFaults: FaultPlan;
}

async function startCampaignSandbox(): Promise<CampaignSandbox> {
  const sandbox = await startSandbox({ services: ['entra', 'keyvault'] });
  sandbox.entra.registerServicePrincipal(PRINCIPAL);
  return {
    sandbox,
    base: sandbox.base,
    keyVault: sandbox.keyVault,
    vaultFaults: sandbox.faults.keyvault,
    entraFaults: sandbox.faults.entra,
  };
}

async function runSeed(sandbox: CampaignSandbox, seed: number, options: CampaignOptions): Promise<RunReport> {
  const { base, keyVault, vaultFaults, entraFaults } = sandbox;
  const refusalsBefore = base.proxy.refusedByRule.length;
  const scenario = drawScenario(seed, options.maxSecrets);
  const vault = `campaign-${seed}`;
  keyVault.createVault(vault, { model: 'rbac', allowedPrincipals: [PRINCIPAL.clientId] });
  const now = Date.now();
  for (const secret of scenario.secrets) {
    keyVault.setSecret(vault, secret.name, secret.value, {
      enabled: secret.state !== 'disabled',
      ...(secret.state === 'expired' ? { exp: new Date(now - 3_600_000) } : {}),
      ...(secret.state === 'notYetValid' ? { nbf: new Date(now + 3_600_000) } : {}),
    });
  }
  const { lasting, proxyRules } = planFaults(sandbox, seed, options.faultRate);
  const endpoint: EndpointDefinition = {
    url: 'https://management.azure.com/',
    scheme: 'ServicePrincipal',
    auth: {
      tenantid: base.tenantId,
      serviceprincipalid: PRINCIPAL.clientId,
      serviceprincipalkey: PRINCIPAL.secret,
      authenticationType: 'spnKey',
    },
    data: { environment: 'AzureCloud', subscriptionId: base.subscriptionId },
  };
  const run = await runTaskAsAgent({
    task: 'fetch-keyvault-secrets',
    inputs: {
      azureSubscription: CONNECTION,
      keyVaultName: vault,
      secrets: scenario.selection,
      envSafeNames: String(scenario.envSafeNames),
      failOnMissing: String(scenario.failOnMissing),
      concurrency: String(scenario.concurrency),
    },
    endpoints: { [CONNECTION]: endpoint },
    variables: scenario.allowMultiline ? { 'System.UnsafeAllowMultilineSecret': 'true' } : {},
    env: { ...base.clientEnvironment, AKS_DELIVERY_HTTP_TIMEOUT_SECONDS: HTTP_TIMEOUT_SECONDS },
    timeoutMs: 180_000,
    ...(options.extensionDir === undefined ? {} : { extensionDir: options.extensionDir }),
  });
  for (const rule of proxyRules) rule.remove();
  const proxyRefusals = base.proxy.refusedByRule.length - refusalsBefore;
  // Added latency and slow bodies delay requests but fail none.
  const failing = (kinds: readonly string[]): boolean =>
    kinds.some((kind) => kind !== 'latency' && kind !== 'slowBody');
  const injected = [...vaultFaults.injected, ...entraFaults.injected];
  const faults = injected.filter((fault) => failing(fault.kinds)).length + proxyRefusals;
  const faultKinds: Partial<Record<FaultKind | 'proxyRefusal', number>> = {};
  for (const kind of injected.flatMap((fault) => fault.kinds)) faultKinds[kind] = (faultKinds[kind] ?? 0) + 1;
  if (proxyRefusals > 0) faultKinds.proxyRefusal = proxyRefusals;
  const expectation =
    lasting === undefined
      ? expectedOutcome(scenario)
      : refusedOutcome(expectedOutcome(scenario), `127.0.0.1:${base.proxy.port}`);
  const judged = judge(run, expectation, scenario, faults);
  const findings = [...judged.findings];
  let failedUnderFaults = judged.failedUnderFaults;
  if (lasting !== undefined && failedUnderFaults) {
    // Every tunnel was refused: the only acceptable failure is one that says so.
    findings.push(`the proxy refused every tunnel to ${lasting.host} and the failure did not name it`);
    failedUnderFaults = false;
  }
  return {
    seed,
    scenario: describeScenario(scenario),
    result: run.result ?? 'none',
    durationMs: run.durationMs,
    faults,
    faultKinds,
    ...(run.result === 'Failed' ? { failure: run.resultMessage ?? '' } : {}),
    failedUnderFaults,
    findings,
  };
}

export interface CampaignSummary {
  readonly runs: number;
  readonly succeeded: number;
  /** Failures the scenario called for (inputs, missing secrets, a proxy refusing every tunnel). */
  readonly failedAsRequired: number;
  /** Failures caused by faults alone, held to the bound. */
  readonly failedUnderFaults: number;
  /** How many such failures the bound allows for this many runs. */
  readonly allowedUnderFaults: number;
  readonly runsWithFindings: number;
  /** Injected faults by kind over all runs. */
  readonly faultKinds: Readonly<Record<string, number>>;
  /** Findings about the campaign as a whole: more failures under faults than the bound allows. */
  readonly findings: readonly string[];
}

/**
 * Counts the runs by outcome and holds failures under faults to `bound` (a share of the runs,
 * rounded up, so a short campaign may lose one run to a fault that outlasted its retries).
 */
export function summarizeCampaign(
  reports: readonly RunReport[],
  bound = FAULT_FAILURE_BOUND,
): CampaignSummary {
  const failedUnderFaults = reports.filter((report) => report.failedUnderFaults).length;
  const faultKinds: Record<string, number> = {};
  for (const report of reports)
    for (const [kind, count] of Object.entries(report.faultKinds))
      faultKinds[kind] = (faultKinds[kind] ?? 0) + (count ?? 0);
  const allowed = Math.ceil(bound * reports.length);
  const findings =
    failedUnderFaults > allowed
      ? [
          `${failedUnderFaults} of ${reports.length} runs failed for faults alone; the bound is ${bound * 100}% (at most ${allowed}): the retries give up too early`,
        ]
      : [];
  return {
    runs: reports.length,
    succeeded: reports.filter((report) => report.result !== 'Failed').length,
    failedAsRequired: reports.filter((report) => report.result === 'Failed' && !report.failedUnderFaults)
      .length,
    failedUnderFaults,
    allowedUnderFaults: allowed,
    runsWithFindings: reports.filter((report) => report.findings.length > 0).length,
    faultKinds,
    findings,
  };
}

/** Runs every seed against one sandbox; returns the reports of all runs. */
export async function runKeyVaultCampaign(options: CampaignOptions): Promise<RunReport[]> {
  const sandbox = await startCampaignSandbox();
  const reports: RunReport[] = [];
  try {
    for (const seed of options.seeds) {
      const report = await runSeed(sandbox, seed, options);
      reports.push(report);
      options.onRun?.(report);
    }
  } finally {
    await sandbox.sandbox.close();
  }
  return reports;
}
