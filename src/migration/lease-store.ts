import type { Queryable } from '../db/index.ts';
import { RUN_COLUMNS, toRun } from './store-rows.ts';
import type { RunRecord, RunState } from './types.ts';

/**
 * Who may work on a run: taking, proving, giving up and revoking the lease. Liveness is judged by the
 * database clock (now()), never by the caller's, so runners on skewed hosts agree.
 */

/** Settings a new session may change for itself and later ones; undefined keeps the run's. */
export interface SessionChanges {
  /** The throttle (null lifts it). */
  readonly maxRowsPerSecond?: number | null;
  readonly batchSize?: number;
}

/**
 * Takes the lease for a new session if the run is in one of `from` states and nobody live holds it.
 * A concurrent taker blocks on the row lock and then re-checks the condition, so exactly one wins.
 */
export async function acquireLease(
  q: Queryable,
  runId: string,
  owner: string,
  leaseTimeoutMs: number,
  from: readonly RunState[],
  changes: SessionChanges = {},
): Promise<RunRecord | undefined> {
  const { maxRowsPerSecond, batchSize } = changes;
  const { rows } = await q.query(
    `UPDATE sdops_migration_runs
        SET owner = $2, heartbeat_at = now(), lease_timeout_ms = $3, state = 'running',
            sessions = sessions + 1, session_started_at = now(), session_start_rows = rows_processed,
            max_rows_per_second = CASE WHEN $5 THEN $6::double precision ELSE max_rows_per_second END,
            batch_size = COALESCE($7::int, batch_size),
            finished_at = NULL, updated_at = now()
      WHERE run_id = $1 AND state = ANY($4::text[])
        AND (owner IS NULL OR heartbeat_at < now() - lease_timeout_ms * interval '1 millisecond')
      RETURNING ${RUN_COLUMNS}`,
    [
      runId,
      owner,
      leaseTimeoutMs,
      [...from],
      maxRowsPerSecond !== undefined,
      maxRowsPerSecond ?? null,
      batchSize ?? null,
    ],
  );
  return rows[0] ? toRun(rows[0]) : undefined;
}

/**
 * First statement of every batch transaction: proves we still own the lease and reads the state (to
 * see `stopping`). A KEY SHARE lock keeps the row from going away and blocks neither the heartbeat
 * nor a takeover or a stop: the batch's own run-row writes carry `AND owner = $me`, so a batch that
 * outlived its lease fails there and rolls back. An UPDATE here held the row until COMMIT: the
 * heartbeat of a batch slower than the lease timeout queued behind it (and its now() was the
 * batch's start), so a live runner read as stale and `resume` took the run from it; and a frozen
 * runner's open batch made `resume` and `stop` hang on the row.
 */
export async function claimBatch(q: Queryable, runId: string, owner: string): Promise<RunState | undefined> {
  const { rows } = await q.query<{ state: RunState }>(
    `SELECT state FROM sdops_migration_runs WHERE run_id = $1 AND owner = $2 FOR KEY SHARE`,
    [runId, owner],
  );
  return rows[0]?.state;
}

/** The heartbeat, on its own connection and outside any batch: refreshes the lease, returns the state. */
export async function heartbeat(q: Queryable, runId: string, owner: string): Promise<RunState | undefined> {
  const { rows } = await q.query<{ state: RunState }>(
    `UPDATE sdops_migration_runs SET heartbeat_at = now()
      WHERE run_id = $1 AND owner = $2 RETURNING state`,
    [runId, owner],
  );
  return rows[0]?.state;
}

/**
 * Ends a session: sets the state and gives the lease up (only if we still hold it). A run that ends
 * succeeded drops its last error: whatever failed before has been repaired (the batch records keep
 * their own history). So does a run parked stopped with no failed batch left (a retry-failed that
 * repaired them all before the scan was done): the error was about those batches, not about it now.
 */
export async function releaseRun(
  q: Queryable,
  runId: string,
  owner: string,
  state: RunState,
  error: string | null = null,
): Promise<RunRecord | undefined> {
  const terminal = state === 'succeeded' || state === 'failed' || state === 'partially_failed';
  const { rows } = await q.query(
    `UPDATE sdops_migration_runs
        SET state = $3, owner = NULL, heartbeat_at = NULL,
            last_error = CASE WHEN $3 = 'succeeded' OR ($3 = 'stopped' AND $4::text IS NULL AND batches_failed = 0)
                              THEN NULL ELSE COALESCE($4, last_error) END,
            finished_at = CASE WHEN $5 THEN now() END, updated_at = now()
      WHERE run_id = $1 AND owner = $2
      RETURNING ${RUN_COLUMNS}`,
    [runId, owner, state, error, terminal],
  );
  return rows[0] ? toRun(rows[0]) : undefined;
}

/**
 * Asks a run to stop. A live runner sees `stopping` at its next batch and parks the run `stopped`;
 * a run whose owner is dead is parked right here, since nobody else would, and loses its heartbeat
 * with its owner, as a run its runner parked does (status showed a stopped run's heartbeat ageing).
 */
export async function requestStop(q: Queryable, runId: string): Promise<RunRecord | undefined> {
  const { rows } = await q.query(
    `UPDATE sdops_migration_runs
        SET state = CASE WHEN owner IS NOT NULL AND heartbeat_at >= now() - lease_timeout_ms * interval '1 millisecond'
                         THEN 'stopping' ELSE 'stopped' END,
            owner = CASE WHEN heartbeat_at >= now() - lease_timeout_ms * interval '1 millisecond' THEN owner END,
            heartbeat_at = CASE WHEN heartbeat_at >= now() - lease_timeout_ms * interval '1 millisecond' THEN heartbeat_at END,
            updated_at = now()
      WHERE run_id = $1 AND state IN ('running', 'stopping')
      RETURNING ${RUN_COLUMNS}`,
    [runId],
  );
  return rows[0] ? toRun(rows[0]) : undefined;
}

/**
 * Runs whose owner is gone: state running or stopping, heartbeat older than the lease timeout the
 * owner declared. By migration, the seconds since the longest-stale one's lease expired (the
 * migration.runs.stale_seconds gauge; `sdops migrate list --state running` names the runs).
 */
export async function staleRunAges(q: Queryable): Promise<Record<string, number>> {
  const { rows } = await q.query<{ migration: string; seconds: number }>(
    `SELECT migration,
            extract(epoch FROM max(now() - heartbeat_at - lease_timeout_ms * interval '1 millisecond'))::float8 AS seconds
       FROM sdops_migration_runs
      WHERE state IN ('running', 'stopping')
        AND heartbeat_at < now() - lease_timeout_ms * interval '1 millisecond'
      GROUP BY migration`,
  );
  return Object.fromEntries(rows.map((r) => [r.migration, Math.max(0, Number(r.seconds))]));
}

/**
 * Ends the leases of runs whose owner is known to be gone: on the embedded database the directory
 * lock proves no other process runs, so a run still `running` there was left by a process that was
 * killed. Its lease timeout becomes 0, so the lease ended with the last heartbeat: `resume` (and the
 * demo) take the run over at once instead of after the lease timeout, and status and the stale gauge
 * still show when the owner really last worked on it (the heartbeat is not rewritten).
 */
export async function expireLeasesOfGoneOwners(q: Queryable): Promise<number> {
  const { rowCount } = await q.query(
    `UPDATE sdops_migration_runs
        SET lease_timeout_ms = 0
      WHERE state IN ('running', 'stopping') AND owner IS NOT NULL
        AND heartbeat_at >= now() - lease_timeout_ms * interval '1 millisecond'`,
  );
  return rowCount;
}
