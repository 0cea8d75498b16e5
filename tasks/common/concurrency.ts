/**
 * Runs async jobs with at most `limit` in flight. Written here rather than taken from p-limit,
 * whose current releases are ESM-only and would not load in the CommonJS output our L0 tests run.
 *
 * The limit adapts when asked to: `throttled()` halves it (at most once per `coolDownMs`, since one
 * throttled window answers every request in flight with 429) and every `limit` successes in a row
 * raise it by one, back up to the ceiling it started with.
 */
export class ConcurrencyLimit {
  private active = 0;
  private current: number;
  private successesInARow = 0;
  private lastDrop = Number.NEGATIVE_INFINITY;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly ceiling: number,
    private readonly options: { coolDownMs: number; now: () => number } = { coolDownMs: 1000, now: Date.now },
  ) {
    if (!Number.isInteger(ceiling) || ceiling < 1)
      throw new RangeError(`concurrency limit must be a positive integer, got ${ceiling}`);
    this.current = ceiling;
  }

  /** How many jobs may run at once now. */
  get limit(): number {
    return this.current;
  }

  throttled(): void {
    const now = this.options.now();
    this.successesInARow = 0;
    if (now - this.lastDrop < this.options.coolDownMs) return;
    this.lastDrop = now;
    this.current = Math.max(1, Math.floor(this.current / 2));
  }

  succeeded(): void {
    if (this.current >= this.ceiling) return;
    if (++this.successesInARow >= this.current) {
      this.successesInARow = 0;
      this.current++;
      this.startWaiting();
    }
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.active < this.current) this.active++;
    // A released waiter's slot was counted by whoever released it.
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await job();
    } finally {
      this.active--;
      this.startWaiting();
    }
  }

  private startWaiting(): void {
    while (this.waiting.length > 0 && this.active < this.current) {
      this.active++;
      this.waiting.shift()?.();
    }
  }
}
