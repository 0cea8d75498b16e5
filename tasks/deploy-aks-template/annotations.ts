import type { Manifest } from './kubernetesObject';

/** The pipeline run doing the deploy, from the agent's predefined variables. */
export interface RunInfo {
  /** System.CollectionUri, e.g. `https://dev.azure.com/contoso/`. */
  readonly organizationUrl?: string;
  /** System.TeamProject. */
  readonly project?: string;
  /** Build.DefinitionName. */
  readonly pipelineName: string;
  /** System.DefinitionId. */
  readonly pipelineId?: string;
  /** Build.BuildId. */
  readonly runId: string;
  /** The run's results page (see runUrl). */
  readonly runUrl: string;
  /** Build.SourceVersion. */
  readonly commit?: string;
  /** System.JobDisplayName. */
  readonly jobName?: string;
}

/**
 * Annotation keys: the names KubernetesManifest@1 documents for its traceability annotations, so
 * that what users already query (`kubectl get deploy -o jsonpath=...`) keeps working after they
 * switch; `commit` is ours.
 */
export const RUN_ANNOTATION_KEYS = {
  organizationUrl: 'azure-pipelines/org',
  project: 'azure-pipelines/project',
  pipelineName: 'azure-pipelines/pipeline',
  pipelineId: 'azure-pipelines/pipelineId',
  runId: 'azure-pipelines/execution',
  runUrl: 'azure-pipelines/executionuri',
  commit: 'azure-pipelines/commit',
  jobName: 'azure-pipelines/jobName',
} as const satisfies Record<keyof RunInfo, string>;

/** The run's results page, as the agent's own links give it. */
export function runUrl(organizationUrl: string, project: string, runId: string): string {
  const base = organizationUrl.endsWith('/') ? organizationUrl : `${organizationUrl}/`;
  return `${base}${encodeURIComponent(project)}/_build/results?buildId=${encodeURIComponent(runId)}`;
}

export function runAnnotations(run: RunInfo): Record<string, string> {
  const annotations: Record<string, string> = {};
  for (const field of Object.keys(RUN_ANNOTATION_KEYS) as (keyof RunInfo)[]) {
    const value = run[field];
    if (value !== undefined && value !== '') annotations[RUN_ANNOTATION_KEYS[field]] = value;
  }
  return annotations;
}

/**
 * Copies of the manifests with the run's annotations on each object's own metadata. Never on pod
 * templates: a pod-template annotation that changes every run would restart every workload on every
 * deploy, and a Job's pod template is immutable, so its re-deploy would fail.
 */
export function annotateManifests(manifests: readonly Manifest[], run: RunInfo): Manifest[] {
  const annotations = runAnnotations(run);
  return manifests.map(({ source, object }) => ({
    source,
    object: {
      ...object,
      metadata: { ...object.metadata, annotations: { ...object.metadata.annotations, ...annotations } },
    },
  }));
}
