import * as path from 'node:path';
import * as tl from 'azure-pipelines-task-lib/task';
import { runTask } from '../common/taskRunner';
import { execute } from './execute';
import { readInputs } from './inputs';

void runTask(path.join(__dirname, 'task.json'), async () => {
  const report = await execute(readInputs());
  tl.setVariable('passed', String(report.passed), false, true);
  tl.setVariable('failed', String(report.failed), false, true);
  tl.setVariable('testResultsFile', report.testResultsFile ?? '', false, true);
  return report.outcome;
});
