import { Writable } from 'node:stream';
import * as tl from 'azure-pipelines-task-lib/task';

/**
 * Runs `read` with task-lib's output swallowed: getInput and getVariable write every value they read
 * as a debug line, and a value that may be a credential must not reach the log before the task could
 * register it (or, for the pipeline's secret variables, at all).
 */
export function withoutEcho<T>(read: () => T): T {
  tl.setStdStream(new Writable({ write: (_chunk, _encoding, done) => done() }));
  try {
    return read();
  } finally {
    tl.setStdStream(process.stdout);
  }
}
