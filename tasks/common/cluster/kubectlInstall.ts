import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tl from 'azure-pipelines-task-lib/task';
import { firstLine } from '../errors';
import { loc, userError } from '../messages';
import type { KubectlVersion } from './connection';
import { parseGitVersion } from './serverVersion';

export const KUBECTL_RELEASES = 'https://dl.k8s.io/release';
export const STABLE_VERSION_URL = `${KUBECTL_RELEASES}/stable.txt`;
const TOOL_NAME = 'kubectl';

/** Go's name for this machine's architecture, as kubectl's download paths use it (`x64` → `amd64`). */
export function goArch(arch: string = os.arch()): string {
  const names: Readonly<Record<string, string>> = { x64: 'amd64', ia32: '386', ppc64: 'ppc64le' };
  return names[arch] ?? arch;
}

/** The executable's file name: `kubectl.exe` on Windows. */
export function kubectlFileName(platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? 'kubectl.exe' : 'kubectl';
}

/** `https://dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubectl`; its checksum is the same URL + `.sha256`. */
export function kubectlDownloadUrl(
  version: string,
  platform: NodeJS.Platform = process.platform,
  arch: string = os.arch(),
): string {
  const system = platform === 'win32' ? 'windows' : platform;
  return `${KUBECTL_RELEASES}/v${version}/bin/${system}/${goArch(arch)}/${kubectlFileName(platform)}`;
}

function minorOf(version: string): [number, number] {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return [major, minor];
}

/** kubectl's version-skew policy: supported within one minor version, older or newer, of the API server. */
export function withinSkew(kubectlVersion: string, serverVersion: string): boolean {
  const [clientMajor, clientMinor] = minorOf(kubectlVersion);
  const [serverMajor, serverMinor] = minorOf(serverVersion);
  return clientMajor === serverMajor && Math.abs(clientMinor - serverMinor) <= 1;
}

export interface LocalKubectl {
  readonly path: string;
  readonly version: string;
  /** The server's version as this kubectl reported it, when it reached the server. */
  readonly serverVersion?: string;
}

/**
 * Which kubectl `auto` takes: the one on PATH when it fits the server (or when the server's version
 * is unknown, there being nothing to judge it by), else the server's own version, else (no server
 * answer and nothing on PATH) the latest stable release.
 */
export type KubectlChoice =
  | { readonly kind: 'local'; readonly kubectl: LocalKubectl }
  | { readonly kind: 'download'; readonly version: string }
  | { readonly kind: 'latest' };

export function chooseKubectl(
  wanted: KubectlVersion,
  local: LocalKubectl | undefined,
  serverVersion: string | undefined,
): KubectlChoice {
  switch (wanted.kind) {
    case 'exact':
      return { kind: 'download', version: wanted.version };
    case 'latest':
      return { kind: 'latest' };
    case 'auto':
      if (local !== undefined && (serverVersion === undefined || withinSkew(local.version, serverVersion)))
        return { kind: 'local', kubectl: local };
      return serverVersion === undefined ? { kind: 'latest' } : { kind: 'download', version: serverVersion };
  }
}

/**
 * The path of the kubectl to use, downloaded and cached when the choice says so. `local` is what
 * findLocalKubectl found, for `auto`.
 */
export async function installKubectl(
  wanted: KubectlVersion,
  serverVersion: string | undefined,
  local: LocalKubectl | undefined,
): Promise<{ path: string; version: string }> {
  const choice = chooseKubectl(wanted, local, serverVersion);
  if (local !== undefined) {
    if (choice.kind === 'local')
      console.log(loc('KubectlOnPath', local.version, local.path, serverVersion ?? '?'));
    else console.log(loc('KubectlOnPathSkewed', local.version, local.path, serverVersion));
  }
  switch (choice.kind) {
    case 'local':
      return choice.kubectl;
    case 'download':
      return { path: await cachedOrDownloaded(choice.version), version: choice.version };
    case 'latest': {
      const version = await latestStableVersion();
      return { path: await cachedOrDownloaded(version), version };
    }
  }
}

/** How long the kubectl on PATH may take to report its own and the server's version. */
const LOCAL_VERSION_TIMEOUT_SECONDS = 10;

/**
 * The kubectl at `kubectlPath` (found on PATH) with its client version, and the server's version as
 * that kubectl reaches the server through `kubeconfig` (undefined when it could not: `kubectl
 * version` then still prints the client's). Undefined when it does not run or is not kubectl.
 * `env` is the child's whole environment (the agent's proxy for the API server).
 */
