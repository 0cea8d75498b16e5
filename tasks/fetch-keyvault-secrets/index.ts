import * as path from 'node:path';
import { loc } from './messages';
import { ConcurrencyLimit } from '../common/concurrency';
import { runTask } from '../common/taskRunner';
import { createSecretClient } from './readVault';
import { readInputs, readRunAsPreJob } from './inputs';
import { fetchKeyVaultSecrets } from './setVariables';

// The pre-job handler's entry (prejob.js) sets this before loading us.
const isPreJobPhase = process.env['AKS_DELIVERY_TASK_PHASE'] === 'prejob';

void runTask(path.join(__dirname, 'task.json'), async () => {
  // Both handlers run; only the phase the author chose does the work.
  if (readRunAsPreJob() !== isPreJobPhase) {
    if (!isPreJobPhase) console.log(loc('RanAsPreJob'));
    return;
  }
  const inputs = readInputs();
  const limit = new ConcurrencyLimit(inputs.concurrency);
  await fetchKeyVaultSecrets(inputs, createSecretClient(inputs, limit), limit);
});
