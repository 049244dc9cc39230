import type { BatchRecord, BatchStatus, RunRecord, RunState } from './types.ts';

/** Column list and row mapping shared by every query over the runs and batches tables. */

export const RUN_COLUMNS = `run_id::text AS run_id, migration, migration_version, state, dry_run, params, batch_size,
  max_rows_per_second, max_failed_batches, cursor_entity, cursor_key, scan_complete, total_estimate,
  rows_processed, rows_failed, batches_done, batches_failed, owner, heartbeat_at, lease_timeout_ms,
  (owner IS NOT NULL AND heartbeat_at >= now() - lease_timeout_ms * interval '1 millisecond') AS owner_alive,
  sessions, session_started_at, session_start_rows, trace_id, span_id, last_error, created_at, updated_at,
  finished_at`;

/** A row of sdops_migration_runs or sdops_migration_batches as the driver returns it, before toRun/toBatch. */
export type StoredRow = Record<string, unknown>;

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const date = (v: unknown): Date | null =>
  v === null || v === undefined ? null : new Date(v as string | Date);

export function toRun(r: StoredRow): RunRecord {
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
    ...(r.recent_rows === undefined
      ? {}
      : { recent: { rows: num(r.recent_rows), seconds: num(r.recent_seconds) } }),
    traceId: str(r.trace_id),
    spanId: str(r.span_id),
    lastError: str(r.last_error),
    createdAt: date(r.created_at) as Date,
    updatedAt: date(r.updated_at) as Date,
    finishedAt: date(r.finished_at),
  };
}

export function toBatch(r: StoredRow): BatchRecord {
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
