import { type Database, isDatabaseUnavailable, type OutageGuard, readBackOnRetry } from '../db/index.ts';
import { errorMessage } from '../errors.ts';
import { BatchExecutor } from './batch-executor.ts';
import { CheckpointMismatchError, LeaseLostError } from './errors.ts';
import { Lease } from './lease.ts';
import * as leases from './lease-store.ts';
import type { RunnerOptions } from './options.ts';
import { DatabaseOutageError } from '../db/index.ts';
import { migrationOutageGuard, StoppedDuringOutageError } from './outage.ts';
import { Pacer } from './pacer.ts';
import { SessionTelemetry } from './session-telemetry.ts';
import * as store from './store.ts';
import { SessionTally } from './session-tally.ts';
import { doneWithin } from '../timing.ts';
import { log, recordRunEnd, sessionStatus, withRunSpan } from './telemetry.ts';
import type { Migration, RunProgress, RunRecord, RunState, RunSummary } from './types.ts';

export type SessionMode = 'start' | 'resume' | 'retry-failed';

interface End {
  state: RunState;
  error: string | null;
  /** RunSummary.scanLeft. */
  scanLeft?: boolean;
}

const STOPPED: End = { state: 'stopped', error: null };

/** The one try at recording a session's end after a stop ended its wait for the database. */
const FINAL_TRY_MS = 2000;

/**
 * One runner session over a leased run, from taking the lease to giving it up: the batch loop (or
 * the failed-batch loop of retry-failed) and the state the run ends in. Batches themselves run in
 * BatchExecutor; the lease and its heartbeat in Lease; pacing in Pacer.
 */
export class Session {
  private stopRequested = false;
  /** This session's migration.run span, once it started (undefined with telemetry off). */
  traceIds: { readonly traceId: string; readonly spanId: string } | undefined;
  private readonly entities: readonly string[];
  private readonly lease: Lease;
  private readonly pacer: Pacer;
  private readonly tally: SessionTally;
  private readonly telemetry: SessionTelemetry;
  private readonly batches: BatchExecutor;
  private readonly outage: OutageGuard;
  private readonly started = performance.now();

  private readonly db: Database;
  private readonly run: RunRecord;
  private readonly options: RunnerOptions & { owner: string };
  private readonly mode: SessionMode;

  constructor(
    db: Database,
    migration: Migration,
    run: RunRecord,
    options: RunnerOptions & { owner: string },
    mode: SessionMode,
    onProgress: ((e: RunProgress) => void) | undefined,
  ) {
    this.db = db;
    this.run = run;
    this.options = options;
    this.mode = mode;
    const params = migration.parseParams(run.params);
    this.entities = migration.entities(params);
    this.lease = new Lease(db, run.runId, options.owner, options.heartbeatIntervalMs, () =>
      this.requestStop(),
    );
    this.pacer = new Pacer(run.maxRowsPerSecond);
    this.tally = new SessionTally(run, onProgress);
    this.telemetry = new SessionTelemetry(run);
    this.outage = migrationOutageGuard(options.outageBudgetMs, run.runId);
    this.batches = new BatchExecutor({
      db,
      migration,
      run,
      params,
      options,
      lease: this.lease,
      pacer: this.pacer,
      tally: this.tally,
      telemetry: this.telemetry,
      outage: this.outage,
    });
  }

  /** Finish the batch in flight, then park the run as stopped (SIGTERM/SIGINT, handle.stop()). */
  requestStop(): void {
    this.stopRequested = true;
    this.pacer.interrupt();
    this.outage.interrupt();
  }

