import * as fs from 'node:fs';
import { readClusterConnection, type ClusterConnection, type ClusterInputName } from '../common/cluster';
import { userError } from './messages';
import type { ServiceTarget } from './portForward';
import { InputReader, numberedLines } from '../common/inputs';

export type InputName =
  | ClusterInputName
  | 'baseUrl'
  | 'kubernetesService'
  | 'readinessPath'
  | 'readinessTimeout'
  | 'checksFile'
  | 'command'
  | 'commandTimeout'
  | 'junitFiles'
  | 'retries'
  | 'concurrency'
  | 'requestTimeout'
  | 'headers'
  | 'publishResults'
  | 'testRunTitle';

/** What is tested: a URL, or a Kubernetes Service reached through `kubectl port-forward`. */
export type TestTarget =
  | {
      readonly kind: 'baseUrl';
      /** Absolute http(s) URL without a trailing slash. */
      readonly baseUrl: string;
      /** The input's other lines, not tested: DeployAksTemplate's `serviceEndpoints` lists one per line. */
      readonly otherUrls: readonly string[];
    }
  | {
      readonly kind: 'kubernetesService';
      readonly service: ServiceTarget;
      readonly connection: ClusterConnection;
    };

export interface RunAcceptanceTestsInputs {
  readonly target: TestTarget;
  readonly readinessPath: string | undefined;
  readonly readinessTimeoutSeconds: number;
  readonly checksFile: string | undefined;
  readonly command: string | undefined;
  /** How long the command may run before it and every process it started are ended. */
  readonly commandTimeoutSeconds: number;
  readonly junitFiles: string | undefined;
  readonly retries: number;
  readonly concurrency: number;
  readonly requestTimeoutSeconds: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly publishResults: boolean;
  readonly testRunTitle: string;
}

// RFC 1123 label (namespace) and RFC 1035 label (Service name), as Kubernetes requires them.
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SERVICE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
// A port number, or the name of one of the Service's ports (IANA_SVC_NAME: at most 15 characters).
const PORT = /^(\d{1,5}|[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?)$/;

// RFC 9110 token characters.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// RFC 9110 field-value characters (obs-text included), the set Node's HTTP clients accept.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export function readInputs(): RunAcceptanceTestsInputs {
  const input = new InputReader<InputName>();
  const target = readTarget(input);
  const readinessPath = input.optional('readinessPath');
  if (readinessPath !== undefined && !readinessPath.startsWith('/'))
    throw userError('InvalidReadinessPath', readinessPath);
  const checksFile = input.path('checksFile');
  if (checksFile !== undefined && !(fs.existsSync(checksFile) && fs.statSync(checksFile).isFile())) {
    throw userError('ChecksFileNotFound', checksFile);
  }
  const command = input.optional('command');
  if (readinessPath === undefined && checksFile === undefined && command === undefined)
    throw userError('NothingToTest');
  return {
    target,
    readinessPath,
    readinessTimeoutSeconds: input.integer('readinessTimeout', 300, { min: 0, max: 3600 }),
    checksFile,
    command,
    commandTimeoutSeconds: input.integer('commandTimeout', 3600, { min: 1, max: 86400 }),
    junitFiles: input.optional('junitFiles'),
    retries: input.integer('retries', 2, { min: 0, max: 10 }),
    concurrency: input.integer('concurrency', 4, { min: 1, max: 64 }),
    requestTimeoutSeconds: input.integer('requestTimeout', 30, { min: 1, max: 600 }),
    headers: parseHeaders(input.credentialText('headers')),
    publishResults: input.boolean('publishResults', true),
    testRunTitle: input.optional('testRunTitle') ?? 'Acceptance tests',
  };
}

function readTarget(input: InputReader<InputName>): TestTarget {
  const baseUrl = input.credentialOptional('baseUrl');
  const kubernetesService = input.optional('kubernetesService');
  if ((baseUrl === undefined) === (kubernetesService === undefined)) throw userError('OneTargetRequired');
  if (baseUrl !== undefined) {
    const [first, ...others] = numberedLines(baseUrl).map(({ text }) => parseBaseUrl(text));
    if (first === undefined) throw userError('InvalidBaseUrl', baseUrl);
    return { kind: 'baseUrl', baseUrl: first, otherUrls: others };
  }
  return {
    kind: 'kubernetesService',
    service: parseKubernetesService(kubernetesService ?? ''),
    connection: readClusterConnection(input),
  };
}

/** `namespace/service:port`; the port is a number or the name of one of the Service's ports. */
export function parseKubernetesService(value: string): ServiceTarget {
  const match = /^([^/]+)\/([^:]+):(.+)$/.exec(value);
  const [, namespace = '', name = '', port = ''] = match ?? [];
  const portNumber = /^\d+$/.test(port) ? Number(port) : undefined;
  if (
    !NAMESPACE.test(namespace) ||
    !SERVICE_NAME.test(name) ||
    !PORT.test(port) ||
    (portNumber !== undefined && (portNumber < 1 || portNumber > 65535))
  )
    throw userError('InvalidKubernetesService', value);
  return { namespace, name, port };
}

