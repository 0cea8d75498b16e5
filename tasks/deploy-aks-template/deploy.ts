import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ClusterAccess, ClusterConnection, KubectlVersion } from '../common/cluster';
import { firstLine } from '../common/errors';
import { maskSecrets } from '../common/secrets';
import { loc } from './messages';
import type { RunInfo } from './annotations';
import {
  applyManifests,
  dryRun,
  readBeforeApply,
  type AppliedWorkload,
  type DryRunResult,
  type WorkloadBefore,
} from './apply';
import { printDiagnostics } from './diagnostics';
import type { DeployAksTemplateInputs } from './inputs';
import { FIELD_MANAGER, type Kubectl } from './kubectl';
import {
  describeObject,
  nameOf,
  type JsonObject,
  type KubernetesObject,
  type Manifest,
} from './kubernetesObject';
import {
  deployedImages,
  expectsEndpoint,
  formatDeployedImages,
  waitForEndpoints,
  type DeployedImage,
} from './outputs';
import { renderManifests, serializeManifests, type RenderedManifests } from './render';
import { secretObjectValues, writeRenderedFiles } from './renderedFile';
import { addressKey, addressOf } from './lookup';
import { planRollback } from './rollback';
import { waitForRollouts, workloadLabel, type RolloutResult, type RolloutTarget } from './rollout';
import { renderSummary, type DeployReport, type ObjectResult } from './summary';
import { findTemplateFiles, readTemplateFiles } from './templates';
import { workloadKind, workloadManifests } from './workloads';
import { BatchedPodReader, type WorkloadObject } from './workloadPods';

export type OutputName = 'renderedManifests' | 'deployedImages' | 'serviceEndpoints';

/** Everything the deploy needs from the agent and the cluster, so that tests can stand in for it. */
export interface DeployHost {
  /** Where relative template paths start (System.DefaultWorkingDirectory). */
  readonly workingDirectory: string;
  /** The agent's temp folder, for the rendered manifests and the summary. */
  readonly tempDirectory: string;
  readonly runInfo: RunInfo;
  /** connectAndRead: the cluster, and `read` made with the first kubectl known (see there). */
  connect<T>(
    connection: ClusterConnection,
    options: { kubectlVersion: KubectlVersion },
    read: (access: ClusterAccess) => Promise<T>,
  ): Promise<{ access: ClusterAccess; read: T }>;
  kubectl(access: ClusterAccess): Kubectl;
  log(line: string): void;
  warning(message: string): void;
  setOutput(name: OutputName, value: string): void;
  uploadFile(file: string): void;
  uploadSummary(file: string): void;
  /** Masks a value in all later output (task.setsecret). */
  registerSecret(value: string): void;
  /** The pipeline's secret variables: kept out of the files the run attaches, which the agent does not mask. */
  readonly secretVariables: readonly string[];
  readonly timing: DeployTiming;
}

export interface DeployTiming {
  /** How often the pods of a rolling-out workload are classified. */
  readonly podPollMs: number;
  /** How long LoadBalancer Services and Ingresses are given to get an external address. */
  readonly endpointWaitSeconds: number;
  readonly endpointPollMs: number;
  readonly now: () => number;
}

export interface DeployRequest extends DeployAksTemplateInputs {
  readonly forceConflicts: boolean;
}

/**
 * Render (nothing reaches the cluster before it succeeded), connect, check namespaces, then either a
 * dry run or apply → rollouts → diagnostics and rollback on failure → outputs. The kubeconfig is
 * removed at the end whatever happened.
 */
