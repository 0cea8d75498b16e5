// Stands in for azure-pipelines-tool-lib/tool in L0 runs (the real one needs task-lib's file
// functions, which the mock runner turns into no-ops). Downloads are served from FAKE_DOWNLOADS
// (URL → file content, or a number for an HTTP status); the cache is a folder under
// AGENT_TOOLSDIRECTORY laid out as tool-lib lays it out. Every call is printed.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const TOOL_LIB_MARKER = '##l0-toollib ';

function record(call: string, detail: unknown): void {
  console.log(`${TOOL_LIB_MARKER}${JSON.stringify({ call, detail })}`);
}

function downloads(): Record<string, string | number> {
  return JSON.parse(process.env['FAKE_DOWNLOADS'] ?? '{}') as Record<string, string | number>;
}

function toolPath(tool: string, version: string, arch: string): string {
  return path.join(process.env['AGENT_TOOLSDIRECTORY'] ?? '', tool, version, arch);
}

export function downloadTool(url: string): Promise<string> {
  record('downloadTool', url);
  const answer = downloads()[url];
  if (answer === undefined || typeof answer === 'number') {
    const status = answer ?? 404;
    return Promise.reject(
      Object.assign(new Error(`Unexpected HTTP response: ${status}`), { httpStatusCode: status }),
    );
  }
  const file = path.join(process.env['AGENT_TEMPDIRECTORY'] ?? os.tmpdir(), crypto.randomUUID());
  fs.writeFileSync(file, answer);
  return Promise.resolve(file);
}

export function findLocalTool(tool: string, version: string, arch: string = os.arch()): string {
  const folder = toolPath(tool, version, arch);
  const found = fs.existsSync(`${folder}.complete`) ? folder : '';
  record('findLocalTool', { tool, version, arch, found: found !== '' });
  return found;
}

export function cacheFile(
  source: string,
  target: string,
  tool: string,
  version: string,
  arch: string = os.arch(),
): Promise<string> {
  record('cacheFile', { target, tool, version, arch });
  const folder = toolPath(tool, version, arch);
  fs.mkdirSync(folder, { recursive: true });
  fs.copyFileSync(source, path.join(folder, target));
  fs.writeFileSync(`${folder}.complete`, '');
  return Promise.resolve(folder);
}

export interface RecordedToolLibCall {
  readonly call: string;
  readonly detail: unknown;
}

export function recordedToolLibCalls(stdout: string): RecordedToolLibCall[] {
  return stdout
    .split(/\r?\n/)
    .filter((line) => line.startsWith(TOOL_LIB_MARKER))
    .map((line) => JSON.parse(line.slice(TOOL_LIB_MARKER.length)) as RecordedToolLibCall);
}
