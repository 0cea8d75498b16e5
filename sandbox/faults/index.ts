import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from '../httpsServer';
import { pathOf } from '../httpsServer';

/** Which requests a fault applies to: a predicate, or a method and/or a path pattern (both must match). */
export type FaultMatch =
  | ((request: IncomingMessage) => boolean)
  | {
      readonly method?: string;
      readonly pathPattern?: RegExp;
      /**
       * true: only requests that carry an Authorization header. Azure SDK clients send their first
       * request without a token to learn the challenge; a fault meant for real work skips it.
       */
      readonly authorized?: boolean;
    };

export interface FaultRule {
  readonly match: FaultMatch;
  /** Delay before the request is answered (combines with the other faults). */
  readonly latencyMs?: number;
  /** Answer 429 with `Retry-After` instead of calling the service. */
  readonly status429?: { readonly retryAfterSeconds: number };
  /** Answer this 5xx status instead of calling the service. */
  readonly status5xx?: number;
  /** Let the service answer, send the headers and part of the body, then destroy the socket. */
  readonly resetMidBody?: boolean;
  /** Destroy the connection without answering (the client sees ECONNRESET, "socket hang up"). */
  readonly resetBeforeResponse?: boolean;
  /** Let the service answer, then trickle its body at this rate. */
  readonly slowBodyBytesPerSecond?: number;
  /**
   * Let the service answer; a 200 JSON object is cut after its first member (`{"value":"…",`) and
   * sent whole as far as HTTP can tell: the same status and content type, a Content-Length that
   * matches the cut body. Other answers pass unchanged.
   */
  readonly truncatedJson?: boolean;
  /** Never answer: no status, no headers, the connection held open until the client or the server closes it. */
  readonly neverAnswer?: boolean;
  /**
   * The rule applies for this many milliseconds of wall clock from the first request it matches,
   * then never again: a throttling window rather than a number of hits.
   */
  readonly windowMs?: number;
  /** Chance (0..1) that a matching request is hit, drawn from the plan's seeded generator. Default 1. */
  readonly probability?: number;
  /** Stop after injecting this many times. Default: unlimited. */
  readonly times?: number;
}

export type FaultKind =
  | 'latency'
  | 'status429'
  | 'status5xx'
  | 'resetBeforeResponse'
  | 'resetMidBody'
  | 'slowBody'
  | 'truncatedJson'
  | 'neverAnswer';

export interface InjectedFault {
  readonly kinds: readonly FaultKind[];
  readonly method: string;
  readonly host: string;
  readonly path: string;
  /** When it was injected, on the plan's clock (milliseconds). */
  readonly at: number;
}

/** A rule as added to a plan, with how often it fired. */
export interface ActiveFaultRule {
  readonly rule: FaultRule;
  readonly injected: number;
}

/** mulberry32: tiny, fast and good enough to make "30% of requests fail" repeatable. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class MutableRule implements ActiveFaultRule {
  injected = 0;
  /** When a windowed rule first matched. */
  windowStart: number | undefined;
  constructor(readonly rule: FaultRule) {}

  exhaustedAt(now: number): boolean {
    if (this.rule.times !== undefined && this.injected >= this.rule.times) return true;
    return (
      this.rule.windowMs !== undefined &&
      this.windowStart !== undefined &&
      now - this.windowStart >= this.rule.windowMs
    );
  }

  matches(request: IncomingMessage): boolean {
    const { match } = this.rule;
    if (typeof match === 'function') return match(request);
    if (match.method !== undefined && match.method.toUpperCase() !== request.method?.toUpperCase())
      return false;
    if (match.pathPattern !== undefined && !match.pathPattern.test(pathOf(request))) return false;
    if (match.authorized !== undefined && match.authorized !== (request.headers.authorization !== undefined))
      return false;
    return true;
  }
}

/**
 * Faults a test wants injected into one sandbox server. Rules are tried in the order they were
 * added; the first one that matches, is not exhausted and wins its probability draw applies.
 */
export class FaultPlan {
  private rules: MutableRule[] = [];
  private random: () => number;
  private readonly log: InjectedFault[] = [];

  /** `clock` is there so a test can move time through a window without waiting for it. */
  constructor(
    private seed = 1,
    private readonly clock: () => number = Date.now,
  ) {
    this.random = mulberry32(seed);
  }