  async execute(): Promise<RunSummary> {
    const run = this.run;
    return withRunSpan(
      {
        runId: run.runId,
        migration: run.migration,
        dryRun: run.dryRun,
        session: run.sessions,
        mode: this.mode,
        previousTraceId: run.traceId,
        previousSpanId: run.spanId,
      },
      async (span) => {
        // A retry-failed session says its line once it knows where its first failed batch is.
        if (this.mode !== 'retry-failed')
          this.telemetry.started(this.mode, run.cursorEntity ?? this.entities[0]);
        this.lease.startHeartbeat();
        let end: End;
        let outageEnded = false;
        try {
          // With telemetry off the span context is all zeros: keep the previous ids rather than store those.
          if (!/^0+$/.test(span.traceId)) {
            this.traceIds = { traceId: span.traceId, spanId: span.spanId };
            await this.outage.run(() => store.setRunTrace(this.db, run.runId, span.traceId, span.spanId));
          }
          end = this.mode === 'retry-failed' ? await this.retryLoop() : await this.scanLoop();
        } catch (error) {
          if (error instanceof LeaseLostError) this.lease.lost = true;
          outageEnded = error instanceof DatabaseOutageError || error instanceof StoppedDuringOutageError;
          end =
            error instanceof StoppedDuringOutageError
              ? STOPPED
              : { state: 'failed', error: errorMessage(error) };
          if (!(error instanceof StoppedDuringOutageError)) this.telemetry.sessionFailed(error);
        } finally {
          this.lease.stopHeartbeat();
        }
        const released = this.lease.lost ? undefined : await this.release(end, outageEnded);
        const recorded = released !== 'unrecorded';
        const final = recorded ? released : undefined;
        if (recorded && !final) this.lease.lost = true;
        const leaseLost = this.lease.lost;
        // Whose the run is now: another runner's, or parked by a stop that did not hear from us.
        const current = leaseLost ? await store.getRun(this.db, run.runId).catch(() => undefined) : undefined;
        // Lost: the counts are the run's as stored now, not this session's tally.
        const stored = final ?? current;
        const state = stored?.state ?? end.state;
        // The alert needs the metric also when the database could not be told (MigrationRunFailed).
        // A dry run migrated nothing: it is not a run of the panels and alerts.
        if (!run.dryRun && (final || !recorded)) recordRunEnd(run.migration, state);
        const durationMs = performance.now() - this.started;
        const tally = this.tally;
        span.setAttributes({
          status: sessionStatus(leaseLost, state),
          'migration.state': leaseLost ? 'lease_lost' : state,
          count: tally.processed - run.rowsProcessed,
        });
        this.telemetry.ended(leaseLost, state, {
          entities: this.entities,
          count: tally.processed - run.rowsProcessed,
          rows_processed: stored?.rowsProcessed ?? tally.processed,
          rows_failed: stored?.rowsFailed ?? tally.failed,
          batches_failed: stored?.batchesFailed ?? tally.batchesFailed,
          duration: durationMs / 1000,
        });
        return {
          runId: run.runId,
          migration: run.migration,
          state,
          dryRun: run.dryRun,
          rowsProcessed: stored?.rowsProcessed ?? tally.processed,
          rowsFailed: stored?.rowsFailed ?? tally.failed,
          sessionRows: tally.sessionRows,
          batchesDone: stored?.batchesDone ?? 0,
          batchesFailed: stored?.batchesFailed ?? tally.batchesFailed,
          durationMs,
          traceId: /^0+$/.test(span.traceId) ? null : span.traceId,
          leaseLost,
          // A retry-failed that took the run over parks it too: only a session count unchanged
          // since ours began says nobody else ran it.
          ...(current
            ? { parkedByStop: current.state === 'stopped' && current.sessions === run.sessions }
            : {}),
          recorded,
          error: end.error,
          scanLeft: state === 'stopped' && end.scanLeft === true,
        };
      },
    );
  }

