import * as path from 'node:path';
import { userError } from './messages';
import { runTask } from '../common/taskRunner';
import { readInputs } from './inputs';

void runTask(path.join(__dirname, 'task.json'), () => {
  readInputs();
  throw userError('NotAvailableYet', 'PromoteImage@1');
});