  add(rule: FaultRule): ActiveFaultRule {
    const probability = rule.probability ?? 1;
    if (probability < 0 || probability > 1)
      throw new Error(`fault probability must be within 0..1, got ${probability}`);
    if (rule.status5xx !== undefined && (rule.status5xx < 500 || rule.status5xx > 599)) {
      throw new Error(`status5xx must be a 5xx status, got ${rule.status5xx}`);
    }
    if (rule.windowMs !== undefined && !(rule.windowMs > 0))
      throw new Error(`windowMs must be positive, got ${rule.windowMs}`);
    const added = new MutableRule(rule);
    this.rules.push(added);
    return added;
  }

  /** Removes every rule, forgets what was injected and restarts the random sequence. */
  clear(seed = this.seed): void {
    this.rules = [];
    this.log.length = 0;
    this.seed = seed;
    this.random = mulberry32(seed);
  }

  /** Every injection, in order. */
  get injected(): readonly InjectedFault[] {
    return this.log;
  }

  /** How many times each kind of fault was injected. */
  get counts(): Readonly<Record<FaultKind, number>> {
    const counts: Record<FaultKind, number> = {
      latency: 0,
      status429: 0,
      status5xx: 0,
      resetBeforeResponse: 0,
      resetMidBody: 0,
      slowBody: 0,
      truncatedJson: 0,
      neverAnswer: 0,
    };
    for (const entry of this.log) for (const kind of entry.kinds) counts[kind] += 1;
    return counts;
  }

  /** The rule to apply to `request`, if any; counts it as injected. */
  select(request: IncomingMessage): FaultRule | undefined {
    const now = this.clock();
    for (const candidate of this.rules) {
      if (candidate.exhaustedAt(now) || !candidate.matches(request)) continue;
      // Draw only for matching rules, so unrelated traffic does not shift a test's sequence.
      const probability = candidate.rule.probability ?? 1;
      if (probability < 1 && this.random() >= probability) continue;
      candidate.windowStart ??= now;
      candidate.injected += 1;
      this.log.push({
        kinds: kindsOf(candidate.rule),
        method: request.method ?? '',
        host: request.headers.host ?? '',
        path: pathOf(request),
        at: now,
      });
      return candidate.rule;
    }
    return undefined;
  }
}

function kindsOf(rule: FaultRule): FaultKind[] {
  const kinds: FaultKind[] = [];
  if (rule.latencyMs !== undefined) kinds.push('latency');
  if (rule.status429 !== undefined) kinds.push('status429');
  else if (rule.status5xx !== undefined) kinds.push('status5xx');
  else if (rule.resetBeforeResponse === true) kinds.push('resetBeforeResponse');
  else if (rule.resetMidBody === true) kinds.push('resetMidBody');
  else if (rule.neverAnswer === true) kinds.push('neverAnswer');
  else if (rule.truncatedJson === true) kinds.push('truncatedJson');
  else if (rule.slowBodyBytesPerSecond !== undefined) kinds.push('slowBody');
  return kinds;
}

/** Wraps a sandbox server's handler so `plan` can disturb its answers. */
export function withFaults(plan: FaultPlan, handler: RequestHandler): RequestHandler {
  return async (request, response) => {
    const rule = plan.select(request);
    if (rule === undefined) return handler(request, response);
    if (rule.latencyMs !== undefined) await delay(rule.latencyMs);
    if (rule.status429 !== undefined) return sendThrottled(response, rule.status429.retryAfterSeconds);
    if (rule.status5xx !== undefined) return sendServerError(response, rule.status5xx);
    if (rule.resetBeforeResponse === true) {
      request.socket.destroy();
      return;
    }
    // Nothing is written; the server's close() destroys the socket if the client never gives up.
    if (rule.neverAnswer === true) return;
    if (rule.truncatedJson === true) interceptWholeAnswer(response, truncateJsonAnswer);
    else if (rule.resetMidBody === true) interceptBody(response, resetAfterPartialBody);
    else if (rule.slowBodyBytesPerSecond !== undefined) {
      const rate = rule.slowBodyBytesPerSecond;
      interceptBody(response, (res, body, finish) => trickle(res, body, rate, finish));
    }
    return handler(request, response);
  };
}

function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

function sendThrottled(response: ServerResponse, retryAfterSeconds: number): void {
  // Key Vault's and ARM's throttling answers: 429, Retry-After in seconds, an `error` body.
  const body = JSON.stringify({
    error: {
      code: 'Throttled',
      message: 'Request was not processed because too many requests were received. Reason: Sandbox fault',
    },
  });
  response.writeHead(429, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'retry-after': String(retryAfterSeconds),
  });
  response.end(body);
}

