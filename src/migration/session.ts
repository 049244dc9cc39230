import type { Database } from '../db/index.ts';
import { BatchExecutor, errorMessage } from './batch-executor.ts';
import { LeaseLostError } from './errors.ts';
import { Lease } from './lease.ts';
import * as leases from './lease-store.ts';
import type { RunnerOptions } from './options.ts';
import { Pacer } from './pacer.ts';
import { SessionTelemetry } from './session-telemetry.ts';
import * as store from './store.ts';
import { Tally } from './tally.ts';
import { recordRunEnd, withRunSpan } from './telemetry.ts';
import type { Migration, ProgressEvent, RunRecord, RunState, RunSummary } from './types.ts';

export type SessionMode = 'start' | 'resume' | 'retry-failed';

interface End {
  state: RunState;
  error: string | null;
}

const STOPPED: End = { state: 'stopped', error: null };

/**
 * One runner session over a leased run, from taking the lease to giving it up: the batch loop (or
 * the failed-batch loop of retry-failed) and the state the run ends in. Batches themselves run in
 * BatchExecutor; the lease and its heartbeat in Lease; pacing in Pacer.
 */
export class Session {
  private stopRequested = false;
  private readonly entities: readonly string[];
  private readonly lease: Lease;
  private readonly pacer: Pacer;
  private readonly tally: Tally;
  private readonly telemetry: SessionTelemetry;
  private readonly batches: BatchExecutor;
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
    onProgress: ((e: ProgressEvent) => void) | undefined,
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
    this.tally = new Tally(run, onProgress);
    this.telemetry = new SessionTelemetry(run);
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
    });
  }

  /** Finish the batch in flight, then park the run as stopped (SIGTERM/SIGINT, handle.stop()). */
  requestStop(): void {
    this.stopRequested = true;
    this.pacer.interrupt();
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
        // With telemetry off the span context is all zeros: keep the previous ids rather than store those.
        if (!/^0+$/.test(span.traceId))
          await store.setRunTrace(this.db, run.runId, span.traceId, span.spanId);
        this.telemetry.started(this.mode, run.cursorEntity ?? this.entities[0]);
        this.lease.startHeartbeat();
        let end: End;
        try {
          end = this.mode === 'retry-failed' ? await this.retryLoop() : await this.scanLoop();
        } catch (error) {
          if (error instanceof LeaseLostError) this.lease.lost = true;
          end = { state: 'failed', error: errorMessage(error) };
          this.telemetry.sessionFailed(error);
        } finally {
          this.lease.stopHeartbeat();
        }
        const final = this.lease.lost
          ? undefined
          : await leases.releaseRun(this.db, run.runId, this.options.owner, end.state, end.error);
        if (!final) this.lease.lost = true;
        const leaseLost = this.lease.lost;
        const state = final?.state ?? end.state;
        if (final) recordRunEnd(run.migration, state);
        const durationMs = performance.now() - this.started;
        const tally = this.tally;
        span.setAttributes({
          status: leaseLost ? 'lease_lost' : state,
          count: tally.processed - run.rowsProcessed,
        });
        this.telemetry.ended(leaseLost, state, {
          entity: this.entities.join(','),
          count: final?.rowsProcessed ?? tally.processed,
          rows_failed: final?.rowsFailed ?? tally.failed,
          batches_failed: final?.batchesFailed ?? tally.batchesFailed,
          duration: durationMs / 1000,
        });
        return {
          runId: run.runId,
          migration: run.migration,
          state,
          dryRun: run.dryRun,
          rowsProcessed: final?.rowsProcessed ?? tally.processed,
          rowsFailed: final?.rowsFailed ?? tally.failed,
          batchesDone: final?.batchesDone ?? 0,
          batchesFailed: final?.batchesFailed ?? tally.batchesFailed,
          durationMs,
          traceId: /^0+$/.test(span.traceId) ? null : span.traceId,
          leaseLost,
        };
      },
    );
  }

  private async scanLoop(): Promise<End> {
    let index = this.run.cursorEntity === null ? 0 : this.entities.indexOf(this.run.cursorEntity);
    if (index < 0) throw new Error(`checkpoint entity ${this.run.cursorEntity} is not part of this run`);
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
    const failedBatches = await store.listBatches(this.db, this.run.runId, { status: 'failed' });
    for (const batch of failedBatches) {
      if (this.stopRequested) return STOPPED;
      await this.batches.retryBatch(batch);
    }
    const run = (await store.getRun(this.db, this.run.runId)) as RunRecord;
    if (run.batchesFailed > run.maxFailedBatches) {
      return { state: 'failed', error: `${run.batchesFailed} batches still failed after retry-failed` };
    }
    if (!run.scanComplete) return STOPPED;
    return { state: run.batchesFailed > 0 ? 'partially_failed' : 'succeeded', error: null };
  }
}