export async function execute(request: DeployRequest, host: DeployHost): Promise<void> {
  const files = readTemplateFiles(findTemplateFiles(request.templates, host.workingDirectory));
  const rendered = renderManifests({
    templates: files,
    variables: request.variables,
    images: request.images,
    namespace: request.namespace,
    run: request.annotate ? host.runInfo : undefined,
  });
  const secretObjects = secretObjectValues(rendered.manifests);
  for (const value of secretObjects) host.registerSecret(value);
  const secrets = [...host.secretVariables, ...secretObjects];
  const directory = fs.mkdtempSync(path.join(host.tempDirectory, 'deploy-aks-template-'));
  const written = writeRenderedFiles(directory, rendered.manifests, rendered.yaml, secrets);
  host.setOutput('renderedManifests', written.manifests);
  host.uploadFile(written.attachment);
  host.log(loc('Rendered', rendered.manifests.length, files.length, written.manifests));
  for (const { image, replacements } of rendered.images)
    host.log(loc('ImageOverrideApplied', image, replacements.length));

  // What must be known before the apply is read while the kubectl is being chosen.
  const { access, read: workloads } = await host.connect(
    request.cluster,
    { kubectlVersion: request.kubectlVersion },
    (early) =>
      readBeforeApply(
        host.kubectl(early),
        path.join(directory, 'lookup.json'),
        rendered.namespaces.mustExist,
        request.dryRun ? [] : workloadManifests(rendered.manifests),
      ),
  );
  try {
    const kubectl = host.kubectl(access);
    const deploy = new Deploy(request, host, kubectl, rendered, directory, access.serverUrl, secrets);
    await (request.dryRun ? deploy.dryRun(written.manifests) : deploy.apply(written.manifests, workloads));
  } finally {
    await access.dispose();
  }
}

class Deploy {
  constructor(
    private readonly request: DeployRequest,
    private readonly host: DeployHost,
    private readonly kubectl: Kubectl,
    private readonly rendered: RenderedManifests,
    private readonly directory: string,
    private readonly server: string,
    /** Kept out of the summary, which the agent attaches unmasked. */
    private readonly secrets: readonly string[],
  ) {}

  async dryRun(file: string): Promise<void> {
    const { clientChecked, ...result } = await this.dryRunSplitByNamespace(file);
    for (const line of result.lines) this.host.log(line);
    this.host.log(`##[group]${loc('DryRunDiff')}`);
    this.host.log(result.changed ? result.diff.replace(/\r?\n$/, '') : loc('DryRunNoDifferences'));
    this.host.log('##[endgroup]');
    this.host.log(loc('DryRunDone', this.rendered.manifests.length - clientChecked.length));
    this.host.setOutput('deployedImages', '');
    this.host.setOutput('serviceEndpoints', '');
    this.publish({
      ...this.emptyReport(),
      dryRun: true,
      differences: result.changed,
      objects: this.rendered.manifests.map((manifest) => ({
        object: describeObject(manifest.object),
        result: clientChecked.includes(manifest) ? 'checked by kubectl' : 'validated',
      })),
    });
  }

  /**
   * A server-side dry run cannot place an object in a namespace that does not exist, and a dry run
   * creates none: the objects of the template's namespaces that do not exist yet are checked by
   * kubectl alone (a client-side dry run), everything else by the API server.
   */
  private async dryRunSplitByNamespace(
    file: string,
  ): Promise<DryRunResult & { readonly clientChecked: readonly Manifest[] }> {
    const { defined } = this.rendered.namespaces;
    const existing =
      defined.length === 0 ? [] : (await this.kubectl.getNamed('Namespace', defined, 'default')).map(nameOf);
    const absent = defined.filter((namespace) => !existing.includes(namespace));
    const inAbsent = ({ object }: Manifest): boolean =>
      object.kind !== 'Namespace' && absent.includes(object.metadata.namespace ?? '');
    const later = this.rendered.manifests.filter(inAbsent);
    if (later.length === 0)
      return { ...(await dryRun(this.kubectl, file, this.request.forceConflicts)), clientChecked: [] };
    const now = this.rendered.manifests.filter((manifest) => !inAbsent(manifest));
    const files = {
      now: path.join(this.directory, 'dry-run.yaml'),
      later: path.join(this.directory, 'dry-run-new-namespaces.yaml'),
    };
    fs.writeFileSync(files.now, serializeManifests(now), { mode: 0o600 });
    fs.writeFileSync(files.later, serializeManifests(later), { mode: 0o600 });
    const server =
      now.length === 0
        ? { lines: [], changed: false, diff: '' }
        : await dryRun(this.kubectl, files.now, this.request.forceConflicts);
    const client = await this.kubectl.validateClientSide([files.later]);
    const lines = [...server.lines, loc('DryRunNewNamespaces', absent.join(', '), later.length), ...client];
    return { lines, changed: server.changed || later.length > 0, diff: server.diff, clientChecked: later };
  }

