import * as fs from 'node:fs';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { LineCounter, parseDocument, type Document } from 'yaml';
import checksSchema from '../../schemas/checks.schema.json';
import { userError } from './messages';
import { jsonPathError, type Expectation, type HeaderExpectation } from './expectations';

export interface Check {
  /** Position in the file, for messages (`checks[2]`). */
  readonly index: number;
  readonly name: string;
  readonly request: CheckRequest;
  readonly expect: Expectation;
}

export interface CheckRequest {
  readonly method: string;
  readonly target: { readonly path: string } | { readonly url: string };
  /** As written in the file; JSON bodies add their content type here. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
}

/** How many schema errors one message names; the rest are counted. */
const ERRORS_SHOWN = 3;

// Compiled once: compiling the schema costs more than validating a file.
const validateChecks: ValidateFunction<unknown> = new Ajv({
  allErrors: true,
  verbose: true,
  allowUnionTypes: true,
}).compile(checksSchema);

/** Reads, validates and compiles the checks file; every problem is found before any request is sent. */
export function loadChecksFile(filePath: string): Check[] {
  let text: string;
  try {
    text = fs.readFileSync(filePath, 'utf8');
  } catch (error: unknown) {
    throw userError('ChecksFileUnreadable', filePath, (error as NodeJS.ErrnoException).code ?? 'error');
  }
  return parseChecks(text, filePath);
}

/** The checks in `text`, YAML (or JSON) in the checks-file format; `fileName` names it in messages. */
export function parseChecks(text: string, fileName: string): Check[] {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  const yamlError = document.errors[0];
  if (yamlError !== undefined) {
    const { line, col } = lineCounter.linePos(yamlError.pos[0]);
    throw userError('ChecksFileNotYaml', fileName, line, col, oneLine(yamlError.message));
  }
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: 100 });
  } catch (error: unknown) {
    // An alias to an anchor that is not defined, or an alias bomb.
    throw userError(
      'ChecksFileNotYaml',
      fileName,
      1,
      1,
      oneLine(error instanceof Error ? error.message : ''),
    );
  }
  if (!validateChecks(data)) {
    const errors = validateChecks.errors ?? [];
    const described = describeSchemaErrors(errors, data, document, lineCounter);
    const more = described.length > ERRORS_SHOWN ? `; and ${described.length - ERRORS_SHOWN} more` : '';
    throw userError('ChecksFileInvalid', fileName, described.slice(0, ERRORS_SHOWN).join('; ') + more);
  }
  const checks = (data as ValidChecksFile).checks.map((check, index) => compileCheck(check, index, fileName));
  rejectDuplicateNames(checks, fileName);
  return checks;
}

// The shape the schema guarantees.
interface ValidChecksFile {
  checks: {
    name: string;
    request: {
      method?: string;
      path?: string;
      url?: string;
      headers?: Record<string, string | number | boolean>;
      body?: unknown;
    };
    expect: {
      status: number | number[];
      headers?: Record<string, string | number>;
      body?: { contains?: string; matches?: string; json?: Record<string, unknown> };
      maxLatencyMs?: number;
    };
  }[];
}

type ValidCheck = ValidChecksFile['checks'][number];

function compileCheck(check: ValidCheck, index: number, fileName: string): Check {
  const where = (field: string): string => `${checkLabel(index, check.name)} → ${field}`;
  const compile = (source: string, flags: string, field: string): RegExp => {
    try {
      return new RegExp(source, flags);
    } catch (error: unknown) {
      throw userError('ChecksFileInvalidRegex', fileName, where(field), oneLine((error as Error).message));
    }
  };

  const headers: HeaderExpectation[] = Object.entries(check.expect.headers ?? {}).map(([name, value]) => {
    const written = String(value);
    const regex = /^\/(.*)\/([imsu]*)$/s.exec(written);
    return {
      name: name.toLowerCase(),
      written,
      pattern: regex === null ? undefined : compile(regex[1] ?? '', regex[2] ?? '', `expect.headers.${name}`),
    };
  });
  const body = check.expect.body ?? {};
  const json = Object.entries(body.json ?? {}).map(([path, value]) => {
    const problem = jsonPathError(path);
    if (problem !== undefined) {
      throw userError(
        'ChecksFileInvalidJsonPath',
        fileName,
        where(`expect.body.json[${JSON.stringify(path)}]`),
        problem,
      );
    }
    return { path, value };
  });
  const status = check.expect.status;
  return {
    index,
    name: check.name,
    request: compileRequest(check.request),
    expect: {
      status: Array.isArray(status) ? status : [status],
      headers,
      body: {
        contains: body.contains,
        matches: body.matches === undefined ? undefined : compile(body.matches, '', 'expect.body.matches'),
        json,
      },
      maxLatencyMs: check.expect.maxLatencyMs,
    },
  };
}

function compileRequest(request: ValidCheck['request']): CheckRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) headers[name] = String(value);
  let body: string | undefined;
  if (typeof request.body === 'string') {
    body = request.body;
  } else if (request.body !== undefined) {
    body = JSON.stringify(request.body);
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = 'application/json';
    }
  }
  return {
    method: request.method ?? 'GET',
    target: request.url !== undefined ? { url: request.url } : { path: request.path ?? '/' },
    headers,
    body,
  };
}

