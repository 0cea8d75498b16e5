// The script the mock runner starts for every L0 run: it applies the scenario from L0_SCENARIO,
// then runs the task (or the scenario's entry) with the mocked task-lib.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { agentEnvironment } from '../../scripts/agentEnvironment';
import type { L0Scenario } from './l0';

const scenario = JSON.parse(process.env['L0_SCENARIO'] ?? '{}') as L0Scenario;
// task-lib moves ENDPOINT_AUTH_* into its vault when it loads, so they must be set before that.
// A temp folder per run keeps task-lib's vault key (.taskkey) out of the working tree, and away
// from L0 runs in other processes, which would overwrite it.
const agentTemp = fs.mkdtempSync(path.join(os.tmpdir(), 'l0-agent-'));
process.on('exit', () => fs.rmSync(agentTemp, { recursive: true, force: true }));
Object.assign(
  process.env,
  { AGENT_TEMPDIRECTORY: agentTemp },
  agentEnvironment({ endpoints: scenario.endpoints, variables: scenario.variables }),
  scenario.env ?? {},
);

// A require, not an import: imports are hoisted above the environment set-up just above.
const { TaskMockRunner } =
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('azure-pipelines-task-lib/mock-run') as typeof import('azure-pipelines-task-lib/mock-run');

const taskDir = path.resolve(__dirname, '..', '..', 'tasks', scenario.task);
const runner = new TaskMockRunner(scenario.entry ?? path.join(taskDir, 'index.js'));
for (const [name, value] of Object.entries(scenario.inputs ?? {})) {
  runner.setInput(name, value);
}
if (scenario.answers !== undefined) runner.setAnswers(scenario.answers);
for (const [moduleName, fakePath] of Object.entries(scenario.mocks ?? {})) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  runner.registerMock(moduleName, require(fakePath));
}
runner.run();
