import { type Database, sqlState } from '../db/index.ts';
import { errorMessage } from '../errors.ts';
import * as checkpoints from './checkpoint-store.ts';
import type { SpanHandle } from '../observability/index.ts';
import { isBatchFailure, runAttempts } from './attempts.ts';
import { InjectedBatchFault, LeaseLostError } from './errors.ts';
import type { Lease } from './lease.ts';
import { backoffMs, type RunnerOptions } from './options.ts';
import type { OutageGuard } from '../db/index.ts';
import type { Pacer } from './pacer.ts';
import type { BatchRef, SessionTelemetry } from './session-telemetry.ts';
import { getBatch } from './store.ts';
import type { SessionTally } from './session-tally.ts';
import { setBatchRange, withBatchSpan } from './telemetry.ts';
import type { BatchRecord, Migration, RunRecord } from './types.ts';

export type BatchResult =
  | { kind: 'stop' }
  | { kind: 'exhausted' }
  | { kind: 'done'; lastKey: string; rows: number }
  | { kind: 'failed'; lastKey: string; rows: number };

export interface BatchContext {
  readonly db: Database;
  readonly migration: Migration;
  readonly run: RunRecord;
  readonly params: object;
  readonly options: RunnerOptions;
  readonly lease: Lease;
  readonly pacer: Pacer;
  readonly tally: SessionTally;
  readonly telemetry: SessionTelemetry;
  readonly outage: OutageGuard;
}

/**
 * What a failed batch records: the message, and the SQLSTATE when the database raised it (a trigger's
 * P0001, a lock timeout's 55P03), which decides who to escalate to and was readable only in Loki.
 */
function batchError(error: unknown): string {
  const state = sqlState(error);
  const message = errorMessage(error);
  return state === undefined ? message : `${message} (SQLSTATE ${state})`;
}

/**
 * One batch with retries and backoff. Every attempt is one transaction that (1) re-proves the lease
 * and locks the run row, (2) changes the rows, (3) writes the batch record and checkpoint, so a
 * crash anywhere rolls all three back together and a takeover waits on the run-row lock. A failure
 * because the database is unreachable is not an attempt: the session waits for it (OutageGuard) and
 * first checks whether the lost connection's commit landed, so a batch is never applied twice.
 */
export class BatchExecutor {
  private readonly c: BatchContext;

  constructor(c: BatchContext) {
    this.c = c;
  }

