/**
 * How far a session may fall behind its rate and still catch up at full speed: after a database
 * outage or a run of slow batches it owes at most this much, instead of making up every second it
 * lost in one burst right as the database comes back.
 */
const CATCH_UP_MS = 1000;

/**
 * Waiting inside a session: the throttle between batches (which a stop request cuts short) and the
 * backoff between retries of a batch (which it does not: the batch in flight finishes first).
 */
export class Pacer {
  private wake: (() => void) | undefined;
  /** The time by which the rows done so far have been paid for at the rate. */
  private paidUntil: number;
  private rowsPaid = 0;

  private readonly maxRowsPerSecond: number | null;
  private readonly now: () => number;

  constructor(maxRowsPerSecond: number | null, now: () => number = () => performance.now()) {
    this.maxRowsPerSecond = maxRowsPerSecond;
    this.now = now;
    this.paidUntil = now();
  }

  /** Ends a throttle wait now, so a stop request does not wait out the throttle. */
  interrupt(): void {
    this.wake?.();
  }

  /**
   * How long to wait after the session's rows reached `sessionRows` to stay at or under max rows per
   * second: each row costs 1/rate s of a clock that never lags now by more than CATCH_UP_MS.
   */
  delayMs(sessionRows: number): number {
    const rate = this.maxRowsPerSecond;
    const rows = sessionRows - this.rowsPaid;
    if (!rate || rows <= 0) return 0;
    this.rowsPaid = sessionRows;
    const now = this.now();
    this.paidUntil = Math.max(this.paidUntil, now - CATCH_UP_MS) + (rows / rate) * 1000;
    return Math.max(0, this.paidUntil - now);
  }

  async throttle(sessionRows: number): Promise<void> {
    const due = this.delayMs(sessionRows);
    if (due > 0) await this.sleep(due, true);
  }

  /** Backoff before the next attempt of a batch. */
  backoff(ms: number): Promise<void> {
    return this.sleep(ms, false);
  }

  private sleep(ms: number, interruptible: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      if (interruptible) this.wake = done;
    }).finally(() => {
      this.wake = undefined;
    });
  }
}
