import type { Database } from '../db/index.ts';
import type { Logger } from '../observability/index.ts';
import { doneWithin } from '../timing.ts';
import { WorkerShutdownError } from './errors.ts';
import type { JobAbort } from './job-abort.ts';

/** How long a stop waits, past its timeout, for handed-back jobs to be recorded failed. */
const HANDBACK_RECORD_MS = 2000;
/**
 * How long a stop waits, after the hand-back, for the handlers of handed-back jobs to leave their
 * batch in flight (they stop at the next batch boundary, or when their statement is cancelled)...
 */
const HANDED_BACK_SETTLE_MS = 5000;
/**
 * ...and after giving up on recording the hand-backs: the attempts then log that their jobs run again
 * when their lease ends, before the worker says it stopped. A handler stuck on a database that stopped
 * answering is not waited for: its statement ends when the pool closes.
 */
const GIVEN_UP_SETTLE_MS = 1000;

/** What a stopping worker hands back: the attempts still running at its shutdown timeout. */
export interface RunningAtTimeout {
  readonly handed: readonly JobAbort[];
  /** Settles when the fetch loop and every running attempt have ended. */
  readonly all: Promise<unknown>;
  /** Attempts not ended yet. */
  readonly running: () => number;
  /** Aborted once the stop no longer waits for outcomes to be recorded (AttemptDeps.recording). */
  readonly recording: AbortController;
  readonly db: Database;
  readonly log: Logger;
}

/**
 * Hands back the jobs a stop did not see finish in time (they go back to the queue without spending
 * a retry, for another worker), cancels their statements and waits briefly for their handlers.
 * Returns how many statements it cancelled and how many outcomes the database did not take in time.
 */
export async function handBackRunning(
  at: RunningAtTimeout,
): Promise<{ cancelled: number; unrecorded: number }> {
  const { handed, all, log } = at;
  let cancelled = 0;
  let unrecorded = 0;
  // Each handed-back attempt settles at once (back to the queue, no retry spent)...
  for (const abort of handed) abort.abort(new WorkerShutdownError());
  const handlers = Promise.all(handed.map((abort) => abort.handlerSettled));
  // ...and is recorded handed back, which waits for an unreachable database up to the job's lease
  // (15 minutes by default): a stop must not. What is not recorded by then runs again once its
  // lease ends, as after a crash.
  if (!(await doneWithin(all, HANDBACK_RECORD_MS))) {
    unrecorded = at.running();
    log.warn(
      'the database did not take the outcome of every handed-back job in time; those run again when their lease ends',
      { jobs: unrecorded },
    );
    // The attempts stop retrying and say so, before this stop says it is done.
    at.recording.abort();
    await doneWithin(Promise.all([all, handlers]), GIVEN_UP_SETTLE_MS);
  }
  // ...but a statement of its handler may still be running: an abort cannot reach a statement
  // waiting on a lock. Cancelling it rolls its transaction back now, so the job's locks and
  // half-done work do not outlive the shutdown timeout, and the pool can close. Not while
  // outcomes are still being written: the cancel would reach those writes too (and a database
  // that did not take them in 2 s has nothing running to cancel).
  if (unrecorded === 0) {
    cancelled = await at.db.cancelRunning().catch((error: unknown) => {
      log.warn('could not cancel the statements of handed-back jobs', {}, error);
      return 0;
    });
  }
  // ...and the queue then closes the database: on the embedded one, under a handler still in its
  // batch ("PGlite is closed", a failed operation logged after the worker said it had stopped).
  // The batch rolls back either way; waiting lets it end as a stop between batches does.
  if (unrecorded === 0 && !(await doneWithin(handlers, HANDED_BACK_SETTLE_MS))) {
    log.warn('a handed-back job did not leave its batch in flight in time; the batch rolls back', {
      jobs: handed.length,
    });
  }
  return { cancelled, unrecorded };
}
