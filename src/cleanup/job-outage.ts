import { OutageGuard } from '../db/index.ts';
import type { JobContext } from './handlers-types.ts';

/**
 * How a job rides out a database restart or outage: its statements and batches wait for the
 * database and run again (each batch is its own transaction, and a batch run again finds its receipt
 * or changes no row twice), instead of failing the attempt and spending one of the job's retries, or
 * leaving it dead after a few restarts with its work half done.
 *
 * The wait has no budget of its own: the attempt's lease ends it. The worker aborts the job's signal
 * when the lease runs out or when it hands the job back at shutdown, and the wait then ends at once
 * with that reason, so the attempt is recorded failed (lease) or handed back (shutdown) as it would
 * have been without the outage. A wait can therefore never run on beside the attempt that replaces
 * it.
 */
export function jobOutageGuard(ctx: Pick<JobContext, 'signal' | 'log'>): OutageGuard {
  const { signal, log } = ctx;
  const guard = new OutageGuard(Number.POSITIVE_INFINITY, {
    unreachable: (error, said) =>
      log.warn(`${said}; the job waits for it, unless its heartbeat or lease runs out first`, {}, error),
    // At the outage's level, so a console that showed the one shows the other.
    reachable: (seconds, said) => log.warn(`${said}; the job continues`, { duration: seconds }),
    exhausted: (_budget, error) => error as Error,
    interrupted: (error) => (signal.aborted ? (signal.reason as Error) : (error as Error)),
  });
  if (signal.aborted) guard.interrupt();
  else signal.addEventListener('abort', () => guard.interrupt(), { once: true });
  return guard;
}
