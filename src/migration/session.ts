import type { Database, Queryable } from '../db/index.ts';
import { InjectedBatchFault, LeaseLostError } from './errors.ts';
import { backoffMs, type RunnerOptions } from './options.ts';
import * as store from './store.ts';
import { log, recordBatch, recordRunEnd, setBatchRange, withBatchSpan, withRunSpan } from './telemetry.ts';
import type { BatchRecord, Migration, ProgressEvent, RunRecord, RunState, RunSummary } from './types.ts';

export type SessionMode = 'start' | 'resume' | 'retry-failed';

type BatchResult =
  | { kind: 'stop' }
  | { kind: 'exhausted' }
  | { kind: 'done'; lastKey: string; rows: number }
  | { kind: 'failed'; lastKey: string; rows: number };

interface End {
  state: RunState;
  error: string | null;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * One runner session over a leased run: the batch loop (or the failed-batch loop of retry-failed),
 * heartbeat, throttle, retries and telemetry. Every batch is one transaction that (1) re-proves the
 * lease and locks the run row, (2) changes the rows, (3) writes the batch record and checkpoint.
 * A crash anywhere rolls all three back together; a takeover waits on the run-row lock.
 */
export class Session {
  private stopRequested = false;
  private leaseLost = false;
  private wake: (() => void) | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatBusy = false;
  private readonly entities: readonly string[];
  private readonly params: object;
  private processed: number;
  private failed: number;
  private batchesFailed: number;
  private nextBatchNo: number;
  private sessionRows = 0;
  private readonly started = performance.now();

  constructor(
    private readonly db: Database,
    private readonly migration: Migration,
    private run: RunRecord,
    private readonly options: RunnerOptions & { owner: string },
    private readonly mode: SessionMode,
    private readonly onProgress: ((e: ProgressEvent) => void) | undefined,
  ) {
    this.params = migration.parseParams(run.params);
    this.entities = migration.entities(this.params);
    this.processed = run.rowsProcessed;
    this.failed = run.rowsFailed;
    this.batchesFailed = run.batchesFailed;
    this.nextBatchNo = run.batchesDone + run.batchesFailed + 1;
  }

  /** Finish the batch in flight, then park the run as stopped (SIGTERM/SIGINT, handle.stop()). */
  requestStop(): void {
    this.stopRequested = true;
    this.wake?.();
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
        const runLog = log.child({ run_id: run.runId, migration: run.migration });
        runLog.info(`migration ${this.mode}`, {
          entity: run.cursorEntity ?? this.entities[0],
          count: run.totalEstimate ?? 0,
          status: 'running',
          dry_run: run.dryRun,
          session: run.sessions,
          batch_size: run.batchSize,
        });
        this.startHeartbeat();
        let end: End;
        try {
          end = this.mode === 'retry-failed' ? await this.retryLoop() : await this.scanLoop();
        } catch (error) {
          if (error instanceof LeaseLostError) this.leaseLost = true;
          end = { state: 'failed', error: message(error) };
          runLog.error('migration session failed', { status: 'failure' }, error);
        } finally {
          this.stopHeartbeat();
        }
        const final = this.leaseLost
          ? undefined
          : await store.releaseRun(this.db, run.runId, this.options.owner, end.state, end.error);
        if (!final) this.leaseLost = true;
        const state = final?.state ?? end.state;
        if (final) recordRunEnd(run.migration, state);
        const durationMs = performance.now() - this.started;
        span.setAttributes({
          status: this.leaseLost ? 'lease_lost' : state,
          count: this.processed - run.rowsProcessed,
        });
        const fields = {
          entity: this.entities.join(','),
          count: final?.rowsProcessed ?? this.processed,
          rows_failed: final?.rowsFailed ?? this.failed,
          batches_failed: final?.batchesFailed ?? this.batchesFailed,
          duration: durationMs / 1000,
          status: this.leaseLost ? 'lease_lost' : state,
        };
        if (this.leaseLost) runLog.warn('migration lease lost to another runner; session ended', fields);
        else if (state === 'failed' || state === 'partially_failed') runLog.warn('migration ended', fields);
        else runLog.info(state === 'stopped' ? 'migration stopped' : 'migration ended', fields);
        return {
          runId: run.runId,
          migration: run.migration,
          state,
          dryRun: run.dryRun,
          rowsProcessed: final?.rowsProcessed ?? this.processed,
          rowsFailed: final?.rowsFailed ?? this.failed,
          batchesDone: final?.batchesDone ?? 0,
          batchesFailed: final?.batchesFailed ?? this.batchesFailed,
          durationMs,
          traceId: /^0+$/.test(span.traceId) ? null : span.traceId,
          leaseLost: this.leaseLost,
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
      if (this.stopRequested) return { state: 'stopped', error: null };
      await this.throttle();
      if (this.stopRequested) return { state: 'stopped', error: null };
      const entity = this.entities[index] as string;
      const next = this.entities[index + 1] ?? null;
      const result = await this.scanBatch(entity, key, next);
      if (result.kind === 'stop') return { state: 'stopped', error: null };
      if (result.kind === 'exhausted') {
        index++;
        key = null;
        complete = next === null;
        continue;
      }
      key = result.lastKey;
      if (result.kind === 'failed' && this.batchesFailed > this.run.maxFailedBatches) {
        return {
          state: 'failed',
          error: `${this.batchesFailed} failed batches exceed --max-failed-batches ${this.run.maxFailedBatches}`,
        };
      }
    }
    return { state: this.batchesFailed > 0 ? 'partially_failed' : 'succeeded', error: null };
  }

