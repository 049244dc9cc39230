import type pg from 'pg';
import { sqlCount, sqlRows } from './app.ts';
import type { Ledger, Operation, Status } from './ledger.ts';

/**
 * The values every catalog metric must have, derived from the database (row states, archive
 * tables, the migration runs and batches tables, pg-boss's job table) and, where the database
 * cannot tell (noop / failure rows), from what the calls reported.
 */

export const ENTITIES = ['customers', 'orders', 'order_items', 'documents'] as const;

/** key "a|b|c" -> value; zero entries are left out so "no series" and "0" compare equal. */
export type Expected = Record<string, number>;

function put(map: Expected, key: string, value: number): void {
  if (value !== 0) map[key] = (map[key] ?? 0) + value;
}

interface JobRow extends Record<string, unknown> {
  name: string;
  state: string;
  retry_count: number;
  output: Record<string, unknown> | null;
  entity: string | null;
}

export async function finishedJobs(sql: pg.Pool): Promise<JobRow[]> {
  return sqlRows<JobRow>(
    sql,
    `SELECT name, state::text AS state, retry_count, output, data->'payload'->>'entity' AS entity FROM pgboss.job
      WHERE name LIKE 'cleanup.%' AND name <> 'cleanup.dead_letter' AND state IN ('completed', 'failed')`,
  );
}

/** soft_delete_operations_total by entity|operation|status. */
export async function expectedSoftDelete(sql: pg.Pool, ledger: Ledger): Promise<Expected> {
  const out: Expected = {};
  const jobs = await finishedJobs(sql);
  for (const entity of ENTITIES) {
    const deletedNow = await sqlCount(
      sql,
      `SELECT count(*) AS n FROM ${entity} WHERE deleted_at IS NOT NULL AND delete_reason IS DISTINCT FROM 'legacy'`,
    );
    const archived = await sqlCount(sql, `SELECT count(*) AS n FROM ${entity}_archive`);
    const present = await sqlCount(sql, `SELECT count(*) AS n FROM ${entity}`);
    const purged = (ledger.seeded[entity] ?? 0) + (ledger.inserted[entity] ?? 0) - present - archived;
    const restored = ledger.reported(entity, 'restore', 'success');
    // Every row the workload soft-deleted is still deleted, archived, purged, or was restored.
    put(out, `${entity}|delete|success`, deletedNow + archived + purged + restored);
    put(out, `${entity}|restore|success`, restored);
    put(out, `${entity}|archive|success`, archived);
    put(out, `${entity}|purge|success`, purged);
    for (const operation of ['delete', 'restore', 'purge', 'archive'] as Operation[]) {
      for (const status of ['noop', 'failure'] as Status[]) {
        put(out, `${entity}|${operation}|${status}`, ledger.reported(entity, operation, status));
      }
    }
    // Retention jobs report their noop rows in the job output.
    for (const job of jobs) {
      const payloadEntity = job.entity;
      const noop = Number(job.output?.noop ?? 0);
      if (job.state !== 'completed' || noop === 0) continue;
      if (job.name === 'cleanup.purge_expired' && payloadEntity === entity)
        put(out, `${entity}|purge|noop`, noop);
      if (job.name === 'cleanup.archive_entity' && payloadEntity === entity)
        put(out, `${entity}|archive|noop`, noop);
    }
  }
  return out;
}

/** Number of soft-delete core calls by entity|operation (the duration histogram's _count). */
export async function expectedCalls(sql: pg.Pool, ledger: Ledger): Promise<Expected> {
  const out: Expected = {};
  for (const r of ledger.results) put(out, `${r.entity}|${r.operation}`, 1);
  for (const c of ledger.failedCalls) put(out, `${c.entity}|${c.operation}`, 1);
  for (const job of await finishedJobs(sql)) {
    if (job.state !== 'completed') continue;
    // A cascade job on a customer makes one core call on its child entity, orders.
    if (job.name === 'cleanup.cascade_soft_delete' && job.output?.skipped === undefined)
      put(out, 'orders|delete', 1);
    const entity = job.entity ?? '';
    if (job.name === 'cleanup.purge_expired') put(out, `${entity}|purge`, 1);
    if (job.name === 'cleanup.archive_entity') put(out, `${entity}|archive`, 1);
  }
  return out;
}

export interface WorkerExpected {
  processed: Expected;
  failures: Expected;
}

/** Finished attempts per job type from pg-boss: retry_count + 1 per finished job. */
export async function expectedWorker(sql: pg.Pool): Promise<WorkerExpected> {
  const processed: Expected = {};
  const failures: Expected = {};
  for (const job of await finishedJobs(sql)) {
    const type = job.name.slice('cleanup.'.length);
    const attempts = Number(job.retry_count) + 1;
    put(processed, type, attempts);
    put(failures, type, job.state === 'failed' ? attempts : attempts - 1);
  }
  return { processed, failures };
}

/** Dead-letter copies waiting for a retry, by the job type their data names (sdops queue status `dead`). */
export async function expectedDead(sql: pg.Pool): Promise<Expected> {
  const out: Expected = {};
  const rows = await sqlRows<{ job_type: string; n: string }>(
    sql,
    `SELECT data->>'jobType' AS job_type, count(*) AS n FROM pgboss.job
      WHERE name = 'cleanup.dead_letter' AND state < 'active' GROUP BY 1`,
  );
  for (const r of rows) put(out, r.job_type, Number(r.n));
  return out;
}

export interface MigrationExpected {
  runs: Expected;
  rows: Expected;
  batches: Expected;
}

/** Run outcomes per session end, rows and batch attempts, from sdops_migration_runs / _batches. */
export async function expectedMigration(
  sql: pg.Pool,
  ledger: Ledger,
  attempts: number,
): Promise<MigrationExpected> {
  const runs: Expected = {};
  const batches: Expected = {};
  for (const s of ledger.sessions) {
    const status = s.state === 'succeeded' ? 'success' : /failed/.test(s.state) ? 'failure' : '';
    if (status) put(runs, `${s.migration}|${status}`, 1);
    put(batches, `${s.migration}|failure`, s.newlyFailedBatches * attempts);
  }
  const rows: Expected = {};
  for (const s of ledger.sessions) {
    if (s.newlyFailedRows > 0) put(rows, `${s.migration}|failure`, s.newlyFailedRows);
  }
  const byMigration = await sqlRows<{ migration: string; rows: string; ok: string }>(
    sql,
    `SELECT r.migration, sum(r.rows_processed)::text AS rows,
            (SELECT count(*) FROM sdops_migration_batches b JOIN sdops_migration_runs r2 USING (run_id)
              WHERE r2.migration = r.migration AND b.status = 'succeeded')::text AS ok
       FROM sdops_migration_runs r WHERE NOT r.dry_run GROUP BY r.migration`,
  );
  for (const m of byMigration) {
    put(rows, `${m.migration}|success`, Number(m.rows));
    put(batches, `${m.migration}|success`, Number(m.ok));
  }
  return { runs, rows, batches };
}
