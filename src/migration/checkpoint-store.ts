import type { Queryable } from '../db/index.ts';
import { CheckpointMovedError } from './errors.ts';
import type { BatchRecord, BatchStatus } from './types.ts';

/** Per-batch writes: each runs inside the batch's own transaction, after the lease was proven. */

/** A batch as the runner records it; the store stamps run id and timestamps. */
export type BatchOutcome = Omit<BatchRecord, 'runId' | 'createdAt' | 'updatedAt'>;

/**
 * Records a batch and moves the checkpoint past it, in the caller's (the batch's) transaction. The
 * checkpoint must be where the batch started: with synchronous_commit off, a crash can lose a commit
 * the session was told of, and the session, past it in memory, would skip its range and reuse its
 * batch number (CheckpointMovedError ends the session; a resume starts from the stored checkpoint).
 */
export async function checkpointBatch(q: Queryable, runId: string, b: BatchOutcome): Promise<void> {
  const ok = b.status === 'succeeded';
  const moved = await q.query(
    `UPDATE sdops_migration_runs
        SET cursor_entity = $2, cursor_key = $3,
            rows_processed = rows_processed + $4, rows_failed = rows_failed + $5,
            batches_done = batches_done + $6, batches_failed = batches_failed + $7,
            last_error = COALESCE($8, last_error), updated_at = now()
      WHERE run_id = $1 AND cursor_entity = $2 AND cursor_key IS NOT DISTINCT FROM $9`,
    [runId, b.entity, b.keyTo, ok ? b.rows : 0, ok ? 0 : b.rows, ok ? 1 : 0, ok ? 0 : 1, b.error, b.keyFrom],
  );
  if (moved.rowCount === 0) throw new CheckpointMovedError(runId, b.entity, b.keyFrom);
  await q.query(
    `INSERT INTO sdops_migration_batches (run_id, batch_no, entity, key_from, key_to, status, rows, attempts,
       duration_ms, error, session)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      runId,
      b.batchNo,
      b.entity,
      b.keyFrom,
      b.keyTo,
      b.status,
      b.rows,
      b.attempts,
      b.durationMs,
      b.error,
      b.session,
    ],
  );
}

/** Moves the checkpoint to the start of the next entity, or marks the scan complete. */
export async function advanceEntity(q: Queryable, runId: string, next: string | null): Promise<void> {
  await q.query(
    `UPDATE sdops_migration_runs
        SET cursor_entity = COALESCE($2, cursor_entity), cursor_key = CASE WHEN $2::text IS NULL THEN cursor_key END,
            scan_complete = ($2::text IS NULL), updated_at = now()
      WHERE run_id = $1`,
    [runId, next],
  );
}

/** A failed batch reprocessed by retry-failed: flips it to succeeded and moves its rows across. */
export async function markBatchRetried(
  q: Queryable,
  runId: string,
  batch: BatchRecord,
  outcome: { status: BatchStatus; rows: number; attempts: number; durationMs: number; error: string | null },
): Promise<void> {
  await q.query(
    `UPDATE sdops_migration_batches
        SET status = $3, rows = CASE WHEN $3 = 'succeeded' THEN $4 ELSE rows END, attempts = attempts + $5,
            duration_ms = $6, error = $7, updated_at = now()
      WHERE run_id = $1 AND batch_no = $2`,
    [runId, batch.batchNo, outcome.status, outcome.rows, outcome.attempts, outcome.durationMs, outcome.error],
  );
  if (outcome.status === 'succeeded') {
    await q.query(
      `UPDATE sdops_migration_runs
          SET rows_processed = rows_processed + $2, rows_failed = GREATEST(0, rows_failed - $3),
              batches_done = batches_done + 1, batches_failed = batches_failed - 1, updated_at = now()
        WHERE run_id = $1`,
      [runId, outcome.rows, batch.rows],
    );
  } else {
    await q.query('UPDATE sdops_migration_runs SET last_error = $2, updated_at = now() WHERE run_id = $1', [
      runId,
      outcome.error,
    ]);
  }
}
