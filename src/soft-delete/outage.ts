import { commandOutageGuard, type Database, guardedDatabase } from '../db/index.ts';
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
  return guardedDatabase(
    db,
    commandOutageGuard(budgetMs, log, {
      waits: 'the operation waits for it',
      continues: 'the operation continues',
      fields: { entity, operation },
    }),
  );
}
