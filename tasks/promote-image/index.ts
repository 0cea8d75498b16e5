import * as path from 'node:path';
import * as tl from 'azure-pipelines-task-lib/task';
import { runTask } from '../common/taskRunner';
import { readInputs } from './inputs';
import { defaultServices, execute } from './promote';
import { publishSummary, renderSummary } from './summary';

void runTask(path.join(__dirname, 'task.json'), async () => {
  const inputs = readInputs();
  const promotion = await execute(inputs, defaultServices());
  tl.setVariable('promotedDigest', promotion.digest, false, true);
  tl.setVariable('promotedImage', promotion.image, false, true);
  publishSummary(renderSummary(promotion));
});