function rejectDuplicateNames(checks: readonly Check[], fileName: string): void {
  const firstIndexByName = new Map<string, number>();
  for (const check of checks) {
    const first = firstIndexByName.get(check.name);
    if (first !== undefined) {
      throw userError('ChecksFileDuplicateName', fileName, JSON.stringify(check.name), first, check.index);
    }
    firstIndexByName.set(check.name, check.index);
  }
}

/**
 * Ajv's errors as `line 7: checks[2] "login" → expect.status: must be integer or array`, one per problem.
 * A failed `oneOf` is one problem: its branches' errors are folded into it.
 */
export function describeSchemaErrors(
  errors: readonly ErrorObject[],
  data: unknown,
  document: Document,
  lineCounter: LineCounter,
): string[] {
  const branchErrors = (parent: ErrorObject): ErrorObject[] =>
    errors.filter((e) => e !== parent && e.schemaPath.startsWith(`${parent.schemaPath}/`));
  const folded = new Set<ErrorObject>();
  for (const error of errors) {
    // The `propertyNames` error names the key; its inner `pattern` error only repeats it, less clearly.
    if (['oneOf', 'anyOf', 'propertyNames'].includes(error.keyword))
      branchErrors(error).forEach((e) => folded.add(e));
  }
  const described = errors
    .filter((error) => !folded.has(error))
    .map((error) => {
      const segments = pointerSegments(error.instancePath);
      const { field, message } = fieldAndMessage(error, segments, branchErrors(error));
      return `${lineOf(segments, document, lineCounter)}${locationOf(field, data)}: ${message}`;
    });
  return [...new Set(described)];
}

function fieldAndMessage(
  error: ErrorObject,
  segments: string[],
  branches: ErrorObject[],
): { field: string[]; message: string } {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type':
      return { field: segments, message: `must be ${[params['type']].flat().join(' or ')}` };
    case 'required':
      return { field: [...segments, String(params['missingProperty'])], message: 'is required' };
    case 'additionalProperties': {
      const known = Object.keys(
        (error.parentSchema as { properties?: object } | undefined)?.properties ?? {},
      );
      return {
        field: [...segments, String(params['additionalProperty'])],
        message: `is not a known field${known.length > 0 ? ` (expected ${known.join(', ')})` : ''}`,
      };
    }
    case 'enum':
      return {
        field: segments,
        message: `must be one of ${(params['allowedValues'] as unknown[]).join(', ')}`,
      };
    case 'propertyNames':
      return { field: [...segments, String(params['propertyName'])], message: nameRule(segments) };
    case 'oneOf': {
      const options = branches
        .filter((b) => b.keyword === 'required')
        .map((b) => b.params.missingProperty as string);
      const passing = params['passingSchemas'];
      if (options.length === 0 || passing !== null) {
        return { field: segments, message: `must have only one of ${describeOptions(segments)}` };
      }
      return { field: segments, message: `must have ${options.join(' or ')}` };
    }
    case 'pattern':
      return { field: segments, message: patternRule(segments) };
    default:
      return { field: segments, message: error.message ?? error.keyword };
  }
}

function nameRule(segments: string[]): string {
  return segments.at(-1) === 'json' ? 'must be a JSON path starting with $' : 'is not a valid header name';
}

function patternRule(segments: string[]): string {
  switch (segments.at(-1)) {
    case 'path':
      return 'must start with /';
    case 'url':
      return 'must be an absolute http or https URL';
    default:
      return 'has an invalid format';
  }
}

function describeOptions(segments: string[]): string {
  return segments.at(-1) === 'request' ? 'path or url' : 'the alternatives';
}

function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `checks[2] "login" → expect.status`, or the top-level field. */
function locationOf(segments: string[], data: unknown): string {
  if (segments[0] === 'checks' && segments[1] !== undefined && /^\d+$/.test(segments[1])) {
    const index = Number(segments[1]);
    const checks = (data as { checks?: unknown }).checks;
    const name = Array.isArray(checks) ? (checks[index] as { name?: unknown } | undefined)?.name : undefined;
    const label = checkLabel(index, typeof name === 'string' ? name : undefined);
    const rest = segments.slice(2);
    return rest.length === 0 ? label : `${label} → ${fieldPath(rest)}`;
  }
  return segments.length === 0 ? 'the file' : fieldPath(segments);
}

function checkLabel(index: number, name: string | undefined): string {
  return name === undefined ? `checks[${index}]` : `checks[${index}] ${JSON.stringify(name)}`;
}

/** `expect.headers.content-type`, `expect.status[1]`, `expect.body.json["$.a b"]`. */
function fieldPath(segments: string[]): string {
  return segments
    .map((segment, i) => {
      if (/^\d+$/.test(segment)) return `[${segment}]`;
      if (/^[\w-]+$/.test(segment)) return i === 0 ? segment : `.${segment}`;
      return `[${JSON.stringify(segment)}]`;
    })
    .join('');
}

/** `line 7: ` for the deepest part of the path that exists in the YAML document. */
function lineOf(segments: string[], document: Document, lineCounter: LineCounter): string {
  for (let length = segments.length; length >= 0; length--) {
    const path = segments.slice(0, length).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    const node = length === 0 ? document.contents : document.getIn(path, true);
    const start = (node as { range?: [number, number, number] } | null | undefined)?.range?.[0];
    if (start !== undefined) return `line ${lineCounter.linePos(start).line}: `;
  }
  return '';
}

/** User text can hold any character; a message stays on one line. */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}
