import type { CleanupSettings } from '../cleanup/index.ts';
import type { Database } from '../db/index.ts';
import type { RunnerOptions } from '../migration/index.ts';
import { runDemoMigration } from './migration.ts';
import type { StartProgress } from './progress.ts';
import { runDemoWorker } from './worker.ts';

/** One summary row per act, in the same table shape as the soft-delete steps. */
export type ActRow = Record<string, string | number>;

/**
 * backfill-deleted-at, stopped halfway and resumed from its checkpoint, like an operator would, by a
 * runner with the configured options (`loadConfig().migration`).
 */
export async function runMigrationAct(
  db: Database,
  runnerOptions: RunnerOptions,
  startProgress: StartProgress,
): Promise<ActRow[]> {
  const bar = startProgress('migration backfill-deleted-at');
  const summary = await runDemoMigration(db, runnerOptions, {
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
      // With telemetry off there are no traces to link (the line said "(0 traces)").
      detail:
        summary.traceIds.length > 0
          ? `new trace linked to the first (${summary.traceIds.length} traces)`
          : 'from its checkpoint (telemetry off: no traces)',
      state: summary.finalState,
      rows: summary.rowsProcessed,
    },
  ];
}

/** The cleanup worker drains purge/archive jobs for every entity through the real queue. */
export async function runWorkerAct(db: Database, settings: CleanupSettings): Promise<ActRow[]> {
  const summary = await runDemoWorker(db, settings);
  return Object.entries(summary.stats.byType).map(([jobType, s]) => ({
    act: `worker job ${jobType}`,
    detail: `${s.processed} processed, ${s.failed} failed`,
    state: summary.drained ? 'drained' : 'not drained',
    rows: s.rows,
  }));
}
