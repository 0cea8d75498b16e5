import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import * as ts from 'typescript';
import {
  REPO_ROOT,
  TASKS_DIR,
  commonMessages,
  readJson,
  shippedTaskManifest,
  taskFolders,
} from '../../scripts/layout';
import { TASK_MANIFEST_SCHEMA } from './taskManifestSchema';

interface TaskInput {
  name: string;
  type: string;
  label: string;
  defaultValue?: string;
  required?: boolean;
  groupName?: string;
  helpMarkDown?: string;
  visibleRule?: string;
  options?: Record<string, string>;
}

interface TaskJson {
  id: string;
  name: string;
  instanceNameFormat: string;
  groups?: { name: string }[];
  inputs: TaskInput[];
  dataSourceBindings?: { target: string; endpointId?: string }[];
  execution: Record<string, { target: string }>;
  prejobexecution?: Record<string, { target: string }>;
  messages: Record<string, string>;
  outputVariables?: { name: string }[];
}

/** Source files under a folder, recursively, with their paths. */
function sourceFilesOf(folder: string): { file: string; text: string }[] {
  return fs
    .readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => {
      const file = path.join(entry.parentPath, entry.name);
      return { file, text: fs.readFileSync(file, 'utf8') };
    });
}

function sourcesOf(folder: string): string[] {
  return sourceFilesOf(folder).map((source) => source.text);
}

/** One `userError('Key', a, b)` or `tl.loc('Key', a)` call: its key and how many values it passes. */
interface MessageCall {
  readonly key: string;
  /** Undefined when a spread hides the count. */
  readonly parameterCount: number | undefined;
  readonly where: string;
}

