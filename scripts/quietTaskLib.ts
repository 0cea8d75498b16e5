// Imported first by the bench and campaign runners: they load task code in-process, and task-lib
// writes a debug line for every variable it reads and a setsecret line for every value registered
// (38,000 lines for the Key Vault bench), which buried the results. Their own output is console.log.
import { Writable } from 'node:stream';

// task-lib reads this at load: with System.Debug unset, no debug lines at all.
process.env['DISTRIBUTEDTASK_TASKS_NODE_SKIPDEBUGLOGSWHENDEBUGMODEOFF'] = 'true';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- after the variable above is set
const tl = require('azure-pipelines-task-lib/task') as typeof import('azure-pipelines-task-lib/task');
tl.setStdStream(new Writable({ write: (_chunk, _encoding, done) => done() }));
