// A fault campaign for the bundled PromoteImage task: per seed, a random image (1-3 layers, sometimes
// an index of two platforms, sometimes a referrer), random inputs (tags, overwrite, sometimes a
// target tag already at another image) and random registry faults (5xx, 429, resets before and in
// the middle of a body; sometimes one that never lifts). Each run must end with the promoted digest
// under every target tag, or fail in one clean line with no target tag moved. Faults alone may
// fail only a few runs (the bound of the Key Vault campaign). `npm run campaign -- promote --seeds 50`.
import type { TaskRun, TaskRunOptions } from '../../scripts/agent';
import { mulberry32, type FaultRule } from '../../sandbox';
import type { PushedImage } from '../../sandbox/acr/images';
import {
  NONPROD,
  PROD,
  PROMOTER,
  startPromoteHarness,
  type PromoteHarness,
} from '../integration/promoteHarness';
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

/** The faults are the registries' (transient ones). */
export interface PromoteCampaignOptions extends SeededCampaignOptions {
  /** A staged extension other than dist/extension (a variant bundle, e.g. with retries off). */
  readonly extensionDir?: string;
}

/** A fault that never lifts: the run must fail, and must not move a tag. */
export type LastingFault = 'blobUploads' | 'manifestWrites' | 'sourceBlobs';

export interface PromoteScenario {
  readonly repository: string;
  readonly sourceTag: string;
  readonly layerSizes: readonly number[];
  readonly platforms: readonly string[];
  readonly referrer: boolean;
  /** The `targetTags` input; empty: the source tag. */
  readonly targetTags: readonly string[];
  readonly overwrite: boolean;
  /** A target tag that already points at another image before the run. */
  readonly conflictingTag: string | undefined;
  readonly lastingFault: LastingFault | undefined;
}

/** What the task must do with a scenario when no transient fault gets in the way. */
export type PromoteExpectation = RunExpectation;

