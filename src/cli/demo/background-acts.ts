import { runDemoWorker } from '../../cleanup/index.ts';
import type { Database } from '../../db/index.ts';
import { runDemoMigration } from '../../migration/index.ts';
import type { Cell } from '../output.ts';
import { startProgress } from '../output.ts';

/** One summary row per act, in the same table shape as the soft-delete steps. */
export type ActRow = Record<string, Cell>;

/** backfill-deleted-at, stopped halfway and resumed from its checkpoint, like an operator would. */
export async function runMigrationAct(db: Database): Promise<ActRow[]> {
  const bar = startProgress('migration backfill-deleted-at', undefined);
  const summary = await runDemoMigration(db, {
    onProgress: (e) => bar.update(e.processed, e.total),
  }).finally(() => bar.stop());
  return [
    {
      act: 'migration started, stopped',
      detail: `${summary.migration} run ${summary.runId}`,
      state: summary.stateAfterStop,
      rows: summary.rowsAtStop,
    },
    {
      act: 'migration resumed',
      detail: `new trace linked to the first (${summary.traceIds.length} traces)`,
      state: summary.finalState,
      rows: summary.rowsProcessed,
    },
  ];
}

/** The cleanup worker drains purge/archive jobs for every entity through the real queue. */
export async function runWorkerAct(db: Database): Promise<ActRow[]> {
  const summary = await runDemoWorker(db);
  return Object.entries(summary.stats.byType).map(([jobType, s]) => ({
    act: `worker job ${jobType}`,
    detail: `${s.processed} processed, ${s.failed} failed`,
    state: summary.drained ? 'drained' : 'not drained',
    rows: s.rows,
  }));
}
