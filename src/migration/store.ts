import type { Queryable } from '../db/index.ts';
import type { BatchRecord, BatchStatus, RunRecord, RunSettings, RunState } from './types.ts';

/**
 * SQL over sdops_migration_runs / sdops_migration_batches. Every write that belongs to a batch takes a
 * Queryable so the runner can put it in the batch's own transaction. Liveness of a lease is judged by
 * the database clock (now()), never by the caller's, so runners on skewed hosts agree.
 */

const RUN_COLUMNS = `run_id::text AS run_id, migration, migration_version, state, dry_run, params, batch_size,
  max_rows_per_second, max_failed_batches, cursor_entity, cursor_key, scan_complete, total_estimate,
  rows_processed, rows_failed, batches_done, batches_failed, owner, heartbeat_at, lease_timeout_ms,
  (owner IS NOT NULL AND heartbeat_at >= now() - lease_timeout_ms * interval '1 millisecond') AS owner_alive,
  sessions, session_started_at, session_start_rows, trace_id, span_id, last_error, created_at, updated_at,
  finished_at`;

type Row = Record<string, unknown>;

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const date = (v: unknown): Date | null =>
  v === null || v === undefined ? null : new Date(v as string | Date);

function toRun(r: Row): RunRecord {
  return {
    runId: String(r.run_id),
    migration: String(r.migration),
    migrationVersion: num(r.migration_version),
    state: r.state as RunState,
    dryRun: r.dry_run === true,
    params: (typeof r.params === 'string' ? JSON.parse(r.params) : r.params) as Record<string, unknown>,
    batchSize: num(r.batch_size),
    maxRowsPerSecond: numOrNull(r.max_rows_per_second),
    maxFailedBatches: num(r.max_failed_batches),
    cursorEntity: str(r.cursor_entity),
    cursorKey: str(r.cursor_key),
    scanComplete: r.scan_complete === true,
    totalEstimate: numOrNull(r.total_estimate),
    rowsProcessed: num(r.rows_processed),
    rowsFailed: num(r.rows_failed),
    batchesDone: num(r.batches_done),
    batchesFailed: num(r.batches_failed),
    owner: str(r.owner),
    heartbeatAt: date(r.heartbeat_at),
    leaseTimeoutMs: num(r.lease_timeout_ms),
    ownerAlive: r.owner_alive === true,
    sessions: num(r.sessions),
    sessionStartedAt: date(r.session_started_at) as Date,
    sessionStartRows: num(r.session_start_rows),
    traceId: str(r.trace_id),
    spanId: str(r.span_id),
    lastError: str(r.last_error),
    createdAt: date(r.created_at) as Date,
    updatedAt: date(r.updated_at) as Date,
    finishedAt: date(r.finished_at),
  };
}

function toBatch(r: Row): BatchRecord {
  return {
    runId: String(r.run_id),
    batchNo: num(r.batch_no),
    entity: String(r.entity),
    keyFrom: str(r.key_from),
    keyTo: String(r.key_to),
    status: r.status as BatchStatus,
    rows: num(r.rows),
    attempts: num(r.attempts),
    durationMs: num(r.duration_ms),
    error: str(r.error),
    session: num(r.session),
    createdAt: date(r.created_at) as Date,
    updatedAt: date(r.updated_at) as Date,
  };
}

export interface NewRun {
  readonly runId: string;
  readonly migration: string;
  readonly migrationVersion: number;
  readonly params: Readonly<Record<string, unknown>>;
  readonly settings: RunSettings;
  readonly firstEntity: string | null;
  readonly totalEstimate: number;
  readonly owner: string;
  readonly leaseTimeoutMs: number;
}

/** Inserts a run that is already leased to its creator (state running). */
export async function insertRun(q: Queryable, run: NewRun): Promise<RunRecord> {
  const { rows } = await q.query(
    `INSERT INTO sdops_migration_runs (run_id, migration, migration_version, state, dry_run, params, batch_size,
       max_rows_per_second, max_failed_batches, cursor_entity, scan_complete, total_estimate, owner,
       heartbeat_at, lease_timeout_ms)
     VALUES ($1, $2, $3, 'running', $4, $5::jsonb, $6, $7, $8, $9, $10, $11, $12, now(), $13)
     RETURNING ${RUN_COLUMNS}`,
    [
      run.runId,
      run.migration,
      run.migrationVersion,
      run.settings.dryRun,
      JSON.stringify(run.params),
      run.settings.batchSize,
      run.settings.maxRowsPerSecond,
      run.settings.maxFailedBatches,
      run.firstEntity,
      run.firstEntity === null,
      run.totalEstimate,
      run.owner,
      run.leaseTimeoutMs,
    ],
  );
  return toRun(rows[0] as Row);
}

export async function getRun(q: Queryable, runId: string): Promise<RunRecord | undefined> {
  const { rows } = await q.query(`SELECT ${RUN_COLUMNS} FROM sdops_migration_runs WHERE run_id = $1`, [
    runId,
  ]);
  return rows[0] ? toRun(rows[0]) : undefined;
}

