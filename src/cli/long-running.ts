import { BUILTIN_JOB_TYPES, readQueueTruth } from '../cleanup/index.ts';
import { databaseIdentity } from '../db/index.ts';
import { lastFailedRunEnds, migrationNames, staleRunAges } from '../migration/index.ts';
import {
  type DatabaseObservation,
  defineAttributeValues,
  NOT_OBSERVING,
  zeroCounters,
} from '../observability/index.ts';
import type { CliContext } from './context.ts';
import { untilStopSignal } from './stop-signals.ts';

/**
 * What every long-running process (serve, worker) adds to its telemetry: its counters at 0 for
 * every entity, job type and migration (idle reads 0, not "no data"), and the database's own gauges
 * (queue length and oldest wait per job type, stale and failed migration runs), read from the
 * tables at every export, so they are measured whether or not any worker runs. Stop it before the
 * database closes.
 */
export async function startLongRunningTelemetry(ctx: CliContext): Promise<DatabaseObservation> {
  defineAttributeValues({ job_type: BUILTIN_JOB_TYPES, migration: migrationNames() });
  zeroCounters();
  const intervalMs = ctx.config.worker.queueSampleIntervalMs;
  if (intervalMs === undefined) return NOT_OBSERVING;
  // PostgreSQL: the same identity by whichever URL (localhost, an address, a pooler) this process
  // came; the embedded database: its directory (one process at a time).
  const identity = ctx.db.kind === 'postgres' ? await databaseIdentity(ctx.db) : undefined;
  return ctx.telemetry.observeDatabase({
    database: identity ?? ctx.databaseName,
    intervalMs,
    read: async () => ({
      queue: await readQueueTruth(ctx.db, BUILTIN_JOB_TYPES),
      staleRuns: await staleRunAges(ctx.db),
      lastFailedRuns: await lastFailedRunEnds(ctx.db),
    }),
  });
}

/**
 * Resolves with the first stop signal a long-running process receives (stop-signals.ts), having
 * told its telemetry first: its exports from then on, the last one included, carry
 * sdops.process.stopping, so its end reads as a stop and not as a lost process.
 */
export function untilAskedToStop(ctx: CliContext, whatStays: string): Promise<NodeJS.Signals> {
  return untilStopSignal(whatStays).then((signal) => {
    void ctx.telemetry.stopRequested();
    return signal;
  });
}
