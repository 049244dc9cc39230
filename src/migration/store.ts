import type { Queryable } from '../db/index.ts';
import { DEFAULT_RUN_LIST_LIMIT } from '../validation/index.ts';
import { RUN_COLUMNS, type StoredRow, toBatch, toRun } from './store-rows.ts';
import type { BatchRecord, BatchStatus, RunRecord, RunSettings, RunState } from './types.ts';

/**
 * SQL over sdops_migration_runs / sdops_migration_batches: creating and reading run records. Lease
 * changes live in lease-store.ts, per-batch writes in checkpoint-store.ts. Every write that belongs to
 * a batch takes a Queryable so the runner can put it in the batch's own transaction.
 */

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
  return toRun(rows[0] as StoredRow);
}

/** The window a running run's rate is taken over. */
const RATE_WINDOW_SECONDS = 60;

/**
 * What a report adds to a run read for it: the rows of the batches its current session ended (a
 * retried batch included) in the last RATE_WINDOW_SECONDS, and how much of that window the session
 * covers (both by the database clock), so its rate is that of the last minute, not of a session an
 * outage or a wait stretched.
 */
const RECENT_ROWS = `(SELECT COALESCE(sum(b.rows), 0) FROM sdops_migration_batches b
     WHERE b.run_id = r.run_id AND b.updated_at >= r.session_started_at
       AND b.updated_at > now() - interval '${RATE_WINDOW_SECONDS} seconds') AS recent_rows,
  LEAST(${RATE_WINDOW_SECONDS}, EXTRACT(epoch FROM now() - r.session_started_at)) AS recent_seconds`;

export async function getRun(q: Queryable, runId: string): Promise<RunRecord | undefined> {
  const { rows } = await q.query(
    `SELECT ${RUN_COLUMNS}, ${RECENT_ROWS} FROM sdops_migration_runs r WHERE run_id = $1`,
    [runId],
  );
  return rows[0] ? toRun(rows[0]) : undefined;
}

export async function listRuns(q: Queryable, opts: { limit?: number; states?: readonly RunState[] } = {}) {
  const { rows } = await q.query(
    `SELECT ${RUN_COLUMNS}, ${RECENT_ROWS} FROM sdops_migration_runs r
      WHERE $1::text[] IS NULL OR state = ANY($1::text[])
      ORDER BY run_id DESC LIMIT $2`,
    [opts.states ? [...opts.states] : null, opts.limit ?? DEFAULT_RUN_LIST_LIMIT],
  );
  return rows.map(toRun);
}

/**
 * By migration, when (Unix seconds, database clock) its latest run now failed or partially_failed
 * ended: the migration.runs.last_failure_timestamp gauge. The run counter that MigrationRunFailed
 * counts is exported once, by the process that ran the session, as it exits: a collector that
 * restarts before Prometheus scrapes it, or is down then, loses it, and a failed run paged nobody
 * (a probe: a partially_failed run ended 0.1 s before a collector restart). This reading is taken
 * again at every export of every running serve and worker, so it outlives any such gap. A dry run
 * migrated nothing: it is not a run of the panels and alerts, as the counter does not count it.
 */
export async function lastFailedRunEnds(q: Queryable): Promise<Record<string, number>> {
  const { rows } = await q.query<{ migration: string; ended: number }>(
    `SELECT migration, extract(epoch FROM max(finished_at))::float8 AS ended
       FROM sdops_migration_runs
      WHERE state IN ('failed', 'partially_failed') AND finished_at IS NOT NULL AND NOT dry_run
      GROUP BY migration`,
  );
  return Object.fromEntries(rows.map((r) => [r.migration, Number(r.ended)]));
}

const BATCH_COLUMNS = `run_id::text AS run_id, batch_no, entity, key_from, key_to, status, rows, attempts,
  duration_ms, error, session, created_at, updated_at`;

export async function listBatches(
  q: Queryable,
  runId: string,
  opts: { status?: BatchStatus; limit?: number } = {},
): Promise<BatchRecord[]> {
  const { rows } = await q.query(
    `SELECT ${BATCH_COLUMNS} FROM sdops_migration_batches
      WHERE run_id = $1 AND ($2::text IS NULL OR status = $2)
      ORDER BY batch_no LIMIT $3`,
    [runId, opts.status ?? null, opts.limit ?? 1_000_000],
  );
  return rows.map(toBatch);
}

/** One batch record, or undefined: after a lost connection, did the batch's commit land? */
export async function getBatch(
  q: Queryable,
  runId: string,
  batchNo: number,
): Promise<BatchRecord | undefined> {
  const { rows } = await q.query(
    `SELECT ${BATCH_COLUMNS} FROM sdops_migration_batches WHERE run_id = $1 AND batch_no = $2`,
    [runId, batchNo],
  );
  return rows[0] ? toBatch(rows[0]) : undefined;
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