  /** One batch of the main scan; a batch that keeps failing is recorded and skipped. */
  async scanBatch(entity: string, after: string | null, nextEntity: string | null): Promise<BatchResult> {
    const { db, migration, run, params, lease, tally, telemetry } = this.c;
    const ref: BatchRef = { entity, batchNo: tally.nextBatchNo, cursorFrom: after };
    const t0 = performance.now();
    let planned: { lastKey: string; rows: number } | undefined;
    const { attempts } = this.c.options.retry;
    const outcome = await runAttempts<BatchResult>({
      ...this.pacing(),
      attempt: (attempt, a0) =>
        this.inSpan(
          ref,
          attempt,
          a0,
          () => planned?.lastKey,
          async (span) => {
            const r = await db.transaction(async (tx): Promise<BatchResult> => {
              const state = await lease.claim(tx);
              if (state === 'stopping') return { kind: 'stop' };
              const plan = await migration.plan(tx, entity, after, run.batchSize, params);
              if (!plan) {
                await checkpoints.advanceEntity(tx, run.runId, lease.owner, nextEntity);
                return { kind: 'exhausted' };
              }
              planned = plan;
              // Known now: a failing attempt's span carries its range too.
              span.setAttributes({ 'cursor.to': plan.lastKey });
              this.injectFault(ref.batchNo);
              const rows = run.dryRun
                ? plan.rows
                : await migration.apply(tx, entity, { from: after, to: plan.lastKey }, params);
              await checkpoints.checkpointBatch(tx, run.runId, lease.owner, {
                batchNo: ref.batchNo,
                entity,
                keyFrom: after,
                keyTo: plan.lastKey,
                status: 'succeeded',
                rows,
                attempts: attempt,
                durationMs: performance.now() - t0,
                error: null,
                session: run.sessions,
              });
              return { kind: 'done', lastKey: plan.lastKey, rows };
            });
            if (r.kind === 'done') {
              setBatchRange(r.lastKey, r.rows);
              span.setAttributes({ status: 'success', 'migration.batch.result': 'committed', count: r.rows });
              telemetry.batchCommitted(ref, r.lastKey, r.rows, attempt, a0);
              tally.committed(r.rows, true);
            } else {
              // Nothing to do (entity done) or a stop was asked for: not a failure, nothing changed.
              const result = r.kind === 'stop' ? 'stopped' : 'exhausted';
              span.setAttributes({ status: 'noop', 'migration.batch.result': result, count: 0 });
            }
            return r;
          },
        ),
      afterOutage: async (error, attempt, a0) => {
        const landed = await this.afterOutage(error, ref.batchNo, 'scan');
        return landed && this.landed(landed, ref, attempt, a0);
      },
      // The last attempt's metric waits for the failed batch to be recorded, so its rows count once.
      failed: (attempt, seconds) => {
        if (attempt < attempts) telemetry.failedAttemptMetric(0, seconds);
      },
    });
    if (outcome.ok) return outcome.value;
    const { error: lastError, lastAttemptSeconds } = outcome;
    // Without a planned range there is nothing to record and skip: the run cannot go on safely.
    if (!planned) {
      telemetry.failedAttemptMetric(0, lastAttemptSeconds);
      throw lastError;
    }
    const range = planned;
    let failedRows = 0;
    try {
      await this.c.outage.run(async () => {
        if (await getBatch(db, run.runId, ref.batchNo)) return; // recorded before the connection was lost
        await db.transaction(async (tx) => {
          await lease.claim(tx);
          await checkpoints.checkpointBatch(tx, run.runId, lease.owner, {
            batchNo: ref.batchNo,
            entity,
            keyFrom: after,
            keyTo: range.lastKey,
            status: 'failed',
            rows: range.rows,
            attempts,
            durationMs: performance.now() - t0,
            error: batchError(lastError),
            session: run.sessions,
          });
        });
      });
      failedRows = range.rows;
    } finally {
      telemetry.failedAttemptMetric(failedRows, lastAttemptSeconds);
    }
    telemetry.batchSkipped(ref, range.lastKey, range.rows, attempts, t0, lastError);
    tally.skipped(range.rows);
    return { kind: 'failed', lastKey: range.lastKey, rows: range.rows };
  }

  /** retry-failed: reprocesses exactly the recorded failed range; fault injection does not apply. */
  async retryBatch(batch: BatchRecord): Promise<void> {
    const { db, migration, run, params, lease, tally, telemetry } = this.c;
    const ref: BatchRef = { entity: batch.entity, batchNo: batch.batchNo, cursorFrom: batch.keyFrom };
    const t0 = performance.now();
    // The batch's attempts so far, counted across sessions: its span and its lines say the same.
    const tried = (attempt: number) => batch.attempts + attempt;
    const outcome = await runAttempts<true>({
      ...this.pacing(),
      attempt: (attempt, a0) =>
        this.inSpan(
          ref,
          tried(attempt),
          a0,
          () => batch.keyTo,
          async (span) => {
            span.setAttributes({ 'cursor.to': batch.keyTo });
            const n = await db.transaction(async (tx) => {
              await lease.claim(tx);
              const changed = run.dryRun
                ? ((await migration.plan(tx, batch.entity, batch.keyFrom, run.batchSize, params))?.rows ?? 0)
                : await migration.apply(tx, batch.entity, { from: batch.keyFrom, to: batch.keyTo }, params);
              await checkpoints.markBatchRetried(tx, run.runId, lease.owner, batch, {
                status: 'succeeded',
                rows: changed,
                attempts: attempt,
                durationMs: performance.now() - t0,
                error: null,
              });
              return changed;
            });
            setBatchRange(batch.keyTo, n);
            span.setAttributes({ status: 'success', 'migration.batch.result': 'committed', count: n });
            // Inside the batch span: its log line carries that span's id, as a scan batch's does.
            tally.recovered(batch.rows);
            telemetry.batchCommitted(ref, batch.keyTo, n, tried(attempt), a0);
            tally.committed(n, false);
            return true as const;
          },
        ),
      afterOutage: async (error, attempt, a0) => {
        const now = await this.afterOutage(error, batch.batchNo, 'retry');
        if (now?.status !== 'succeeded') return undefined;
        tally.recovered(batch.rows);
        telemetry.batchCommitted(ref, now.keyTo, now.rows, tried(attempt), a0);
        tally.committed(now.rows, false);
        return true;
      },
      // Its rows were counted as failed when the batch first failed; failing again adds none.
      failed: (_attempt, seconds) => telemetry.failedAttemptMetric(0, seconds),
    });
    if (outcome.ok) return;
    await this.c.outage.run(() =>
      db.transaction(async (tx) => {
        await lease.claim(tx);
        await checkpoints.markBatchRetried(tx, run.runId, lease.owner, batch, {
          status: 'failed',
          rows: batch.rows,
          attempts: this.c.options.retry.attempts,
          durationMs: performance.now() - t0,
          error: batchError(outcome.error),
        });
      }),
    );
    telemetry.retryFailedAgain(ref, batch.rows, outcome.error);
  }

