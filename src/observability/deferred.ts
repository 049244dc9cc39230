/**
 * Telemetry work that need not happen on the caller's path: handing a finished log record to winston,
 * recording metric points and ending a withSpan span. Everything such work needs (the record, its
 * trace ids and context, the measured values, the end time) is captured by the caller; the work
 * itself runs in the event loop's next check phase, which for an operation awaiting the database is
 * time the process would spend idle. Tasks run in the order they were deferred. forceFlush/shutdown
 * (telemetry.ts), a logging reconfiguration (logger.ts) and process exit drain first, so nothing
 * deferred is lost.
 */

/** Past this many waiting tasks (a synchronous loop that never yields), run them inline. */
export const MAX_PENDING = 4096;

const pending: Array<() => void> = [];
let scheduled = false;

/** Runs every waiting task now, in order, including tasks they defer themselves. Never throws. */
export function drainDeferred(): void {
  scheduled = false;
  for (let i = 0; i < pending.length; i++) {
    try {
      pending[i]?.();
    } catch {
      // A task is telemetry: its failure must not stop the others (each task guards itself too).
    }
  }
  pending.length = 0;
}

export function defer(task: () => void): void {
  pending.push(task);
  if (pending.length >= MAX_PENDING) drainDeferred();
  else if (!scheduled) {
    scheduled = true;
    setImmediate(drainDeferred);
  }
}

// First among 'exit' listeners: the console's batching stream writes what this hands it after.
process.prependListener('exit', drainDeferred);
