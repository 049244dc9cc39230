import { ADVISORY_LOCK_KEYS, type Queryable, sqlState } from '../db/index.ts';
import { RunOverlapError, RunRowHeldError } from './errors.ts';
import { getMigration } from './registry.ts';
import { RUN_COLUMNS, toRun } from './store-rows.ts';

/**
 * Serialises the sessions that start work on a run (start, resume, retry-failed) and nothing else.
 * It was `LOCK TABLE ... SHARE ROW EXCLUSIVE`, which also waits for every row write: a runner
 * stopped between a batch's checkpoint and its COMMIT held the table's row lock, the LOCK TABLE
 * queued behind it, and every other run's heartbeat and checkpoint queued behind the LOCK TABLE.
 */
export async function serializeRunStarts(tx: Queryable): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [ADVISORY_LOCK_KEYS.runStarts]);
}

/** First statement of a transaction that starts, leases or stops a run: no lock wait past 5 s. */
export async function limitLockWait(tx: Queryable): Promise<void> {
  await tx.query(`SET LOCAL lock_timeout = '5s'`);
}

/** A lock wait limitLockWait cut short, as the operator should read it. */
export function lockWaitError(error: unknown, runId: string | undefined): unknown {
  return sqlState(error) === '55P03' ? new RunRowHeldError(runId) : error;
}

/**
 * One run of a migration per entity at a time. Two runs of the same migration over the same table
 * would race for the same rows (and their progress totals would count each other's work), so a
 * session may start (start, resume, retry-failed) only while no other run of that migration that
 * covers one of its entities is `running` or `stopping`: alive, or abandoned by a dead owner (that one
 * must be resumed or stopped first). Dry runs write nothing and are never in the way, nor stopped.
 *
 * Callers run this inside the transaction that then inserts or leases the run, after
 * `serializeRunStarts`, so two starts at the same moment cannot both pass the check.
 */
export async function assertNoOverlap(
  tx: Queryable,
  run: { readonly runId?: string; readonly migration: string; readonly entities: readonly string[] },
): Promise<void> {
  const { rows } = await tx.query(
    `SELECT ${RUN_COLUMNS} FROM sdops_migration_runs
      WHERE migration = $1 AND state IN ('running', 'stopping') AND NOT dry_run
        AND ($2::uuid IS NULL OR run_id <> $2::uuid)
      ORDER BY run_id`,
    [run.migration, run.runId ?? null],
  );
  const migration = getMigration(run.migration);
  for (const other of rows.map(toRun)) {
    // A run another release started may have params this one does not read: it may touch anything.
    let theirs: readonly string[];
    try {
      theirs = migration.entities(migration.parseParams(other.params));
    } catch {
      theirs = run.entities;
    }
    const shared = run.entities.filter((e) => theirs.includes(e));
    if (shared.length > 0) throw new RunOverlapError(other, shared);
  }
}
