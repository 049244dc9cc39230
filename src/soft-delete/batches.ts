import { type Database, sqlState, type TransactionClient } from '../db/index.ts';
import { getLogger, withSpan } from '../observability/index.ts';
import type { OperationContext } from './operation-telemetry.ts';
import type { OperationProgressListener } from './types.ts';

/**
 * The batches of a call that batches (bulk, purge, archive): one transaction each, run again when
 * PostgreSQL picks it as a deadlock victim, with a soft_delete.batch span, and the progress a
 * listener hears after each. runOperation (operation-telemetry.ts) is the call around them.
 */

const log = getLogger('soft-delete');

export interface BatchInfo {
  /** Target rows in this batch (ids), or the most it may claim (purge/archive candidates). */
  readonly size: number;
}

/** Tells the batch span how many rows a batch that claims its own rows really got. */
export type ClaimedRows = (size: number) => void;

/** PostgreSQL chose this batch's transaction as a deadlock victim and rolled it back (40P01). */
const DEADLOCK_DETECTED = '40P01';
const DEADLOCK_ATTEMPTS = 5;

/**
 * Runs fn's transaction, again when PostgreSQL ends it as a deadlock victim: writers of one cascade
 * from different ends (a bulk delete of orders, which takes their items, beside one of order_items)
 * lock the same rows in different orders, and no one order serves both. The victim's transaction
 * was rolled back whole, so running the batch again changes nothing twice; the other one goes on.
 */
async function transactionRidingOutDeadlocks<T>(
  db: Database,
  op: OperationContext,
  fn: (tx: TransactionClient) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(fn);
    } catch (error) {
      if (sqlState(error) !== DEADLOCK_DETECTED || attempt >= DEADLOCK_ATTEMPTS) throw error;
      log.info('batch ended by a deadlock with another writer; running it again', {
        entity: op.entity,
        operation: op.operation,
        attempt,
      });
      // A random pause, so the two writers do not meet at the same rows again at once.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 50 * attempt));
    }
  }
}

/**
 * Runs one batch in its own transaction; counted in op.batches once committed. A single-row call
 * has no batch span of its own: its operation span already is the one unit of work.
 */
export async function runBatch<T>(
  db: Database,
  op: OperationContext,
  info: BatchInfo,
  fn: (tx: TransactionClient, claimed: ClaimedRows) => Promise<T>,
): Promise<T> {
  const commit = async (claimed: ClaimedRows) => {
    const result = await transactionRidingOutDeadlocks(db, op, (tx) => fn(tx, claimed));
    op.batches += 1;
    return result;
  };
  if (op.targetKind === 'id') return commit(() => {});
  return withSpan(
    'soft_delete.batch',
    {
      entity: op.entity,
      operation: op.operation,
      'batch.size': info.size,
      ...(op.telemetryRunId === undefined ? {} : { run_id: op.telemetryRunId }),
    },
    async (span) => {
      const result = await commit((size) => span.setAttributes({ 'batch.size': size }));
      // Committed; a batch that throws ends as `failure` (withSpan), its transaction rolled back.
      span.setAttributes({ status: 'success' });
      return result;
    },
  );
}

export function reportProgress(
  listener: OperationProgressListener | undefined,
  op: OperationContext,
  processed: number,
  total: number | undefined,
): void {
  if (!listener) return;
  const done = op.committed?.();
  const cascaded = done?.cascaded;
  listener({
    entity: op.entity,
    operation: op.operation,
    processed,
    ...(total === undefined ? {} : { total }),
    batch: op.batches,
    ...(done === undefined ? {} : { changed: done.counts.success }),
    ...(cascaded === undefined || Object.keys(cascaded).length === 0 ? {} : { cascaded }),
    ...(done?.opId === undefined ? {} : { opId: done.opId }),
  });
}
