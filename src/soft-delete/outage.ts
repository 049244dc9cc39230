import { type Database, DatabaseOutageError, guardedDatabase, OutageGuard } from '../db/index.ts';
import { getLogger } from '../observability/index.ts';
import type { OperationName } from './types.ts';

const log = getLogger('soft-delete');

/**
 * The database an operation runs on when it may wait out an outage (a CLI command: nobody else
 * retries it): each statement and batch goes through a guard of its own, so the wait is counted per
 * operation. One warning when the outage starts, one when it ends.
 */
export function outageTolerant(
  db: Database,
  budgetMs: number,
  entity: string,
  operation: OperationName,
): Database {
  if (budgetMs <= 0) return db;
  const fields = { entity, operation };
  return guardedDatabase(
    db,
    new OutageGuard(budgetMs, {
      unreachable: (error, said) =>
        log.warn(
          `${said}; the operation waits for it`,
          { ...fields, budget_seconds: budgetMs / 1000 },
          error,
        ),
      // At the outage's level: a console that showed the one (a CLI's shows warnings only) shows the other.
      reachable: (seconds, said) =>
        log.warn(`${said}; the operation continues`, { ...fields, duration: seconds }),
      exhausted: (budget, error) => new DatabaseOutageError(budget, error),
      // Nothing interrupts an operation's guard: a CLI command ends with its process.
      interrupted: (error) => error as Error,
    }),
  );
}
