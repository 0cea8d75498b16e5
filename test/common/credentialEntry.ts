// L0 entry for the connection layer: reads the AzureRM connection named by the
// `azureSubscription` input and builds its credential, as every task does first.
import * as path from 'node:path';
import { readAzureConnection } from '../../tasks/common/azureConnection';
import { createCredential } from '../../tasks/common/credential';
import { InputReader } from '../../tasks/common/inputs';
import { runTask } from '../../tasks/common/taskRunner';

void runTask(path.resolve(__dirname, '..', '..', 'tasks', 'fetch-keyvault-secrets', 'task.json'), () => {
  const connection = readAzureConnection(
    'azureSubscription',
    new InputReader<'azureSubscription'>().required('azureSubscription'),
  );
  createCredential(connection);
  console.log(`##l0-cloud ${JSON.stringify(connection.cloud)}`);
});
