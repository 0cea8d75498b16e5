import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDocument } from 'yaml';
import { REPO_ROOT, TASKS_DIR, readJson, taskFolders } from '../../scripts/layout';

const PIPELINES_DIR = path.join(REPO_ROOT, 'samples', 'pipelines');

interface TaskInput {
  name: string;
  type: string;
  required?: boolean;
  defaultValue?: string;
  visibleRule?: string;
  aliases?: string[];
  options?: Record<string, string>;
  properties?: Record<string, string>;
}

interface DeclaredTask {
  name: string;
  version: { Major: number };
  inputs: TaskInput[];
}

/** A step of a pipeline whose `task:` names one of our tasks, and where it sits in the file. */
interface TaskStep {
  readonly location: string;
  /** As written, e.g. `DeployAksTemplate@1`. */
  readonly task: string;
  readonly inputs: unknown;
}

/** Our tasks by name, from tasks/<folder>/task.json. */
function declaredTasks(): Map<string, DeclaredTask> {
  const tasks = new Map<string, DeclaredTask>();
  for (const folder of taskFolders()) {
    const manifest = readJson<DeclaredTask>(path.join(TASKS_DIR, folder, 'task.json'));
    tasks.set(manifest.name, manifest);
  }
  return tasks;
}

/** Parses pipeline YAML; a syntax error fails with the parser's message. */
function parsePipeline(text: string, file: string): unknown {
  const document = parseDocument(text);
  const error = document.errors[0];
  if (error !== undefined) throw new Error(`${file}: ${error.message}`);
  return document.toJS();
}

/**
 * Every mapping with a `task:` naming one of `ourTasks`, wherever it sits: in `steps`, in a deployment
 * strategy's hooks, or under a `${{ if }}` insertion. Other tasks (Docker@2, …) are not ours to check.
 */
function findTaskSteps(node: unknown, ourTasks: ReadonlySet<string>, location = ''): TaskStep[] {
  if (Array.isArray(node)) {
    return node.flatMap((item, index) => findTaskSteps(item, ourTasks, `${location}[${index}]`));
  }
  if (node === null || typeof node !== 'object') return [];
  const mapping = node as Record<string, unknown>;
  const steps: TaskStep[] = [];
  const task = mapping['task'];
  if (typeof task === 'string' && ourTasks.has(task.split('@')[0] ?? '')) {
    steps.push({ location, task, inputs: mapping['inputs'] });
  }
  for (const [key, value] of Object.entries(mapping)) {
    steps.push(...findTaskSteps(value, ourTasks, location === '' ? key : `${location}.${key}`));
  }
  return steps;
}

/** A value the agent computes at run time (a macro or a template expression); its content is unknown here. */
function isExpression(value: string): boolean {
  return value.includes('$(') || value.includes('${{') || value.includes('$[');
}

/**
 * The input's visibility under a `visibleRule`. Only one `name = value` rule is understood (all our
 * task.json files use no other kind); any other rule counts as visible, so its required input is
 * still demanded. A rule's input that the step does not set takes its default value.
 */
function isVisible(input: TaskInput, given: ReadonlyMap<string, string>, declared: DeclaredTask): boolean {
  const match = /^\s*([A-Za-z0-9_]+)\s*=\s*(\S+)\s*$/.exec(input.visibleRule ?? '');
  if (match === null) return true;
  const [, ruleInput = '', expected = ''] = match;
  const value = given.get(ruleInput) ?? declared.inputs.find((i) => i.name === ruleInput)?.defaultValue;
  if (value === undefined || isExpression(value)) return true;
  return value.toLowerCase() === expected.toLowerCase();
}

/** An input's value as the agent passes it: YAML scalars as text, anything else as JSON. */
function inputText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  return JSON.stringify(value);
}

/**
 * What is wrong with one step against its task.json: an unknown task version, inputs the task does
 * not declare, required inputs without a default left out (as far as `isVisible` can tell), and pickList values
 * outside the options (unless the list is editable or the value is an expression).
 */
function checkTaskStep(step: TaskStep, tasks: ReadonlyMap<string, DeclaredTask>): string[] {
  const where = `${step.location} ${step.task}`;
  const [name = '', major] = step.task.split('@');
  const declared = tasks.get(name);
  if (declared === undefined) return [`${where}: no such task`];
  if (major === undefined) return [`${where}: names no major version (@${declared.version.Major})`];
  if (major !== String(declared.version.Major)) {
    return [`${where}: no major version ${major} (task.json declares ${declared.version.Major})`];
  }
  if (step.inputs !== undefined && (step.inputs === null || typeof step.inputs !== 'object')) {
    return [`${where}: inputs is not a mapping`];
  }
  const given = new Map<string, string>();
  for (const [key, value] of Object.entries((step.inputs ?? {}) as Record<string, unknown>)) {
    const input = declared.inputs.find((i) => i.name === key || (i.aliases ?? []).includes(key));
    given.set(input?.name ?? key, inputText(value));
  }
  const problems: string[] = [];
  for (const key of given.keys()) {
    if (!declared.inputs.some((input) => input.name === key)) {
      problems.push(`${where}: input '${key}' is not declared`);
    }
  }
  for (const input of declared.inputs) {
    const value = given.get(input.name);
    // A required input with a default may be left out: the agent uses the default.
    const effective = value ?? input.defaultValue ?? '';
    if (input.required === true && effective.trim() === '' && isVisible(input, given, declared)) {
      problems.push(`${where}: required input '${input.name}' is missing`);
    }
    const options = Object.keys(input.options ?? {});
    const editable = input.properties?.['EditableOptions']?.toLowerCase() === 'true';
    if (
      input.type === 'pickList' &&
      value !== undefined &&
      options.length > 0 &&
      !editable &&
      !isExpression(value) &&
      !options.includes(value)
    ) {
      problems.push(`${where}: input '${input.name}' is '${value}', not one of ${options.join(', ')}`);
    }
  }
  return problems;
}

