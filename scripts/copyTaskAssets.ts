// After tsc: puts each task.json next to its compiled index.js, where tl.setResourcePath and the
// mock runner look for it (L0 tests run the tsc output).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUILD_DIR, shippedTaskManifest, taskFolders, writeJson } from './layout';

for (const folder of taskFolders()) {
  const target = path.join(BUILD_DIR, 'tasks', folder);
  fs.mkdirSync(target, { recursive: true });
  writeJson(path.join(target, 'task.json'), shippedTaskManifest(folder));
}
