import * as fs from 'node:fs';
import * as tl from 'azure-pipelines-task-lib/task';
import type { Dispatcher } from 'undici';
import { agentNetwork, agentProxyFor } from '../proxy';
import type { CurrentContext } from './kubeconfig';

/** `1.32.4` from a gitVersion such as `v1.32.4` or `v1.30.2-gke.1`. */
export function parseGitVersion(gitVersion: unknown): string | undefined {
  if (typeof gitVersion !== 'string') return undefined;
  return /^v?(\d+\.\d+\.\d+)/.exec(gitVersion)?.[1];
}

const VERSION_TIMEOUT_MS = 10_000;

/**
 * The API server's version from `GET /version`, asked the way kubectl would ask it: the
 * context's CA (or insecure-skip-tls-verify), client certificate, token or basic credentials, through
 * the agent's proxy (or HTTPS_PROXY/NO_PROXY). kubectl is chosen by this answer, so it is asked
 * before any kubectl runs. An exec plugin's user asks anonymously (Kubernetes lets anyone read
 * /version by default). Undefined when the server does not answer; the reason goes to the debug log.
 * undici is loaded only here, when asked: a deploy whose kubectl reports the server's version never
 * loads it.
 */
export async function fetchServerVersion(context: CurrentContext): Promise<string | undefined> {
  const url = `${context.server}/version`;
  try {
    const tlsOptions = tlsFor(context);
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = bearerToken(context.user);
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    else if (typeof context.user['username'] === 'string' && typeof context.user['password'] === 'string')
      headers['authorization'] =
        `Basic ${Buffer.from(`${context.user['username']}:${context.user['password']}`).toString('base64')}`;
    const undici = await import('undici');
    const dispatcher = dispatcherFor(undici, url, tlsOptions);
    try {
      const response = await undici.request(url, {
        dispatcher,
        headers,
        signal: AbortSignal.timeout(VERSION_TIMEOUT_MS),
      });
      const body = await response.body.text();
      if (response.statusCode !== 200) {
        tl.debug(`${url} answered ${response.statusCode}`);
        return undefined;
      }
      return parseGitVersion((JSON.parse(body) as { gitVersion?: unknown }).gitVersion);
    } finally {
      await dispatcher.destroy();
    }
  } catch (error: unknown) {
    tl.debug(`${url} did not answer: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
  rejectUnauthorized?: boolean;
}

function dataOrFile(entry: Record<string, unknown>, field: string): string | undefined {
  const data = entry[`${field}-data`];
  if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64').toString('utf8');
  const file = entry[field];
  if (typeof file === 'string' && file !== '') return fs.readFileSync(file, 'utf8');
  return undefined;
}

function tlsFor(context: CurrentContext): TlsOptions {
  const options: TlsOptions = {};
  if (context.cluster['insecure-skip-tls-verify'] === true) options.rejectUnauthorized = false;
  const ca = dataOrFile(context.cluster, 'certificate-authority');
  if (ca !== undefined) options.ca = ca;
  const serverName = context.cluster['tls-server-name'];
  if (typeof serverName === 'string' && serverName !== '') options.servername = serverName;
  const cert = dataOrFile(context.user, 'client-certificate');
  const key = dataOrFile(context.user, 'client-key');
  if (cert !== undefined && key !== undefined) Object.assign(options, { cert, key });
  return options;
}

function bearerToken(user: Record<string, unknown>): string | undefined {
  if (typeof user['token'] === 'string' && user['token'] !== '') return user['token'];
  const file = user['tokenFile'];
  if (typeof file === 'string' && file !== '') return fs.readFileSync(file, 'utf8').trim();
  return undefined;
}

function dispatcherFor(
  { Agent, EnvHttpProxyAgent, ProxyAgent }: typeof import('undici'),
  url: string,
  tlsOptions: TlsOptions,
): Dispatcher {
  const proxy = agentProxyFor(url);
  if (proxy !== undefined) {
    const caFile = agentNetwork().caFile;
    return new ProxyAgent({
      uri: proxy.url,
      requestTls: tlsOptions,
      ...(caFile === undefined ? {} : { proxyTls: { ca: fs.readFileSync(caFile, 'utf8') } }),
      ...(proxy.username === undefined && proxy.password === undefined
        ? {}
        : {
            token: `Basic ${Buffer.from(`${proxy.username ?? ''}:${proxy.password ?? ''}`).toString('base64')}`,
          }),
    });
  }
  if (agentNetwork().proxy !== undefined) return new Agent({ connect: tlsOptions });
  // No agent proxy: HTTPS_PROXY / NO_PROXY from the environment, as kubectl follows them.
  return new EnvHttpProxyAgent({ connect: tlsOptions, requestTls: tlsOptions });
}