export function parseBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw userError('InvalidBaseUrl', withoutCredentials(value));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw userError('InvalidBaseUrl', withoutCredentials(value));
  return url.toString().replace(/\/+$/, '');
}

/**
 * `Name: value` lines. A name given twice (in any case) is refused rather than one silently winning.
 * Messages name the line and header, never the value: a header value may be a credential, and the
 * caller registers every value as a secret.
 */
export function parseHeaders(text: string): ReadonlyMap<string, string> {
  const headers = new Map<string, string>();
  const lineByLowerName = new Map<string, number>();
  for (const { number: lineNumber, text: line } of numberedLines(text)) {
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon).trim();
    if (!HEADER_NAME.test(name)) throw userError('InvalidHeaderLine', lineNumber);
    const value = line.slice(colon + 1).trim();
    if (!HEADER_VALUE.test(value)) throw userError('InvalidHeaderValue', name, lineNumber);
    const earlier = lineByLowerName.get(name.toLowerCase());
    if (earlier !== undefined) throw userError('DuplicateHeader', name, earlier, lineNumber);
    lineByLowerName.set(name.toLowerCase(), lineNumber);
    headers.set(name, value);
  }
  return headers;
}

// Headers whose values are credentials. Not every header: masking an ordinary value (`staging`, `always`)
// would blank that word out of the whole job's log.
const CREDENTIAL_HEADER = /^(proxy-authorization|cookie)$|key|token|secret|auth|signature|session|password/i;

/**
 * The values of credential-like headers to mask, with their parts a server or tool may print alone: the
 * credentials after an authorization scheme (`Bearer <token>`) and each cookie's value.
 */
export function credentialHeaderValues(headers: ReadonlyMap<string, string>): string[] {
  const values = new Set<string>();
  for (const [name, value] of headers) {
    if (!CREDENTIAL_HEADER.test(name) || value === '') continue;
    values.add(value);
    const schemeAndCredentials = /^[A-Za-z][\w.+-]*\s+(\S.*)$/.exec(value);
    if (/authorization/i.test(name) && schemeAndCredentials?.[1] !== undefined)
      values.add(schemeAndCredentials[1]);
    if (/^cookie$/i.test(name)) {
      for (const pair of value.split(';')) {
        const cookieValue = pair.slice(pair.indexOf('=') + 1).trim();
        if (pair.includes('=') && cookieValue !== '') values.add(cookieValue);
      }
    }
  }
  return [...values];
}

// Query parameters that carry credentials, by their whole name: an Azure Functions key (`code`), a
// SAS signature (`sig`), passwords, and any name that ends in key, token or secret (`x-api-key`,
// `access_token`, `client_secret`). Not `author` or `keyword`.
const CREDENTIAL_QUERY = /^(code|sig|signature|password|passwd|pwd|auth|[a-z0-9_.-]*(key|token|secret)s?)$/i;

/**
 * The credentials the URLs carry, to mask: each one's password (also as Basic credentials), and the values of credential-like
 * query parameters (`?code=` of an Azure Function), each as written and decoded. A base URL is
 * printed as given, and a server or the test command may print it too.
 */
export function credentialUrlValues(urls: readonly string[]): string[] {
  const values = new Set<string>();
  const add = (written: string): void => {
    if (written === '') return;
    values.add(written);
    values.add(decodedOrAsIs(written));
  };
  for (const text of urls) {
    const url = new URL(text);
    add(url.password);
    // As the Basic credentials the checks send (runChecks' requestHeaders), which a server may echo.
    if (url.password !== '')
      values.add(
        Buffer.from(`${decodedOrAsIs(url.username)}:${decodedOrAsIs(url.password)}`).toString('base64'),
      );
    for (const pair of url.search.slice(1).split('&')) {
      const equals = pair.indexOf('=');
      if (equals > 0 && CREDENTIAL_QUERY.test(decodedOrAsIs(pair.slice(0, equals))))
        add(pair.slice(equals + 1));
    }
  }
  return [...values];
}

/** `text` percent-decoded, or as it is when it does not decode (a literal `%`). */
export function decodedOrAsIs(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * A base URL the task refuses, as its error quotes it: without a query or a user and password,
 * which may hold a credential the task cannot yet tell from the rest (it was not a URL).
 */
export function withoutCredentials(value: string): string {
  // Everything before the last `@` ahead of the query goes: a password may hold `/` or `@`.
  return value.replace(/[?#][\s\S]*$/, '?…').replace(/^((?:[a-z][a-z0-9+.-]*:)?\/\/)?\S*@/i, '$1…@');
}
