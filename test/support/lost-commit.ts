import type { Database } from '../../src/db/index.ts';

/**
 * A database whose chosen transactions (`lose(n)` for the n-th, from 1) commit and then fail as a
 * dropped connection does: the COMMIT landed, its answer was lost (a restart at that moment). The
 * caller cannot tell it from a transaction that never committed.
 */
export function losingCommitReplies(
  db: Database,
  lose: (transaction: number) => boolean,
): Database & { lost: () => number } {
  let transactions = 0;
  let lost = 0;
  return {
    ...db,
    async transaction(fn) {
      const result = await db.transaction(fn);
      if (lose(++transactions)) {
        lost++;
        throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
      }
      return result;
    },
    lost: () => lost,
  };
}
