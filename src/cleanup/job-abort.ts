/**
 * Why a running job must stop (its lease ran out, or the worker hands it back at shutdown), told to
 * the worker through one callback and to the handler through an AbortSignal. The AbortController
 * behind the signal is made only when a handler reads `signal`: creating one and adding and removing
 * its listener is a per-job cost (docs/performance.md), and most handlers (every no-op, every
 * single-batch purge) never look at it.
 */
export class JobAbort {
  private controller: AbortController | undefined;
  private reasonValue: unknown;
  private abortedFlag = false;
  private listener: ((reason: unknown) => void) | undefined;
  /**
   * Settles once the job's handler itself has stopped (runAttempt sets it). An attempt handed back at
   * shutdown settles at once, while its handler may still be in a batch it cannot leave.
   */
  handlerSettled: Promise<void> = Promise.resolve();

  /** The one listener (the worker's deadline race): called on abort, at once if already aborted. */
  onAbort(listener: ((reason: unknown) => void) | undefined): void {
    this.listener = listener;
    if (listener && this.abortedFlag) listener(this.reasonValue);
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortedFlag) this.controller.abort(this.reasonValue);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.abortedFlag) return;
    this.abortedFlag = true;
    this.reasonValue = reason;
    this.controller?.abort(reason);
    this.listener?.(reason);
  }
}
