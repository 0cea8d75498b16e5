import * as fs from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

/** Whether process `pid` has ended (a zombie waiting for a parent that never reaps it counts as ended). */
export function hasEnded(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

/** Polls `condition` for up to `timeoutMs`: signals are delivered asynchronously. */
export async function eventually(condition: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await delay(50);
  return condition();
}