  /** One batch of the main scan, with retries; a batch that keeps failing is recorded and skipped. */
  private async scanBatch(
    entity: string,
    after: string | null,
    nextEntity: string | null,
  ): Promise<BatchResult> {
    const batchNo = this.nextBatchNo;
    const t0 = performance.now();
    let planned: { lastKey: string; rows: number } | undefined;
    let lastError: unknown;
    const { attempts } = this.options.retry;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const a0 = performance.now();
      try {
        const result = await withBatchSpan(
          this.batchSpanInput(entity, batchNo, attempt, after),
          async (span) => {
            const r = await this.db.transaction(async (tx): Promise<BatchResult> => {
              const state = await this.claim(tx);
              if (state === 'stopping') return { kind: 'stop' };
              const plan = await this.migration.plan(tx, entity, after, this.run.batchSize, this.params);
              if (!plan) {
                await store.advanceEntity(tx, this.run.runId, nextEntity);
                return { kind: 'exhausted' };
              }
              planned = plan;
              this.injectFault(batchNo);
              const rows = this.run.dryRun
                ? plan.rows
                : await this.migration.apply(tx, entity, { from: after, to: plan.lastKey }, this.params);
              await store.checkpointBatch(tx, this.run.runId, {
                batchNo,
                entity,
                keyFrom: after,
                keyTo: plan.lastKey,
                status: 'succeeded',
                rows,
                attempts: attempt,
                durationMs: performance.now() - t0,
                error: null,
                session: this.run.sessions,
              });
              return { kind: 'done', lastKey: plan.lastKey, rows };
            });
            if (r.kind === 'done') {
              setBatchRange(r.lastKey, r.rows);
              span.setAttributes({ status: 'success', count: r.rows });
              this.batchSucceeded(entity, batchNo, after, r, attempt, a0);
            } else span.setAttributes({ status: r.kind, count: 0 });
            return r;
          },
        );
        if (result.kind === 'stop') this.stopRequested = true;
        return result;
      } catch (error) {
        if (error instanceof LeaseLostError) throw error;
        lastError = error;
        recordBatch(this.run.migration, false, 0, (performance.now() - a0) / 1000);
        log.warn(
          'migration batch attempt failed',
          {
            run_id: this.run.runId,
            entity,
            batch: batchNo,
            attempt,
            cursor_from: after,
            cursor_to: planned?.lastKey,
            status: 'failure',
            duration: (performance.now() - a0) / 1000,
          },
          error,
        );
        if (attempt < attempts) await this.sleep(backoffMs(this.options.retry, attempt), false);
      }
    }
    // Without a planned range there is nothing to record and skip: the run cannot go on safely.
    if (!planned) throw lastError;
    const range = planned;
    await this.db.transaction(async (tx) => {
      await this.claim(tx);
      await store.checkpointBatch(tx, this.run.runId, {
        batchNo,
        entity,
        keyFrom: after,
        keyTo: range.lastKey,
        status: 'failed',
        rows: range.rows,
        attempts,
        durationMs: performance.now() - t0,
        error: message(lastError),
        session: this.run.sessions,
      });
    });
    this.nextBatchNo++;
    this.batchesFailed++;
    this.failed += range.rows;
    log.error(
      'migration batch failed; recorded and skipped',
      {
        run_id: this.run.runId,
        migration: this.run.migration,
        entity,
        batch: batchNo,
        cursor_from: after,
        cursor_to: range.lastKey,
        count: range.rows,
        attempts,
        status: 'failure',
        duration: (performance.now() - t0) / 1000,
      },
      lastError,
    );
    this.progress();
    return { kind: 'failed', lastKey: range.lastKey, rows: range.rows };
  }

  private batchSucceeded(
    entity: string,
    batchNo: number,
    after: string | null,
    r: { lastKey: string; rows: number },
    attempt: number,
    a0: number,
    isNew = true,
  ): void {
    const seconds = (performance.now() - a0) / 1000;
    // A retried batch keeps its number; only new batches take the next one.
    if (isNew) this.nextBatchNo++;
    this.processed += r.rows;
    this.sessionRows += r.rows;
    recordBatch(this.run.migration, true, r.rows, seconds);
    log.info('migration batch committed', {
      run_id: this.run.runId,
      migration: this.run.migration,
      entity,
      batch: batchNo,
      cursor_from: after,
      cursor_to: r.lastKey,
      count: r.rows,
      attempt,
      duration: seconds,
      status: 'success',
    });
    this.progress();
  }

