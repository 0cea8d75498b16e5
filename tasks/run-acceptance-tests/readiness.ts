import { setTimeout as delay } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { describeRequestError, send } from './httpClient';

/** One readiness probe: `ready`, or what it got instead (`HTTP 503`, `ECONNREFUSED (…)`). */
export type ProbeOutcome =
  { readonly ready: true; readonly status: number } | { readonly ready: false; readonly got: string };

/** Probes once within `timeoutMs`. */
export type Probe = (timeoutMs: number) => Promise<ProbeOutcome>;

export interface ReadinessOptions {
  readonly timeoutMs: number;
  /** The longest a single probe may take (the `requestTimeout` input). */
  readonly probeTimeoutMs: number;
  readonly intervalMs?: number;
  /** At most one progress report per this many milliseconds. */
  readonly progressEveryMs?: number;
  readonly onProgress?: (progress: ReadinessProgress) => void;
  readonly now?: () => number;
  readonly sleep?: (milliseconds: number) => Promise<void>;
}

export interface ReadinessProgress {
  readonly elapsedMs: number;
  readonly probes: number;
  /** What the latest probe got. */
  readonly got: string;
}

export interface ReadinessResult {
  readonly ready: boolean;
  readonly probes: number;
  readonly elapsedMs: number;
  /** The last probe's outcome: `HTTP 200` when ready, else what it got. */
  readonly last: string;
}

/** Probes until one answers 2xx or `timeoutMs` has passed; a timeout of 0 probes once. */
export async function waitForReadiness(probe: Probe, options: ReadinessOptions): Promise<ReadinessResult> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((milliseconds: number) => delay(milliseconds));
  const intervalMs = options.intervalMs ?? 2000;
  const progressEveryMs = options.progressEveryMs ?? 5000;
  const started = now();
  let reportedAt = started;
  let probes = 0;
  for (;;) {
    const remainingMs = options.timeoutMs - (now() - started);
    probes++;
    // A probe never outlasts the wait, so the wait ends on time however slow the target is; a wait of 0
    // means one probe, which gets the whole request timeout (1 ms would fail against any real server).
    const outcome = await probe(
      options.timeoutMs === 0
        ? options.probeTimeoutMs
        : Math.max(1, Math.min(options.probeTimeoutMs, remainingMs)),
    );
    const elapsedMs = now() - started;
    if (outcome.ready) return { ready: true, probes, elapsedMs, last: `HTTP ${outcome.status}` };
    if (elapsedMs >= options.timeoutMs) return { ready: false, probes, elapsedMs, last: outcome.got };
    if (now() - reportedAt >= progressEveryMs) {
      options.onProgress?.({ elapsedMs, probes, got: outcome.got });
      reportedAt = now();
    }
    await sleep(Math.min(intervalMs, options.timeoutMs - elapsedMs));
    // The deadline came while waiting: a probe now would only have a moment to answer.
    if (now() - started >= options.timeoutMs) {
      return { ready: false, probes, elapsedMs: now() - started, last: outcome.got };
    }
  }
}

/** A probe that GETs `url`; any 2xx is ready. */
export function httpProbe(
  url: string,
  headers: Readonly<Record<string, string>>,
  dispatcher: Dispatcher | undefined,
): Probe {
  return async (timeoutMs) => {
    try {
      const response = await send({ url, method: 'GET', headers, body: undefined, timeoutMs, dispatcher });
      return response.status >= 200 && response.status < 300
        ? { ready: true, status: response.status }
        : { ready: false, got: `HTTP ${response.status}` };
    } catch (error: unknown) {
      return { ready: false, got: describeRequestError(error, timeoutMs) };
    }
  };
}