/** Every call of userError / loc / tl.loc with a literal key, found with the TypeScript parser. */
function messageCallsIn(folder: string): MessageCall[] {
  const calls: MessageCall[] = [];
  for (const { file, text } of sourceFilesOf(folder)) {
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node)) {
        const callee = node.expression.getText(source);
        const [first, ...rest] = node.arguments;
        if (/^(userError|loc|tl\.loc)$/.test(callee) && first !== undefined && ts.isStringLiteral(first)) {
          const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
          calls.push({
            key: first.text,
            parameterCount: rest.some(ts.isSpreadElement) ? undefined : rest.length,
            where: `${path.relative(REPO_ROOT, file)}:${line + 1}`,
          });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return calls;
}

/** How many values a message takes: its `%s` / `%d` placeholders. */
function placeholderCount(text: string): number {
  return [...text.matchAll(/%[sd]/g)].length;
}

/** Every single-quoted string in the sources: a message key may be picked from a table. */
function quotedStringsIn(sources: string[]): Set<string> {
  return new Set(sources.flatMap((source) => [...source.matchAll(/'([A-Za-z0-9_]+)'/g)].map((m) => m[1]!)));
}

/** The quoted members of `export type <name> = 'a' | 'b'` in a source file. */
function literalUnion(file: string, name: string): { names: string[]; rest: string } {
  const source = fs.readFileSync(file, 'utf8');
  const declaration = new RegExp(`export type ${name} =([^;]+);`).exec(source);
  assert.ok(declaration, `${path.relative(REPO_ROOT, file)} declares ${name}`);
  return { names: [...declaration[1]!.matchAll(/'([^']+)'/g)].map((m) => m[1]!), rest: declaration[1]! };
}

/** The members of a task's `InputName`, the cluster inputs included where it names ClusterInputName. */
function inputNamesDeclared(folder: string): Set<string> {
  const own = literalUnion(path.join(TASKS_DIR, folder, 'inputs.ts'), 'InputName');
  const cluster = /\bClusterInputName\b/.test(own.rest)
    ? literalUnion(path.join(TASKS_DIR, 'common', 'cluster', 'connection.ts'), 'ClusterInputName').names
    : [];
  return new Set([...own.names, ...cluster]);
}

/** Input names a visibleRule refers to: `a = x && b != y || c = z`. */
function namesInRule(rule: string): string[] {
  return rule.split(/&&|\|\|/).map((clause) => clause.split(/!=|=|<|>/)[0]!.trim());
}

describe('task manifests (task.json)', () => {
  const folders = taskFolders();

  it('has the four tasks of the design', () => {
    assert.deepEqual(folders, [
      'deploy-aks-template',
      'fetch-keyvault-secrets',
      'promote-image',
      'run-acceptance-tests',
    ]);
  });

  it('uses every shared message somewhere', () => {
    const usedAnywhere = quotedStringsIn(sourcesOf(TASKS_DIR));
    for (const key of Object.keys(commonMessages()))
      assert.ok(usedAnywhere.has(key), `shared message ${key} is used`);
  });

  it('gives every task a unique GUID and name', () => {
    const tasks = folders.map((folder) => readJson<TaskJson>(path.join(TASKS_DIR, folder, 'task.json')));
    assert.equal(new Set(tasks.map((t) => t.id.toLowerCase())).size, tasks.length);
    assert.equal(new Set(tasks.map((t) => t.name)).size, tasks.length);
  });

  for (const folder of folders) {
    describe(folder, () => {
      const task = readJson<TaskJson>(path.join(TASKS_DIR, folder, 'task.json'));
      const inputNames = new Set(task.inputs.map((input) => input.name));

      it('matches the schema', () => {
        const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(
          TASK_MANIFEST_SCHEMA,
        );
        assert.ok(validate(task), JSON.stringify(validate.errors, null, 2));
      });

      it('declares exactly the inputs that inputs.ts reads', () => {
        assert.deepEqual([...inputNames].sort(), [...inputNamesDeclared(folder)].sort());
      });

      it('puts every input in a declared group, with help, and pick lists defaulting to an option', () => {
        const groups = new Set((task.groups ?? []).map((group) => group.name));
        for (const input of task.inputs) {
          if (input.groupName !== undefined)
            assert.ok(groups.has(input.groupName), `${input.name}: group ${input.groupName}`);
          assert.ok((input.helpMarkDown ?? '').length > 20, `${input.name} has help`);
          if (input.options !== undefined && input.defaultValue) {
            assert.ok(
              input.defaultValue in input.options,
              `${input.name}: default ${input.defaultValue} is an option`,
            );
          }
        }
      });

      it('names only real inputs in visibleRules, data source bindings and the instance name', () => {
        for (const input of task.inputs) {
          for (const name of namesInRule(input.visibleRule ?? '')) {
            if (name !== '') assert.ok(inputNames.has(name), `${input.name}'s visibleRule names ${name}`);
          }
        }
        for (const binding of task.dataSourceBindings ?? []) {
          assert.ok(inputNames.has(binding.target), `binding target ${binding.target}`);
          const endpoint = /^\$\((\w+)\)$/.exec(binding.endpointId ?? '');
          assert.ok(endpoint && inputNames.has(endpoint[1]!), `binding endpoint ${binding.endpointId}`);
        }
        for (const match of task.instanceNameFormat.matchAll(/\$\((\w+)\)/g))
          assert.ok(inputNames.has(match[1]!), match[1]);
      });

      it('runs on the Node20_1 and Node24 handlers', () => {
        assert.deepEqual(Object.keys(task.execution).sort(), ['Node20_1', 'Node24']);
        if (task.prejobexecution !== undefined)
          assert.deepEqual(Object.keys(task.prejobexecution).sort(), ['Node20_1', 'Node24']);
      });

      it('ships every message its code uses, each call passing as many values as the message has placeholders', () => {
        const shipped = shippedTaskManifest(folder).messages ?? {};
        const calls = [
          ...messageCallsIn(path.join(TASKS_DIR, folder)),
          ...messageCallsIn(path.join(TASKS_DIR, 'common')),
        ];
        assert.ok(calls.length > 5, 'the calls were found');
        for (const call of calls) {
          const text = shipped[call.key];
          assert.ok(text !== undefined, `${call.where}: message ${call.key} is defined`);
          if (call.parameterCount !== undefined)
            assert.equal(
              call.parameterCount,
              placeholderCount(text),
              `${call.where}: values passed to ${call.key}`,
            );
        }
      });

      it('keeps only its own messages in task.json, each one used', () => {
        const shared = commonMessages();
        for (const key of Object.keys(task.messages))
          assert.ok(!(key in shared), `${key} is shared: it lives in tasks/common/messages.json only`);
        const usedAnywhere = quotedStringsIn(sourcesOf(TASKS_DIR));
        for (const key of Object.keys(task.messages))
          assert.ok(usedAnywhere.has(key), `message ${key} is used`);
      });
    });
  }

  it('lists one contribution per task in vss-extension.json', () => {
    const manifest = readJson<{ contributions: { type: string; properties: { name: string } }[] }>(
      path.join(REPO_ROOT, 'vss-extension.json'),
    );
    const taskContributions = manifest.contributions
      .filter((c) => c.type === 'ms.vss-distributed-task.task')
      .map((c) => c.properties.name);
    assert.deepEqual(
      taskContributions.sort(),
      folders.map((folder) => `tasks/${folder}`),
    );
  });
});