  /** retry-failed: reprocess exactly the recorded failed ranges; fault injection does not apply. */
  private async retryLoop(): Promise<End> {
    const failedBatches = await store.listBatches(this.db, this.run.runId, { status: 'failed' });
    for (const batch of failedBatches) {
      if (this.stopRequested) return { state: 'stopped', error: null };
      await this.retryBatch(batch);
    }
    const run = (await store.getRun(this.db, this.run.runId)) as RunRecord;
    if (run.batchesFailed > run.maxFailedBatches) {
      return { state: 'failed', error: `${run.batchesFailed} batches still failed after retry-failed` };
    }
    if (!run.scanComplete) return { state: 'stopped', error: null };
    return { state: run.batchesFailed > 0 ? 'partially_failed' : 'succeeded', error: null };
  }

  private async retryBatch(batch: BatchRecord): Promise<void> {
    const t0 = performance.now();
    const { attempts } = this.options.retry;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const a0 = performance.now();
      try {
        const rows = await withBatchSpan(
          this.batchSpanInput(batch.entity, batch.batchNo, batch.attempts + attempt, batch.keyFrom),
          async (span) => {
            const n = await this.db.transaction(async (tx) => {
              await this.claim(tx);
              const range = { from: batch.keyFrom, to: batch.keyTo };
              const changed = this.run.dryRun
                ? ((
                    await this.migration.plan(
                      tx,
                      batch.entity,
                      batch.keyFrom,
                      this.run.batchSize,
                      this.params,
                    )
                  )?.rows ?? 0)
                : await this.migration.apply(tx, batch.entity, range, this.params);
              await store.markBatchRetried(tx, this.run.runId, batch, {
                status: 'succeeded',
                rows: changed,
                attempts: attempt,
                durationMs: performance.now() - t0,
                error: null,
              });
              return changed;
            });
            setBatchRange(batch.keyTo, n);
            span.setAttributes({ status: 'success', count: n });
            return n;
          },
        );
        this.batchesFailed--;
        this.failed -= batch.rows;
        this.batchSucceeded(
          batch.entity,
          batch.batchNo,
          batch.keyFrom,
          { lastKey: batch.keyTo, rows },
          attempt,
          a0,
          false,
        );
        return;
      } catch (error) {
        if (error instanceof LeaseLostError) throw error;
        lastError = error;
        recordBatch(this.run.migration, false, 0, (performance.now() - a0) / 1000);
        if (attempt < attempts) await this.sleep(backoffMs(this.options.retry, attempt), false);
      }
    }
    await this.db.transaction(async (tx) => {
      await this.claim(tx);
      await store.markBatchRetried(tx, this.run.runId, batch, {
        status: 'failed',
        rows: batch.rows,
        attempts,
        durationMs: performance.now() - t0,
        error: message(lastError),
      });
    });
    log.error(
      'migration batch failed again in retry-failed',
      {
        run_id: this.run.runId,
        entity: batch.entity,
        batch: batch.batchNo,
        count: batch.rows,
        status: 'failure',
      },
      lastError,
    );
  }

  private batchSpanInput(entity: string, batchNo: number, attempt: number, cursorFrom: string | null) {
    return {
      runId: this.run.runId,
      migration: this.run.migration,
      entity,
      batchNo,
      batchSize: this.run.batchSize,
      attempt,
      cursorFrom,
    };
  }

  private async claim(tx: Queryable): Promise<RunState> {
    const state = await store.claimBatch(tx, this.run.runId, this.options.owner);
    if (state === undefined) {
      this.leaseLost = true;
      throw new LeaseLostError(this.run.runId);
    }
    return state;
  }

  private injectFault(batchNo: number): void {
    const hit = this.options.faults?.some(
      (f) => f.batchNo === batchNo && (f.migration === '*' || f.migration === this.run.migration),
    );
    if (hit) throw new InjectedBatchFault(this.run.migration, batchNo);
  }

  private progress(): void {
    this.onProgress?.({
      runId: this.run.runId,
      processed: this.processed,
      failed: this.failed,
      total: this.run.totalEstimate ?? undefined,
    });
  }

  /** Keeps the session at or under max rows per second (averaged over the session). */
  private async throttle(): Promise<void> {
    const rate = this.run.maxRowsPerSecond;
    if (!rate || this.sessionRows === 0) return;
    const due = (this.sessionRows / rate) * 1000 - (performance.now() - this.started);
    if (due > 0) await this.sleep(due, true);
  }

  private sleep(ms: number, wakeOnStop: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      if (wakeOnStop) this.wake = done;
    }).finally(() => {
      this.wake = undefined;
    });
  }

  private startHeartbeat(): void {
    this.heartbeatTimer = setInterval(() => {
      if (this.heartbeatBusy) return;
      this.heartbeatBusy = true;
      store
        .heartbeat(this.db, this.run.runId, this.options.owner)
        .then((state) => {
          if (state === undefined) {
            this.leaseLost = true;
            this.requestStop();
          } else if (state === 'stopping') this.requestStop();
        })
        .catch((error: unknown) => log.warn('migration heartbeat failed', { run_id: this.run.runId }, error))
        .finally(() => {
          this.heartbeatBusy = false;
        });
    }, this.options.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
  }
}
