import * as fs from 'node:fs';
import { userError } from './messages';
import { InputReader } from '../common/inputs';

export type InputName =
  | 'baseUrl'
  | 'readinessPath'
  | 'readinessTimeout'
  | 'checksFile'
  | 'command'
  | 'junitFiles'
  | 'retries'
  | 'concurrency'
  | 'requestTimeout'
  | 'headers'
  | 'publishResults'
  | 'testRunTitle';

export interface RunAcceptanceTestsInputs {
  /** Absolute http(s) URL without a trailing slash. */
  readonly baseUrl: string;
  readonly readinessPath: string | undefined;
  readonly readinessTimeoutSeconds: number;
  readonly checksFile: string | undefined;
  readonly command: string | undefined;
  readonly junitFiles: string | undefined;
  readonly retries: number;
  readonly concurrency: number;
  readonly requestTimeoutSeconds: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly publishResults: boolean;
  readonly testRunTitle: string;
}

// RFC 9110 token characters.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// RFC 9110 field-value characters (obs-text included), the set Node's HTTP clients accept.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export function readInputs(): RunAcceptanceTestsInputs {
  const input = new InputReader<InputName>();
  const baseUrl = parseBaseUrl(input.required('baseUrl'));
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
    baseUrl,
    readinessPath,
    readinessTimeoutSeconds: input.integer('readinessTimeout', 300, { min: 0, max: 3600 }),
    checksFile,
    command,
    junitFiles: input.optional('junitFiles'),
    retries: input.integer('retries', 2, { min: 0, max: 10 }),
    concurrency: input.integer('concurrency', 4, { min: 1, max: 64 }),
    requestTimeoutSeconds: input.integer('requestTimeout', 30, { min: 1, max: 600 }),
    headers: parseHeaders(input.lines('headers')),
    publishResults: input.boolean('publishResults', true),
    testRunTitle: input.optional('testRunTitle') ?? 'Acceptance tests',
  };
}

export function parseBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw userError('InvalidBaseUrl', value);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw userError('InvalidBaseUrl', value);
  return url.toString().replace(/\/+$/, '');
}

/**
 * `Name: value` lines. A name given twice (in any case) is refused rather than one silently winning.
 * Messages name the line and header, never the value: a header value may be a credential, and the
 * caller registers every value as a secret.
 */
export function parseHeaders(lines: readonly string[]): ReadonlyMap<string, string> {
  const headers = new Map<string, string>();
  const lineByLowerName = new Map<string, number>();
  lines.forEach((line, index) => {
    const lineNumber = index + 1;
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon).trim();
    if (!HEADER_NAME.test(name)) throw userError('InvalidHeaderLine', lineNumber);
    const value = line.slice(colon + 1).trim();
    if (!HEADER_VALUE.test(value)) throw userError('InvalidHeaderValue', name, lineNumber);
    const earlier = lineByLowerName.get(name.toLowerCase());
    if (earlier !== undefined) throw userError('DuplicateHeader', name, earlier, lineNumber);
    lineByLowerName.set(name.toLowerCase(), lineNumber);
    headers.set(name, value);
  });
  return headers;
}
