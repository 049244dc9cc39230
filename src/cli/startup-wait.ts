import { databaseError, OutageGuard } from '../db/index.ts';
import { getLogger } from '../observability/index.ts';
import { waitingForDatabase } from './stop-signals.ts';

const log = getLogger('db');

/**
 * Runs a command's first statements (the schema check) riding out a database that is restarting or
 * not up yet, for up to `budgetMs`: a process started during a restart, a deploy or a failover
 * comes up once the database does, instead of exiting (and, under an orchestrator, backing off).
 * One warning when the wait starts, one when it ends; past the budget the unreachable database is
 * the error, as without the wait. Anything else (a refused password, a bad schema) fails at once.
 */
export async function reachingDatabase<T>(budgetMs: number, fn: () => Promise<T>): Promise<T> {
  if (budgetMs <= 0) return fn();
  const guard = new OutageGuard(budgetMs, {
    unreachable: (error, said) => {
      // Nothing runs while it waits: a Ctrl-C gets a line saying so (stop-signals.ts).
      waitingForDatabase(true);
      log.warn(`${said} at start; waiting for it`, { budget_seconds: budgetMs / 1000 }, databaseError(error));
    },
    // At the wait's level: a one-shot console (warnings only) shows both ends of it.
    reachable: (seconds, said) => {
      waitingForDatabase(false);
      log.warn(`${said}; starting`, { duration: seconds });
    },
    exhausted: (_budget, error) => databaseError(error) as Error,
    interrupted: (error) => error as Error,
  });
  try {
    return await guard.run(fn);
  } finally {
    waitingForDatabase(false);
  }
}
