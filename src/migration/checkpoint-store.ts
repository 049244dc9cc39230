import type { Queryable } from '../db/index.ts';
import { CheckpointMovedError, LeaseLostError } from './errors.ts';
import type { BatchRecord, BatchStatus } from './types.ts';

/**
 * Per-batch writes: each runs inside the batch's own transaction, after the lease was proven, and
 * each run-row write is fenced by the owner: the lease may have gone to another runner (or been
 * parked by a stop) while the batch ran, and its work must then roll back (LeaseLostError).
 */

/** Zero rows from an owner-fenced write: the lease is gone, or (checkpointBatch) the checkpoint moved. */
async function leaseHeld(q: Queryable, runId: string, owner: string): Promise<boolean> {
  const { rows } = await q.query('SELECT 1 FROM sdops_migration_runs WHERE run_id = $1 AND owner = $2', [
    runId,
    owner,
  ]);
  return rows.length > 0;
}

/** A batch as the runner records it; the store stamps run id and timestamps. */
export type BatchOutcome = Omit<BatchRecord, 'runId' | 'createdAt' | 'updatedAt'>;

/**
 * Records a batch and moves the checkpoint past it, in the caller's (the batch's) transaction. The
 * checkpoint must be where the batch started: with synchronous_commit off, a crash can lose a commit
 * the session was told of, and the session, past it in memory, would skip its range and reuse its
 * batch number (CheckpointMovedError ends the session; a resume starts from the stored checkpoint).
 */
export async function checkpointBatch(
  q: Queryable,
  runId: string,
  owner: string,
  b: BatchOutcome,
): Promise<void> {
  const ok = b.status === 'succeeded';
  const moved = await q.query(
    `UPDATE sdops_migration_runs
        SET cursor_entity = $2, cursor_key = $3,
            rows_processed = rows_processed + $4, rows_failed = rows_failed + $5,
            batches_done = batches_done + $6, batches_failed = batches_failed + $7,
            last_error = COALESCE($8, last_error), updated_at = now()
      WHERE run_id = $1 AND cursor_entity = $2 AND cursor_key IS NOT DISTINCT FROM $9 AND owner = $10`,
    [
      runId,
      b.entity,
      b.keyTo,
      ok ? b.rows : 0,
      ok ? 0 : b.rows,
      ok ? 1 : 0,
      ok ? 0 : 1,
      b.error,
      b.keyFrom,
      owner,
    ],
  );
  if (moved.rowCount === 0) {
    if (!(await leaseHeld(q, runId, owner))) throw new LeaseLostError(runId);
    throw new CheckpointMovedError(runId, b.entity, b.keyFrom);
  }
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
export async function advanceEntity(
  q: Queryable,
  runId: string,
  owner: string,
  next: string | null,
): Promise<void> {
  const moved = await q.query(
    `UPDATE sdops_migration_runs
        SET cursor_entity = COALESCE($2, cursor_entity), cursor_key = CASE WHEN $2::text IS NULL THEN cursor_key END,
            scan_complete = ($2::text IS NULL), updated_at = now()
      WHERE run_id = $1 AND owner = $3`,
    [runId, next, owner],
  );
  if (moved.rowCount === 0) throw new LeaseLostError(runId);
}

/** A failed batch reprocessed by retry-failed: flips it to succeeded and moves its rows across. */
export async function markBatchRetried(
  q: Queryable,
  runId: string,
  owner: string,
  batch: BatchRecord,
  outcome: { status: BatchStatus; rows: number; attempts: number; durationMs: number; error: string | null },
): Promise<void> {
  // The run row first: it fences the batch's record by the owner too.
  const run = await q.query(
    `UPDATE sdops_migration_runs
        SET rows_processed = rows_processed + CASE WHEN $3 = 'succeeded' THEN $4::bigint ELSE 0 END,
            rows_failed = CASE WHEN $3 = 'succeeded' THEN GREATEST(0, rows_failed - $5) ELSE rows_failed END,
            batches_done = batches_done + CASE WHEN $3 = 'succeeded' THEN 1 ELSE 0 END,
            batches_failed = batches_failed - CASE WHEN $3 = 'succeeded' THEN 1 ELSE 0 END,
            last_error = CASE WHEN $3 = 'succeeded' THEN last_error ELSE $6 END, updated_at = now()
      WHERE run_id = $1 AND owner = $2`,
    [runId, owner, outcome.status, outcome.rows, batch.rows, outcome.error],
  );
  if (run.rowCount === 0) throw new LeaseLostError(runId);
  await q.query(
    `UPDATE sdops_migration_batches
        SET status = $3, rows = CASE WHEN $3 = 'succeeded' THEN $4 ELSE rows END, attempts = attempts + $5,
            duration_ms = $6, error = $7, updated_at = now()
      WHERE run_id = $1 AND batch_no = $2`,
    [runId, batch.batchNo, outcome.status, outcome.rows, outcome.attempts, outcome.durationMs, outcome.error],
  );
}
