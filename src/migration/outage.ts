import { DatabaseOutageError, databaseError, OutageGuard } from '../db/index.ts';
import { SdopsError } from '../errors.ts';
import { log } from './telemetry.ts';

/** A stop was requested while the session waited for the database. */
export class StoppedDuringOutageError extends SdopsError {
  constructor(cause: unknown) {
    super('stopped_during_outage', 'stopped while the database was unreachable', 'unavailable', { cause });
  }
}

/**
 * How a migration session rides out a database restart or outage (the guard in db/outage-guard.ts):
 * a statement that fails because the database is unreachable is not a failed batch; the session waits
 * and runs it again, for as long as the outage budget (SDOPS_MIGRATION_OUTAGE_BUDGET_MS) allows. Past
 * the budget it throws DatabaseOutageError and the session ends `failed` (resumable from its
 * checkpoint). One log line when an outage starts, one when it ends.
 */
export function migrationOutageGuard(budgetMs: number, runId: string): OutageGuard {
  return new OutageGuard(budgetMs, {
    unreachable: (error, said) =>
      log.warn(
        `${said}; the migration run waits for it`,
        { run_id: runId, budget_seconds: budgetMs / 1000 },
        error,
      ),
    // At the outage's level: a console that showed the one (a CLI's shows warnings only) shows the other.
    reachable: (seconds, said) =>
      log.warn(`${said}; the migration run continues`, { run_id: runId, duration: seconds }),
    exhausted: (budget, error) =>
      new DatabaseOutageError(budget, error, '; the run stopped here and resumes from its checkpoint'),
    interrupted: (error) => new StoppedDuringOutageError(error),
  });
}

/**
 * How `stop --wait` rides out a database restart while it waits for a run to be parked: its reads
 * are run again until the database answers, within the wait's own timeout; past it, the database's
 * error. One log line when the outage starts, one when it ends.
 */
export function stopWaitGuard(runId: string, timeoutMs: number): OutageGuard {
  return new OutageGuard(timeoutMs, {
    unreachable: (error, said) => log.warn(`${said}; the stop waits for it`, { run_id: runId }, error),
    reachable: (seconds, said) =>
      log.warn(`${said}; the stop goes on waiting`, { run_id: runId, duration: seconds }),
    // As the start-up wait says it (src/cli/startup-wait.ts): the database's own error.
    exhausted: (_budget, error) => databaseError(error) as Error,
    interrupted: (error) => error as Error,
  });
}