/** What the target held under each target tag before and after a run, and what a success left out. */
export interface TargetObservation {
  readonly promotedDigest: string;
  readonly before: Readonly<Record<string, string | undefined>>;
  readonly after: Readonly<Record<string, string | undefined>>;
  /** Manifests of the promoted graph (children, referrers) the target lacks after the run. */
  readonly missingManifests: readonly string[];
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

export function drawScenario(seed: number): PromoteScenario {
  const random = mulberry32(seed);
  const layerCount = 1 + Math.floor(random() * 3);
  const layerSizes = Array.from({ length: layerCount }, () => 512 + Math.floor(random() * 400_000));
  const platforms = random() < 0.35 ? ['linux/amd64', 'linux/arm64'] : ['linux/amd64'];
  const referrer = random() < 0.35;
  const sourceTag = `1.${seed}.0`;
  const pool = [sourceTag, 'prod', 'stable', `build-${seed}`];
  const targetTags = random() < 0.25 ? [] : pool.filter(() => random() < 0.5);
  const effective = targetTags.length > 0 ? targetTags : [sourceTag];
  const conflictingTag = random() < 0.3 ? pick(random, effective) : undefined;
  const overwrite = random() < 0.5;
  const lastingFault =
    random() < 0.12
      ? pick<LastingFault>(random, ['blobUploads', 'manifestWrites', 'sourceBlobs'])
      : undefined;
  return {
    repository: `campaign/s${seed}`,
    sourceTag,
    layerSizes,
    platforms,
    referrer,
    targetTags,
    overwrite,
    conflictingTag,
    lastingFault,
  };
}

export function describeScenario(scenario: PromoteScenario): string {
  const shape = `${scenario.platforms.length} platform(s) × ${scenario.layerSizes.length} layer(s)${scenario.referrer ? ' + referrer' : ''}`;
  const tags = scenario.targetTags.length === 0 ? '(source tag)' : scenario.targetTags.join(',');
  return `${shape}, tags=${tags}, overwrite=${scenario.overwrite}${scenario.conflictingTag === undefined ? '' : `, ${scenario.conflictingTag} taken`}${scenario.lastingFault === undefined ? '' : `, lasting fault on ${scenario.lastingFault}`}`;
}

/** The task's contract (issue 12): a taken tag without overwrite refuses first; a lasting fault fails. */
export function expectedOutcome(scenario: PromoteScenario): PromoteExpectation {
  if (scenario.conflictingTag !== undefined && !scenario.overwrite)
    return { kind: 'fail', message: /already has tags at other digests/ };
  if (scenario.lastingFault !== undefined)
    return { kind: 'fail', message: /retries did not help|Cannot reach registry|expected sha256:/ };
  return { kind: 'succeed' };
}

/** Everything wrong with one run, judged against the expectation and what the target now holds. */
export function judge(
  run: TaskRun,
  expectation: PromoteExpectation,
  target: TargetObservation,
  faults: number,
  secrets: readonly string[] = [PROMOTER.secret],
): Judgement {
  const findings = findingsOfAnyRun(run, secrets);
  if (run.result === 'Failed') {
    for (const [tag, before] of Object.entries(target.before)) {
      const after = target.after[tag];
      if (after !== before)
        findings.push(`failed, yet tag ${tag} moved from ${before ?? 'nothing'} to ${after ?? 'nothing'}`);
    }
    if (Object.keys(run.variables).length > 0)
      findings.push(`failed after setting ${Object.keys(run.variables).join(', ')}`);
    const failure = judgeFailure(run, expectation, faults);
    return { findings: [...findings, ...failure.findings], failedUnderFaults: failure.failedUnderFaults };
  }
  const failedUnderFaults = false;
  if (expectation.kind === 'fail') {
    findings.push(`succeeded, expected a failure matching ${expectation.message}`);
    return { findings, failedUnderFaults };
  }
  for (const [tag, after] of Object.entries(target.after))
    if (after !== target.promotedDigest)
      findings.push(`tag ${tag} is at ${after ?? 'nothing'}, not ${target.promotedDigest}`);
  for (const digest of target.missingManifests) findings.push(`the target lacks ${digest}`);
  if (run.variables['promotedDigest'] !== target.promotedDigest)
    findings.push(`promotedDigest is ${run.variables['promotedDigest'] ?? 'unset'}`);
  if (!(run.variables['promotedImage'] ?? '').endsWith(`@${target.promotedDigest}`))
    findings.push(`promotedImage is ${run.variables['promotedImage'] ?? 'unset'}`);
  return { findings, failedUnderFaults };
}

/** Where each lasting fault strikes; each matches a request the copy cannot do without. */
const LASTING_RULES: Readonly<Record<LastingFault, FaultRule['match']>> = {
  blobUploads: { method: 'PUT', pathPattern: /^\/v2\/campaign\/.+\/blobs\/uploads\// },
  manifestWrites: { method: 'PUT', pathPattern: /^\/v2\/campaign\/.+\/manifests\// },
  sourceBlobs: { method: 'GET', pathPattern: /^\/v2\/campaign\/.+\/blobs\/sha256:/ },
};

/** This run's faults: a share of the registry requests meets one of each transient kind. */
function planFaults(harness: PromoteHarness, seed: number, scenario: PromoteScenario, rate: number): void {
  const { faults } = harness;
  faults.clear(seed);
  const random = mulberry32(seed ^ 0x9e3779b9);
  if (scenario.lastingFault !== undefined) {
    const match = LASTING_RULES[scenario.lastingFault];
    faults.add(
      scenario.lastingFault === 'sourceBlobs' ? { match, resetMidBody: true } : { match, status5xx: 503 },
    );
  }
  const share = rate / 4;
  const anyRequest = { pathPattern: /^\/(v2|oauth2)\// };
  faults.add({ match: anyRequest, status5xx: pick(random, [500, 502, 503, 504]), probability: share });
  faults.add({ match: anyRequest, status429: { retryAfterSeconds: 1 }, probability: share / 2 });
  faults.add({ match: anyRequest, resetBeforeResponse: true, probability: share });
  faults.add({ match: { method: 'GET', pathPattern: /^\/v2\// }, resetMidBody: true, probability: share });
  faults.add({ match: anyRequest, latencyMs: 5, probability: 0.2 });
}

async function prepare(
  harness: PromoteHarness,
  scenario: PromoteScenario,
): Promise<{ image: PushedImage; graph: string[]; tags: string[] }> {
  const image = await harness.push(NONPROD, scenario.repository, {
    tag: scenario.sourceTag,
    layerSizes: scenario.layerSizes,
    platforms: scenario.platforms,
    referrers: scenario.referrer ? ['application/vnd.example.sbom'] : [],
  });
  if (scenario.conflictingTag !== undefined)
    await harness.push(PROD, scenario.repository, { tag: scenario.conflictingTag, layerSizes: [1024] });
  const tags = scenario.targetTags.length > 0 ? [...scenario.targetTags] : [scenario.sourceTag];
  const children = image.indexDigest === undefined ? [] : image.manifestDigests;
  return { image, graph: [...children, ...image.referrerDigests], tags };
}

async function runSeed(
  harness: PromoteHarness,
  seed: number,
  options: PromoteCampaignOptions,
): Promise<RunReport> {
  const scenario = drawScenario(seed);
  const { image, graph, tags } = await prepare(harness, scenario);
  const read = async (): Promise<Record<string, string | undefined>> => {
    const state: Record<string, string | undefined> = {};
    for (const tag of tags) state[tag] = await harness.digestAt(PROD, scenario.repository, tag);
    return state;
  };
  const before = await read();
  planFaults(harness, seed, scenario, options.faultRate);
  const extra: Partial<TaskRunOptions> = {
    timeoutMs: 180_000,
    ...(options.extensionDir === undefined ? {} : { extensionDir: options.extensionDir }),
  };
  const run = await harness.runUnchecked(
    {
      image: `${scenario.repository}:${scenario.sourceTag}`,
      targetTags: scenario.targetTags.join('\n'),
      overwrite: String(scenario.overwrite),
    },
    extra,
  );
  // A copy: clear() empties the plan's log in place.
  const injected = [...harness.faults.injected];
  harness.faults.clear(seed);
  const after = await read();
  const missingManifests: string[] = [];
  for (const digest of graph)
    if ((await harness.digestAt(PROD, scenario.repository, digest)) !== digest) missingManifests.push(digest);
  const faults = countFaults(injected).faults;
  const judged = judge(
    run,
    expectedOutcome(scenario),
    { promotedDigest: image.digest, before, after, missingManifests },
    faults,
  );
  return reportOf(seed, describeScenario(scenario), run, injected, judged);
}

/** Runs every seed against one sandbox; returns the reports of all runs. */
export async function runPromoteCampaign(options: PromoteCampaignOptions): Promise<RunReport[]> {
  const harness = await startPromoteHarness();
  const reports: RunReport[] = [];
  try {
    for (const seed of options.seeds) {
      const report = await runSeed(harness, seed, options);
      reports.push(report);
      options.onRun?.(report);
    }
  } finally {
    await harness.close();
  }
  return reports;
}