  private pacing() {
    const { retry } = this.c.options;
    return {
      attempts: retry.attempts,
      backoff: (attempt: number) => this.c.pacer.backoff(backoffMs(retry, attempt)),
    };
  }

  /**
   * One attempt inside its batch span. When the batch itself failed (not a lost lease or database),
   * the attempt's failure line is written there, so it carries that span's id; a committed attempt
   * ends an outage the session was riding out.
   */
  private async inSpan<T>(
    ref: BatchRef,
    attempt: number,
    a0: number,
    lastKey: () => string | undefined,
    fn: (span: SpanHandle) => Promise<T>,
  ): Promise<T> {
    const value = await withBatchSpan(this.spanInput(ref, attempt), async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        if (isBatchFailure(error)) this.c.telemetry.attemptFailed(ref, lastKey(), attempt, a0, error);
        throw error;
      }
    });
    this.c.outage.recovered();
    return value;
  }

  /**
   * Waits the outage out, then reads the batch's record: present means its commit landed before the
   * connection was lost. A
   * record another session wrote means another runner took the run over meanwhile (the lease ran out
   * during the outage) and did this batch itself: its rows are that runner's, and this session has
   * lost the run. They were counted here too (a run reported 5,500 rows for 5,000 it changed). A
   * retried batch keeps the session that failed it: there the lease itself says who owns the run.
   */
  private async afterOutage(
    error: unknown,
    batchNo: number,
    kind: 'scan' | 'retry',
  ): Promise<BatchRecord | undefined> {
    const { db, run, lease, outage } = this.c;
    await outage.wait(error);
    if (kind === 'retry') await outage.run(() => db.transaction((tx) => lease.claim(tx)));
    const record = await outage.run(() => getBatch(db, run.runId, batchNo));
    if (kind === 'scan' && record !== undefined && record.session !== run.sessions)
      throw new LeaseLostError(run.runId);
    return record;
  }

  /** A scan batch whose commit landed although its connection was lost: carry on after it. */
  private landed(record: BatchRecord, ref: BatchRef, attempt: number, a0: number): BatchResult {
    const { tally, telemetry } = this.c;
    if (record.status === 'failed') {
      tally.skipped(record.rows);
      return { kind: 'failed', lastKey: record.keyTo, rows: record.rows };
    }
    telemetry.batchCommitted(ref, record.keyTo, record.rows, attempt, a0);
    tally.committed(record.rows, true);
    return { kind: 'done', lastKey: record.keyTo, rows: record.rows };
  }

  private spanInput(ref: BatchRef, attempt: number) {
    return {
      runId: this.c.run.runId,
      migration: this.c.run.migration,
      entity: ref.entity,
      batchNo: ref.batchNo,
      batchSize: this.c.run.batchSize,
      attempt,
      cursorFrom: ref.cursorFrom,
      dryRun: this.c.run.dryRun,
    };
  }

  private injectFault(batchNo: number): void {
    const hit = this.c.options.faults?.some(
      (f) => f.batchNo === batchNo && (f.migration === '*' || f.migration === this.c.run.migration),
    );
    if (hit) throw new InjectedBatchFault(this.c.run.migration, batchNo);
  }
}