export async function listRuns(q: Queryable, opts: { limit?: number; states?: readonly RunState[] } = {}) {
  const { rows } = await q.query(
    `SELECT ${RUN_COLUMNS} FROM sdops_migration_runs
      WHERE $1::text[] IS NULL OR state = ANY($1::text[])
      ORDER BY run_id DESC LIMIT $2`,
    [opts.states ? [...opts.states] : null, opts.limit ?? 50],
  );
  return rows.map(toRun);
}

export async function listBatches(
  q: Queryable,
  runId: string,
  opts: { status?: BatchStatus; limit?: number } = {},
): Promise<BatchRecord[]> {
  const { rows } = await q.query(
    `SELECT run_id::text AS run_id, batch_no, entity, key_from, key_to, status, rows, attempts, duration_ms,
            error, session, created_at, updated_at
       FROM sdops_migration_batches
      WHERE run_id = $1 AND ($2::text IS NULL OR status = $2)
      ORDER BY batch_no LIMIT $3`,
    [runId, opts.status ?? null, opts.limit ?? 1_000_000],
  );
  return rows.map(toBatch);
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
): Promise<RunRecord | undefined> {
  const { rows } = await q.query(
    `UPDATE sdops_migration_runs
        SET owner = $2, heartbeat_at = now(), lease_timeout_ms = $3, state = 'running',
            sessions = sessions + 1, session_started_at = now(), session_start_rows = rows_processed,
            finished_at = NULL, updated_at = now()
      WHERE run_id = $1 AND state = ANY($4::text[])
        AND (owner IS NULL OR heartbeat_at < now() - lease_timeout_ms * interval '1 millisecond')
      RETURNING ${RUN_COLUMNS}`,
    [runId, owner, leaseTimeoutMs, [...from]],
  );
  return rows[0] ? toRun(rows[0]) : undefined;
}

/**
 * First statement of every batch transaction: proves we still own the lease, refreshes the heartbeat
 * and locks the run row, so a takeover waits for the batch in flight instead of racing it.
 * Returns the state (to see `stopping`), or undefined when the lease is gone.
 */
export async function claimBatch(q: Queryable, runId: string, owner: string): Promise<RunState | undefined> {
  const { rows } = await q.query<{ state: RunState }>(
    `UPDATE sdops_migration_runs SET heartbeat_at = now()
      WHERE run_id = $1 AND owner = $2 RETURNING state`,
    [runId, owner],
  );
  return rows[0]?.state;
}

export const heartbeat = claimBatch;

export interface BatchOutcome {
  readonly batchNo: number;
  readonly entity: string;
  readonly keyFrom: string | null;
  readonly keyTo: string;
  readonly status: BatchStatus;
  readonly rows: number;
  readonly attempts: number;
  readonly durationMs: number;
  readonly error: string | null;
  readonly session: number;
}

/** Records a batch and moves the checkpoint past it, in the caller's (the batch's) transaction. */
export async function checkpointBatch(q: Queryable, runId: string, b: BatchOutcome): Promise<void> {
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
  const ok = b.status === 'succeeded';
  await q.query(
    `UPDATE sdops_migration_runs
        SET cursor_entity = $2, cursor_key = $3,
            rows_processed = rows_processed + $4, rows_failed = rows_failed + $5,
            batches_done = batches_done + $6, batches_failed = batches_failed + $7,
            last_error = COALESCE($8, last_error), updated_at = now()
      WHERE run_id = $1`,
    [runId, b.entity, b.keyTo, ok ? b.rows : 0, ok ? 0 : b.rows, ok ? 1 : 0, ok ? 0 : 1, b.error],
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

/** Ends a session: sets the state and gives the lease up (only if we still hold it). */
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
        SET state = $3, owner = NULL, heartbeat_at = NULL, last_error = COALESCE($4, last_error),
            finished_at = CASE WHEN $5 THEN now() END, updated_at = now()
      WHERE run_id = $1 AND owner = $2
      RETURNING ${RUN_COLUMNS}`,
    [runId, owner, state, error, terminal],
  );
  return rows[0] ? toRun(rows[0]) : undefined;
}

export async function setRunTrace(
  q: Queryable,
  runId: string,
  traceId: string,
  spanId: string,
): Promise<void> {
  await q.query('UPDATE sdops_migration_runs SET trace_id = $2, span_id = $3 WHERE run_id = $1', [
    runId,
    traceId,
    spanId,
  ]);
}

/**
 * Asks a run to stop. A live runner sees `stopping` at its next batch and parks the run `stopped`;
 * a run whose owner is dead is parked right here, since nobody else would.
 */
export async function requestStop(q: Queryable, runId: string): Promise<RunRecord | undefined> {
  const { rows } = await q.query(
    `UPDATE sdops_migration_runs
        SET state = CASE WHEN owner IS NOT NULL AND heartbeat_at >= now() - lease_timeout_ms * interval '1 millisecond'
                         THEN 'stopping' ELSE 'stopped' END,
            owner = CASE WHEN heartbeat_at >= now() - lease_timeout_ms * interval '1 millisecond' THEN owner END,
            updated_at = now()
      WHERE run_id = $1 AND state IN ('running', 'stopping')
      RETURNING ${RUN_COLUMNS}`,
    [runId],
  );
  return rows[0] ? toRun(rows[0]) : undefined;
}
