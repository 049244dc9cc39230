import type { Database } from '../db/index.ts';
import { entityNames } from '../soft-delete/index.ts';
import {
  getMigration,
  MigrationRunner,
  type RunnerOptions,
  type RunState,
  type SessionOptions,
} from '../migration/index.ts';

export interface DemoMigrationOptions {
  /**
   * Most legacy rows to create when the database has none to backfill (documents flagged is_deleted);
   * never more than a tenth of the live documents.
   */
  readonly legacyRows?: number;
  /** Batches in the run (roughly); the stop comes after about half of them. */
  readonly batches?: number;
  readonly onProgress?: SessionOptions['onProgress'];
}

export interface DemoMigrationSummary {
  readonly runId: string;
  readonly migration: string;
  /** Legacy rows the demo flagged itself (0 when the seed already had some). */
  readonly legacyRowsCreated: number;
  readonly total: number;
  readonly rowsAtStop: number;
  readonly stateAfterStop: RunState;
  readonly finalState: RunState;
  readonly rowsProcessed: number;
  readonly rowsFailed: number;
  readonly batches: number;
  /** One trace per session; the second links to the first. */
  readonly traceIds: readonly string[];
  readonly durationMs: number;
}

/**
 * `sdops demo`'s migration act: backfill-deleted-at started, stopped halfway (as `sdops migrate stop`
 * would), then resumed to the end from its checkpoint.
 */
export async function runDemoMigration(
  db: Database,
  runnerOptions: Partial<RunnerOptions>,
  opts: DemoMigrationOptions = {},
): Promise<DemoMigrationSummary> {
  const started = performance.now();
  const runner = new MigrationRunner(db, runnerOptions);
  const migration = 'backfill-deleted-at';
  // A demo killed in this act left its run `running` (on the embedded database its lease is handed
  // back at start): finish that run first, or the new one would be refused as an overlap.
  for (const left of await runner.list({ states: ['running', 'stopping'], limit: 10 })) {
    if (left.migration !== migration) continue;
    await (await runner.resume(left.runId, { maxRowsPerSecond: null, onProgress: opts.onProgress })).done;
  }
  let created = 0;
  // The rows the migration would change, by its own rule.
  const needing = async (entities: readonly string[]) => {
    let n = 0;
    for (const entity of entities) n += await getMigration(migration).count(db, entity, { entities });
    return n;
  };
  if ((await needing(['documents'])) === 0) {
    // At most a tenth of the live documents: a demo run again and again on the same data (it reuses
    // it) must not use up its documents in a few runs.
    const res = await db.query(
      `UPDATE documents SET is_deleted = true, updated_at = now() - interval '400 days'
        WHERE id IN (SELECT id FROM documents WHERE deleted_at IS NULL AND NOT is_deleted ORDER BY id
                      LIMIT (SELECT least($1::int, greatest(1, count(*) / 10)) FROM documents
                              WHERE deleted_at IS NULL AND NOT is_deleted))`,
      [opts.legacyRows ?? 2_000],
    );
    created = res.rowCount;
  }
  const total = await needing(entityNames());
  const batchSize = Math.max(1, Math.ceil(total / (opts.batches ?? 10)));
  const first = await runner.start(
    migration,
    { batchSize },
    {
      onProgress: (e) => {
        opts.onProgress?.(e);
        if (e.processed >= total / 2) first.stop();
      },
    },
  );
  const stopped = await first.done;
  const second = await runner.resume(first.runId, { onProgress: opts.onProgress });
  const finished = await second.done;
  return {
    runId: first.runId,
    migration,
    legacyRowsCreated: created,
    total,
    rowsAtStop: stopped.rowsProcessed,
    stateAfterStop: stopped.state,
    finalState: finished.state,
    rowsProcessed: finished.rowsProcessed,
    rowsFailed: finished.rowsFailed,
    batches: finished.batchesDone + finished.batchesFailed,
    traceIds: [stopped.traceId, finished.traceId].filter((t): t is string => t !== null),
    durationMs: performance.now() - started,
  };
}