  async apply(file: string, workloads: readonly WorkloadBefore[]): Promise<void> {
    const { host, request, kubectl } = this;
    host.log(loc('Applying', this.rendered.manifests.length, FIELD_MANAGER));
    const applied = await applyManifests(kubectl, {
      file,
      workloads,
      forceConflicts: request.forceConflicts,
      lookupFile: path.join(this.directory, 'lookup.json'),
    });
    for (const line of applied.lines) host.log(line);
    for (const { workload, change } of applied.workloads)
      host.log(loc(CHANGE_MESSAGE[change], workloadLabel(workload)));
    const objects = this.objectResults(applied.workloads);

    let failure = applied.error;
    let rollout: RolloutResult = { durationsMs: new Map(), failures: [] };
    const targets: RolloutTarget[] = applied.workloads.map(({ workload, after }) => ({
      workload,
      applied: after,
    }));
    // What the outputs need is read while the rollouts run, each as soon as it can be: the endpoint
    // objects are as the apply returned them (an Ingress host or a standing load balancer's address
    // needs no wait), and the pods of a namespace's workloads are read the moment the last of its
    // rollouts finished, while other namespaces' may still run. Reported once every rollout finished.
    const endpointObjects = this.rendered.manifests.map(({ object }) => object).filter(expectsEndpoint);
    const imageReads = new Map<RolloutTarget, Promise<DeployedImage[]>>();
    const podReader = new BatchedPodReader<WorkloadObject>(kubectl, targets);
    const imagesOf = async ({ workload, applied }: RolloutTarget): Promise<DeployedImage[]> => {
      // Never fails: no pods means no digests.
      const pods = await podReader.read({ workload, applied }).catch(() => []);
      return deployedImages(workload, applied, pods);
    };
    if (failure === undefined && request.rolloutTimeoutSeconds > 0 && targets.length > 0) {
      host.log(
        loc(
          'WaitingForRollouts',
          request.rolloutTimeoutSeconds,
          targets.map((t) => workloadLabel(t.workload)).join(', '),
        ),
      );
      rollout = await this.waitForRollouts(targets, (target) => imageReads.set(target, imagesOf(target)));
      for (const [workload, ms] of rollout.durationsMs)
        host.log(loc('RolledOut', workload, (ms / 1000).toFixed(1)));
      if (rollout.failures.length > 0) {
        await printDiagnostics(kubectl, rollout.failures, (line) => host.log(line));
        failure = rollout.failures[0]?.error;
      }
    }

    if (failure !== undefined) {
      // Their answers are not needed, but no kubectl of this run outlives it.
      podReader.discardHeld();
      await Promise.all(imageReads.values());
      const rollback = request.rollbackOnFailure
        ? await this.rollBack(applied.workloads, applied.objects)
        : { rolledBack: [], leftCreated: [] };
      this.publish({
        ...this.emptyReport(),
        objects,
        rolloutMs: rollout.durationsMs,
        failure: failure.message,
        ...rollback,
      });
      throw failure;
    }

    const images = (
      await Promise.all(targets.map((target) => imageReads.get(target) ?? imagesOf(target)))
    ).flat();
    for (const { workload, container, image } of images)
      host.log(loc('ImageRunning', workloadLabel(workload), container, image));
    host.setOutput('deployedImages', formatDeployedImages(images));
    const endpoints = await this.serviceEndpoints(endpointObjects, applied.objects);
    host.setOutput('serviceEndpoints', endpoints.join('\n'));
    this.publish({ ...this.emptyReport(), objects, rolloutMs: rollout.durationsMs, images, endpoints });
  }

  private waitForRollouts(
    targets: readonly RolloutTarget[],
    onRolledOut?: (target: RolloutTarget) => void,
  ): Promise<RolloutResult> {
    return waitForRollouts(this.kubectl, targets, {
      timeoutSeconds: this.request.rolloutTimeoutSeconds,
      pollIntervalMs: this.host.timing.podPollMs,
      now: this.host.timing.now,
      ...(onRolledOut === undefined ? {} : { onRolledOut }),
    });
  }