function samplePipelineFiles(): string[] {
  return fs
    .readdirSync(PIPELINES_DIR, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.ya?ml$/.test(file))
    .sort();
}

describe('sample pipelines', () => {
  const tasks = declaredTasks();
  const ourTasks = new Set(tasks.keys());
  const files = samplePipelineFiles();

  it('are the PR, CI and CD pipelines', () => {
    assert.deepEqual(files, ['cd.yml', 'ci.yml', 'pr.yml']);
  });

  for (const file of files) {
    it(`${file} uses our tasks only as their task.json files declare them`, () => {
      const pipeline = parsePipeline(fs.readFileSync(path.join(PIPELINES_DIR, file), 'utf8'), file);
      const problems = findTaskSteps(pipeline, ourTasks).flatMap((step) => checkTaskStep(step, tasks));
      assert.deepEqual(problems, []);
    });
  }

  it('together use each of our tasks at least once', () => {
    const used = new Set(
      files.flatMap((file) =>
        findTaskSteps(
          parsePipeline(fs.readFileSync(path.join(PIPELINES_DIR, file), 'utf8'), file),
          ourTasks,
        ).map((step) => step.task.split('@')[0]),
      ),
    );
    assert.deepEqual([...used].sort(), [...ourTasks].sort());
  });
});

describe('checking a pipeline against our task.json files', () => {
  const tasks = declaredTasks();
  const ourTasks = new Set(tasks.keys());

  function problemsOf(yaml: string): string[] {
    return findTaskSteps(parsePipeline(yaml, 'broken.yml'), ourTasks).flatMap((step) =>
      checkTaskStep(step, tasks),
    );
  }

  it('reports each wrong task reference, and ignores tasks that are not ours', () => {
    const problems = problemsOf(`
stages:
  - stage: s
    jobs:
      - job: j
        steps:
          - task: Docker@2
            inputs: { command: build, anything: goes }
          - task: PromoteImage@2
            inputs: { image: web:1 }
          - task: FetchKeyVaultSecrets
            inputs: { azureSubscription: sc, keyVaultName: kv }
          - task: DeployAksTemplate@1
            inputs:
              azureSubscription: sc
              resourceGroup: rg
              template: k8s/app.yaml
          - \${{ if true }}:
              - task: RunAcceptanceTests@1
                inputs:
                  baseUrl: https://staging.contoso.com
                  connectionType: kubeconfg
                  method: GET
`);
    assert.deepEqual(problems, [
      'stages[0].jobs[0].steps[1] PromoteImage@2: no major version 2 (task.json declares 1)',
      'stages[0].jobs[0].steps[2] FetchKeyVaultSecrets: names no major version (@1)',
      "stages[0].jobs[0].steps[3] DeployAksTemplate@1: input 'template' is not declared",
      "stages[0].jobs[0].steps[3] DeployAksTemplate@1: required input 'cluster' is missing",
      "stages[0].jobs[0].steps[3] DeployAksTemplate@1: required input 'templates' is missing",
      "stages[0].jobs[0].steps[4].${{ if true }}[0] RunAcceptanceTests@1: input 'method' is not declared",
      "stages[0].jobs[0].steps[4].${{ if true }}[0] RunAcceptanceTests@1: input 'connectionType' is 'kubeconfg', not one of azureResourceManager, kubernetesServiceConnection, kubeconfig",
    ]);
  });

  it('demands an input its visibleRule shows, and not one it hides', () => {
    const problems = problemsOf(`
steps:
  - task: DeployAksTemplate@1
    inputs: { connectionType: kubeconfig, templates: k8s }
  - task: DeployAksTemplate@1
    inputs: { kubeconfig: kube.yaml, templates: k8s }
`);
    // The first hides the AzureRM inputs; the second leaves connectionType at its default, azureResourceManager.
    assert.deepEqual(problems, [
      "steps[0] DeployAksTemplate@1: required input 'kubeconfig' is missing",
      "steps[1] DeployAksTemplate@1: required input 'azureSubscription' is missing",
      "steps[1] DeployAksTemplate@1: required input 'resourceGroup' is missing",
      "steps[1] DeployAksTemplate@1: required input 'cluster' is missing",
    ]);
  });

  it('accepts an expression where a pickList value is expected', () => {
    const problems = problemsOf(`
steps:
  - task: PromoteImage@1
    inputs:
      sourceAzureSubscription: sc
      sourceRegistry: contosononprod.azurecr.io
      image: web@sha256:abc
      targetRegistry: contosoprod.azurecr.io
      method: \${{ parameters.method }}
  - task: PromoteImage@1
    inputs:
      sourceAzureSubscription: sc
      sourceRegistry: contosononprod.azurecr.io
      image: web@sha256:abc
      targetRegistry: contosoprod.azurecr.io
      method: $(promotionMethod)
`);
    assert.deepEqual(problems, []);
  });
});
