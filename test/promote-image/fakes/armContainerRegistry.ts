// Stands in for @azure/arm-containerregistry in PromoteImage L0 runs. The registries each
// subscription lists and the import's failure come from FAKE_ARM (a FakeArm as JSON); a successful
// import copies the manifest into the fake registries (registryState.ts). Every call is printed.
import { registryState } from './registryState';

export const ARM_MARKER = '##l0-arm ';

export interface FakeArm {
  /** subscription id → the registries ARM lists there */
  readonly subscriptions: Record<string, { readonly id: string; readonly loginServer: string }[]>;
  readonly importError?: { readonly statusCode: number; readonly code: string; readonly message: string };
}

function arm(): FakeArm {
  return JSON.parse(process.env['FAKE_ARM'] ?? '{"subscriptions":{}}') as FakeArm;
}

function record(call: string, detail: unknown): void {
  console.log(`${ARM_MARKER}${JSON.stringify({ call, detail })}`);
}

export interface ImportParameters {
  source: { resourceId?: string; sourceImage: string };
  targetTags?: string[];
  untaggedTargetRepositories?: string[];
  mode?: string;
}

export class ContainerRegistryManagementClient {
  readonly registries;

  constructor(
    _credential: unknown,
    subscriptionId: string,
    options: { endpoint?: string; credentials?: unknown },
  ) {
    record('constructor', { subscriptionId, endpoint: options.endpoint, credentials: options.credentials });
    const listed = arm().subscriptions[subscriptionId] ?? [];
    this.registries = {
      list: async function* () {
        record('list', subscriptionId);
        await Promise.resolve();
        yield* listed;
      },
      importImage: async (
        resourceGroup: string,
        name: string,
        parameters: ImportParameters,
        options?: { abortSignal?: AbortSignal },
      ) => {
        record('importImage', { subscriptionId, resourceGroup, name, parameters });
        // Whether the wait for ARM's long-running operation is bounded: a signal not yet aborted.
        record('importDeadline', options?.abortSignal !== undefined && !options.abortSignal.aborted);
        await Promise.resolve();
        const failure = arm().importError;
        if (failure !== undefined) {
          throw Object.assign(new Error(failure.message), {
            name: 'RestError',
            statusCode: failure.statusCode,
            code: failure.code,
          });
        }
        applyImport(subscriptionId, name, parameters);
      },
    };
  }
}

/** What ACR does on import, as far as the task can see it afterwards: the manifest and the tags. */
function applyImport(subscriptionId: string, name: string, parameters: ImportParameters): void {
  const all = Object.values(arm().subscriptions).flat();
  const source = all.find((r) => r.id.toLowerCase() === parameters.source.resourceId?.toLowerCase());
  const target = (arm().subscriptions[subscriptionId] ?? []).find((r) =>
    r.id.toLowerCase().endsWith(`/${name}`),
  );
  const registries = registryState().registries;
  const from = source === undefined ? undefined : registries[source.loginServer];
  const to = target === undefined ? undefined : registries[target.loginServer];
  const [repository = '', digest = ''] = parameters.source.sourceImage.split('@');
  const manifest = from?.repositories[repository]?.manifests[digest];
  if (to === undefined || manifest === undefined) throw new Error('the fake import found no source image');
  const place = (targetRepository: string, tag?: string): void => {
    const repo = (to.repositories[targetRepository] ??= { manifests: {}, tags: {} });
    repo.manifests[digest] = manifest;
    if (tag !== undefined) repo.tags[tag] = digest;
  };
  for (const entry of parameters.targetTags ?? []) {
    const [targetRepository = '', tag] = entry.split(':');
    place(targetRepository, tag);
  }
  for (const targetRepository of parameters.untaggedTargetRepositories ?? []) place(targetRepository);
}