  /**
   * Re-applies the previous pod template of every workload this run changed (see planRollback) and
   * waits for it. A rollback that fails is a warning: the deploy's own failure stays the task's result.
   */
  private async rollBack(
    workloads: readonly AppliedWorkload[],
    /** What the apply returned, by address: empty when it failed. */
    appliedObjects: ReadonlyMap<string, JsonObject>,
  ): Promise<{ rolledBack: string[]; leftCreated: string[] }> {
    const { host, kubectl } = this;
    const plan = planRollback(workloads);
    const leftCreated = plan.leftCreated.map(workloadLabel);
    for (const workload of leftCreated) host.log(loc('RollbackLeavesCreated', workload));
    // A ConfigMap the new pods read, a Service they answer behind: as this run applied them (an apply
    // that failed returned nothing, and may have applied some of them: it is not known which).
    const others = this.rendered.manifests
      .map(({ object }) => object)
      .filter((object) => workloadKind(object) === undefined && object.kind !== 'Namespace')
      .filter((object) => {
        const address = addressOf(object);
        return address !== undefined && appliedObjects.has(addressKey(address));
      })
      .map(describeObject);
    if (others.length > 0) host.log(loc('RollbackLeavesOthers', [...new Set(others)].join(', ')));
    if (plan.restore.length === 0) {
      host.log(loc('RollbackNothingChanged'));
      return { rolledBack: [], leftCreated };
    }
    const labels = plan.restore.map(({ workload }) => workloadLabel(workload));
    host.log(loc('RollingBack', labels.join(', ')));
    const file = path.join(this.directory, 'rollback.yaml');
    const manifests = plan.restore.map(({ manifest }, index) => ({
      source: { file, document: index + 1 },
      object: manifest,
    }));
    fs.writeFileSync(file, serializeManifests(manifests), { mode: 0o600 });
    try {
      for (const line of await kubectl.apply([file], {
        serverSide: true,
        fieldManager: FIELD_MANAGER,
        forceConflicts: this.request.forceConflicts,
        dryRun: undefined,
      }))
        host.log(line);
      const targets = plan.restore.map(({ workload }) => ({
        workload,
        applied: workloads.find((applied) => applied.workload === workload)?.after,
      }));
      const result = await this.waitForRollouts(targets);
      if (result.failures.length > 0) {
        const first = result.failures[0];
        host.warning(loc('RollbackFailed', labels.join(', '), firstLine(first?.error.message)));
        return { rolledBack: [], leftCreated };
      }
    } catch (error: unknown) {
      host.warning(
        loc(
          'RollbackFailed',
          labels.join(', '),
          firstLine(error instanceof Error ? error.message : String(error)),
        ),
      );
      return { rolledBack: [], leftCreated };
    }
    host.log(loc('RolledBack', labels.join(', ')));
    return { rolledBack: labels, leftCreated };
  }

  private get endpointsLookupFile(): string {
    return path.join(this.directory, 'endpoints.json');
  }

  private async serviceEndpoints(
    objects: readonly KubernetesObject[],
    applied: ReadonlyMap<string, JsonObject>,
  ): Promise<string[]> {
    if (objects.length === 0) return [];
    const { endpointWaitSeconds, endpointPollMs, now } = this.host.timing;
    this.host.log(loc('WaitingForEndpoints', endpointWaitSeconds, objects.map(describeObject).join(', ')));
    const result = await waitForEndpoints(this.kubectl, objects, {
      timeoutSeconds: endpointWaitSeconds,
      pollIntervalMs: endpointPollMs,
      now,
      lookupFile: this.endpointsLookupFile,
      applied,
    });
    for (const object of result.missing)
      this.host.warning(loc('EndpointMissing', object, endpointWaitSeconds));
    for (const url of result.urls) this.host.log(loc('EndpointFound', url));
    return [...result.urls];
  }

  private objectResults(workloads: readonly AppliedWorkload[]): DeployReport['objects'] {
    const changes = new Map<string, ObjectResult>(
      workloads.map(({ workload, change }) => [workloadLabel(workload), change]),
    );
    return this.rendered.manifests.map(({ object }) => {
      const label = describeObject(object);
      return { object: label, result: changes.get(label) ?? 'applied' };
    });
  }

  private emptyReport(): DeployReport {
    return {
      server: this.server,
      dryRun: false,
      objects: [],
      rolloutMs: new Map(),
      images: [],
      endpoints: [],
      rolledBack: [],
      leftCreated: [],
    };
  }

  private publish(report: DeployReport): void {
    const file = path.join(this.directory, 'summary.md');
    fs.writeFileSync(file, maskSecrets(renderSummary(report), this.secrets));
    this.host.uploadSummary(file);
  }
}

const CHANGE_MESSAGE = {
  created: 'WorkloadCreated',
  changed: 'WorkloadChanged',
  unchanged: 'WorkloadUnchanged',
} as const;