export async function findLocalKubectl(
  kubectlPath: string,
  kubeconfig: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LocalKubectl | undefined> {
  const args = [
    'version',
    '--output=json',
    `--kubeconfig=${kubeconfig}`,
    `--request-timeout=${LOCAL_VERSION_TIMEOUT_SECONDS}s`,
  ];
  const output = await new Promise<string>((resolve) => {
    // An unreachable server makes kubectl exit 1, having printed the client's version all the same.
    execFile(
      kubectlPath,
      args,
      { env, timeout: (LOCAL_VERSION_TIMEOUT_SECONDS + 20) * 1000 },
      (_error, stdout) => resolve(typeof stdout === 'string' ? stdout : ''),
    );
  });
  try {
    const printed = JSON.parse(output) as {
      clientVersion?: { gitVersion?: unknown };
      serverVersion?: { gitVersion?: unknown };
    };
    const version = parseGitVersion(printed.clientVersion?.gitVersion);
    const serverVersion = parseGitVersion(printed.serverVersion?.gitVersion);
    if (version !== undefined)
      return serverVersion === undefined
        ? { path: kubectlPath, version }
        : { path: kubectlPath, version, serverVersion };
  } catch {
    // Not kubectl's JSON: treated as no kubectl.
  }
  tl.debug(`${kubectlPath} did not report its version; it is not used`);
  return undefined;
}

/**
 * A file on PATH, found as a shell finds it (first executable match in PATH order). Not task-lib's
 * `which`: the mock runner answers that from an answers file, and kubectl here is run with
 * execFile, so it must be a real file.
 */
export function findOnPath(
  fileName: string,
  searchPath: string = process.env['PATH'] ?? '',
): string | undefined {
  for (const directory of searchPath.split(path.delimiter)) {
    if (directory === '') continue;
    const candidate = path.join(directory, fileName);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The latest stable version (`1.32.4`) from dl.k8s.io, fetched like the binaries (tool-lib, agent proxy). */
export async function latestStableVersion(): Promise<string> {
  let text: string;
  try {
    text = await downloadText(STABLE_VERSION_URL);
  } catch (error: unknown) {
    throw userError('KubectlStableVersionUnavailable', STABLE_VERSION_URL, reasonOf(error));
  }
  const version = parseGitVersion(text.trim());
  if (version === undefined || !/^v\d+\.\d+\.\d+$/.test(text.trim()))
    throw userError('KubectlStableVersionUnavailable', STABLE_VERSION_URL, 'not a version');
  return version;
}

/**
 * The cached kubectl of `version`, or a download of it verified against its published SHA-256
 * and then cached (tool-lib's cache under Agent.ToolsDirectory). tool-lib downloads through the
 * agent's proxy (and its bypass list and CA), else HTTPS_PROXY / NO_PROXY.
 */
export async function cachedOrDownloaded(version: string): Promise<string> {
  const fileName = kubectlFileName();
  const tools = await toolLib();
  const cached = tools.findLocalTool(TOOL_NAME, version);
  if (cached) {
    const cachedPath = path.join(cached, fileName);
    if (fs.existsSync(cachedPath)) {
      console.log(loc('KubectlCached', version, cachedPath));
      return cachedPath;
    }
  }
  const url = kubectlDownloadUrl(version);
  let downloaded: string;
  let expected: string;
  try {
    expected = (await downloadText(`${url}.sha256`)).trim().split(/\s+/)[0]?.toLowerCase() ?? '';
    downloaded = await tools.downloadTool(url);
  } catch (error: unknown) {
    throw userError('KubectlDownloadFailed', version, url, reasonOf(error));
  }
  const actual = await sha256Of(downloaded);
  if (actual !== expected) {
    fs.rmSync(downloaded, { force: true });
    throw userError('KubectlChecksumMismatch', version, url, expected, actual);
  }
  console.log(loc('KubectlVerified', version, actual));
  const directory = await tools.cacheFile(downloaded, fileName, TOOL_NAME, version);
  fs.rmSync(downloaded, { force: true });
  const kubectlPath = path.join(directory, fileName);
  fs.chmodSync(kubectlPath, 0o755);
  return kubectlPath;
}

/** tool-lib, loaded only when a kubectl is looked up in the cache or downloaded, not when the one on PATH serves. */
function toolLib(): Promise<typeof import('azure-pipelines-tool-lib/tool')> {
  return import('azure-pipelines-tool-lib/tool');
}

async function downloadText(url: string): Promise<string> {
  const file = await (await toolLib()).downloadTool(url);
  try {
    return fs.readFileSync(file, 'utf8');
  } finally {
    fs.rmSync(file, { force: true });
  }
}

export async function sha256Of(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function reasonOf(error: unknown): string {
  const status = (error as { httpStatusCode?: number } | null)?.httpStatusCode;
  if (status !== undefined) return `HTTP ${status}`;
  return firstLine(error instanceof Error ? error.message : String(error));
}
