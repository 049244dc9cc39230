/**
 * Waiting inside a session: the throttle between batches (which a stop request cuts short) and the
 * backoff between retries of a batch (which it does not: the batch in flight finishes first).
 */
export class Pacer {
  private wake: (() => void) | undefined;
  private readonly started = performance.now();

  private readonly maxRowsPerSecond: number | null;

  constructor(maxRowsPerSecond: number | null) {
    this.maxRowsPerSecond = maxRowsPerSecond;
  }

  /** Ends a throttle wait now, so a stop request does not wait out the throttle. */
  interrupt(): void {
    this.wake?.();
  }

  /** Keeps the session at or under max rows per second (averaged over the session). */
  async throttle(sessionRows: number): Promise<void> {
    const rate = this.maxRowsPerSecond;
    if (!rate || sessionRows === 0) return;
    const due = (sessionRows / rate) * 1000 - (performance.now() - this.started);
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