  /**
   * Ends the session in the run record and gives up the lease; rides out an outage within the budget.
   * 'unrecorded' when the database stayed unreachable: the row then keeps state `running` with this
   * owner, whose heartbeat stops, so after the lease timeout `resume` (or `stop`) may take the run over.
   */
  private async release(end: End, outageEnded: boolean): Promise<RunRecord | undefined | 'unrecorded'> {
    // Tried again after a lost answer, the first UPDATE may have landed (so our owner is gone).
    const write = readBackOnRetry(
      () => leases.releaseRun(this.db, this.run.runId, this.options.owner, end.state, end.error),
      () => this.releaseLanded(end),
    );
    try {
      // After the budget ran out there is one more try, not another budget.
      return await (outageEnded ? write() : this.outage.run(write));
    } catch (error) {
      const outage =
        isDatabaseUnavailable(error) ||
        error instanceof DatabaseOutageError ||
        error instanceof StoppedDuringOutageError;
      if (!outage) throw error;
      if (error instanceof StoppedDuringOutageError) {
        // A stop ended the wait, maybe at the first failure: one dropped connection, whose UPDATE
        // may have landed. One more try at once (a retry reads back), bounded so the stop is not held.
        let last: RunRecord | undefined | 'none' = 'none';
        const tried = write().then(
          (released) => {
            last = released;
          },
          () => undefined,
        );
        if ((await doneWithin(tried, FINAL_TRY_MS)) && last !== 'none') return last;
      }
      log.error(
        'could not record the end of the migration run: the database is unreachable; the run stays running until its lease expires, then `sdops migrate resume` takes it over',
        { run_id: this.run.runId, state: end.state },
        error,
      );
      return 'unrecorded';
    }
  }

  /**
   * The run as our release left it, when it did: no owner, the state we ended it in, and no session
   * begun since ours (a takeover would have counted one). Otherwise the lease was lost after all.
   */
  private async releaseLanded(end: End): Promise<RunRecord | undefined> {
    const now = await store.getRun(this.db, this.run.runId);
    const ours = now && now.owner === null && now.state === end.state && now.sessions === this.run.sessions;
    return ours ? now : undefined;
  }

  private async scanLoop(): Promise<End> {
    let index = this.run.cursorEntity === null ? 0 : this.entities.indexOf(this.run.cursorEntity);
    if (index < 0) throw new CheckpointMismatchError(this.run.runId, this.run.cursorEntity ?? '');
    let key = this.run.cursorKey;
    let complete = this.run.scanComplete;
    while (!complete) {
      if (this.stopRequested) return STOPPED;
      await this.pacer.throttle(this.tally.sessionRows);
      if (this.stopRequested) return STOPPED;
      const entity = this.entities[index] as string;
      const next = this.entities[index + 1] ?? null;
      const result = await this.batches.scanBatch(entity, key, next);
      if (result.kind === 'stop') {
        this.stopRequested = true;
        return STOPPED;
      }
      if (result.kind === 'exhausted') {
        index++;
        key = null;
        complete = next === null;
        continue;
      }
      key = result.lastKey;
      const failed = this.tally.batchesFailed;
      if (result.kind === 'failed' && failed > this.run.maxFailedBatches) {
        return {
          state: 'failed',
          error: `${failed} failed batches exceed --max-failed-batches ${this.run.maxFailedBatches}`,
        };
      }
    }
    return { state: this.tally.batchesFailed > 0 ? 'partially_failed' : 'succeeded', error: null };
  }

  /** retry-failed: reprocess exactly the recorded failed ranges, then judge the run as a whole. */
  private async retryLoop(): Promise<End> {
    const failedBatches = await this.outage.run(() =>
      store.listBatches(this.db, this.run.runId, { status: 'failed' }),
    );
    // Not the scan cursor's entity: the scan may have ended on another entity than its failures.
    this.telemetry.started(this.mode, failedBatches[0]?.entity);
    for (const batch of failedBatches) {
      if (this.stopRequested) return STOPPED;
      await this.batches.retryBatch(batch);
    }
    const run = (await this.outage.run(() => store.getRun(this.db, this.run.runId))) as RunRecord;
    if (run.batchesFailed > run.maxFailedBatches) {
      return { state: 'failed', error: `${run.batchesFailed} batches still failed after retry-failed` };
    }
    if (!run.scanComplete) return { ...STOPPED, scanLeft: true };
    return { state: run.batchesFailed > 0 ? 'partially_failed' : 'succeeded', error: null };
  }
}