const REASONS: Record<number, string> = {
  500: 'InternalServerError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

function sendServerError(response: ServerResponse, status: number): void {
  const code = REASONS[status] ?? 'ServerError';
  const body = JSON.stringify({
    error: { code, message: `The service is temporarily unavailable (sandbox fault ${status}).` },
  });
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

type BodySender = (response: ServerResponse, body: Buffer, finish: (chunk?: Buffer) => void) => void;

/**
 * Collects what the handler writes and hands the whole body to `send` when the handler ends the
 * response. Headers (including the real content-length) go out as the handler set them.
 */
function interceptBody(response: ServerResponse, send: BodySender): void {
  const chunks: Buffer[] = [];
  const realWrite = response.write.bind(response) as (chunk: Buffer) => boolean;
  const realEnd = response.end.bind(response) as (chunk?: Buffer) => ServerResponse;
  const collect = (chunk: unknown, encoding: unknown): void => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const bufferEncoding = typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8';
    chunks.push(
      typeof chunk === 'string' ? Buffer.from(chunk, bufferEncoding) : Buffer.from(chunk as Uint8Array),
    );
  };
  const collectingWrite = (chunk: unknown, encoding?: unknown): boolean => {
    collect(chunk, encoding);
    return true;
  };
  const collectingEnd = (chunk?: unknown, encoding?: unknown): ServerResponse => {
    collect(chunk, encoding);
    response.write = realWrite as ServerResponse['write'];
    send(response, Buffer.concat(chunks), (last) => realEnd(last));
    return response;
  };
  response.write = collectingWrite as ServerResponse['write'];
  response.end = collectingEnd as ServerResponse['end'];
}

interface HeldAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | number | readonly string[]>>;
  readonly body: Buffer;
}

/**
 * Holds back the status, headers and body the handler writes (writeHead fixes the headers at
 * once, so a rule that rewrites Content-Length has to catch it) and hands them to `rewrite`.
 */
function interceptWholeAnswer(response: ServerResponse, rewrite: (answer: HeldAnswer) => HeldAnswer): void {
  const realWriteHead = response.writeHead.bind(response) as (
    status: number,
    headers: Record<string, string | number | readonly string[]>,
  ) => ServerResponse;
  let status = 200;
  const headers: Record<string, string | number | readonly string[]> = {};
  response.writeHead = (code: number, ...rest: unknown[]) => {
    status = code;
    const given = rest.find((item) => typeof item === 'object' && item !== null);
    if (given !== undefined)
      for (const [name, value] of Object.entries(given as Record<string, string | number | string[]>))
        headers[name.toLowerCase()] = value;
    return response;
  };
  interceptBody(response, (res, body, finish) => {
    for (const name of res.getHeaderNames()) {
      const value = res.getHeader(name);
      if (value !== undefined && !(name in headers)) headers[name] = value;
    }
    const answer = rewrite({ status: res.statusCode === 200 ? status : res.statusCode, headers, body });
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    realWriteHead(answer.status, { ...answer.headers, 'content-length': answer.body.length });
    finish(answer.body);
  });
}

/** A 200 JSON object cut after its first member, as a proxy or a broken front end might deliver it. */
function truncateJsonAnswer(answer: HeldAnswer): HeldAnswer {
  if (answer.status !== 200) return answer;
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body.toString('utf8'));
  } catch {
    return answer;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return answer;
  const first = Object.entries(parsed)[0];
  if (first === undefined) return answer;
  const cut = `{${JSON.stringify(first[0])}:${JSON.stringify(first[1])},`;
  return { ...answer, body: Buffer.from(cut, 'utf8') };
}

function resetAfterPartialBody(response: ServerResponse, body: Buffer): void {
  // A declared length makes the truncation visible to any client; writeHead may have fixed the headers already.
  if (!response.headersSent && !response.hasHeader('content-length'))
    response.setHeader('content-length', body.length);
  // Half the body (at least one byte when there is one), flushed, then a hard close.
  const partial = body.subarray(0, Math.max(1, Math.floor(body.length / 2)));
  response.write(partial, () => response.socket?.destroy());
  if (body.length === 0) response.socket?.destroy();
}

function trickle(
  response: ServerResponse,
  body: Buffer,
  bytesPerSecond: number,
  finish: (chunk?: Buffer) => void,
): void {
  const ticksPerSecond = 10;
  const chunkSize = Math.max(1, Math.floor(bytesPerSecond / ticksPerSecond));
  let offset = 0;
  const timer = setInterval(() => {
    if (response.destroyed || response.socket === null) {
      clearInterval(timer);
      return;
    }
    const next = body.subarray(offset, offset + chunkSize);
    offset += next.length;
    if (offset >= body.length) {
      clearInterval(timer);
      finish(next);
    } else {
      response.write(next);
    }
  }, 1000 / ticksPerSecond);
  response.on('close', () => clearInterval(timer));
}
