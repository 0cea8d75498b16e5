import * as path from 'node:path';
import { runTask } from '../common/taskRunner';
import { execute } from './deploy';
import { agentHost } from './host';
import { readInputs } from './inputs';

void runTask(path.join(__dirname, 'task.json'), () => execute(readInputs(), agentHost()));
