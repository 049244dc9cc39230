import { log, recordBatch, sessionStatus } from './telemetry.ts';
import type { RunRecord, RunState } from './types.ts';

/**
 * The log lines and batch metrics of one session, shaped in one place so their fields stay the same
 * across the scan and retry-failed paths (docs/telemetry.md lists them). A dry run changes nothing,
 * so it counts in no migration metric (its lines and spans say dry_run); the dashboard's rows and
 * runs are what was migrated.
 */

const seconds = (since: number) => (performance.now() - since) / 1000;

export interface BatchRef {
  readonly entity: string;
  readonly batchNo: number;
  readonly cursorFrom: string | null;
}

export class SessionTelemetry {
  readonly runLog: typeof log;

  private readonly run: RunRecord;

  constructor(run: RunRecord) {
    this.run = run;
    // Every line says whether the run writes, as its spans do: a dry run's batches are "committed"
    // (their checkpoints are), not its rows.
    this.runLog = log.child({ run_id: run.runId, migration: run.migration, dry_run: run.dryRun });
  }

  started(mode: string, entity: string | undefined): void {
    this.runLog.info(`migration ${mode}`, {
      entity,
      // Not `count` (rows affected): what the run expects to do in all, repeated by every session.
      rows_estimate: this.run.totalEstimate ?? 0,
      state: 'running',
      session: this.run.sessions,
      batch_size: this.run.batchSize,
    });
  }

  sessionFailed(error: unknown): void {
    this.runLog.error('migration session failed', { status: 'failure' }, error);
  }

  ended(
    leaseLost: boolean,
    state: RunState,
    fields: {
      /** The run's entities: a list, since `entity` names one. */
      entities: readonly string[];
      /** Rows this session did (`count` is rows affected: summed over sessions it is the run's). */
      count: number;
      /** The run's rows so far, over all its sessions. */
      rows_processed: number;
      rows_failed: number;
      batches_failed: number;
      duration: number;
    },
  ): void {
    // status is the closed outcome set of docs/telemetry.md; the run's own state is `state`.
    const all = {
      ...fields,
      status: sessionStatus(leaseLost, state),
      state: leaseLost ? 'lease_lost' : state,
    };
    if (leaseLost)
      this.runLog.warn(
        'migration lease lost (another runner took the run over, or a stop parked it); session ended',
        all,
      );
    else if (state === 'failed' || state === 'partially_failed') this.runLog.warn('migration ended', all);
    else this.runLog.info(state === 'stopped' ? 'migration stopped' : 'migration ended', all);
  }

  batchCommitted(b: BatchRef, cursorTo: string, rows: number, attempt: number, attemptStart: number): void {
    const duration = seconds(attemptStart);
    if (!this.run.dryRun) recordBatch(this.run.migration, true, rows, duration);
    this.runLog.info('migration batch committed', {
      entity: b.entity,
      batch: b.batchNo,
      cursor_from: b.cursorFrom,
      cursor_to: cursorTo,
      count: rows,
      attempt,
      duration,
      status: 'success',
    });
  }

  attemptFailed(
    b: BatchRef,
    cursorTo: string | undefined,
    attempt: number,
    attemptStart: number,
    error: unknown,
  ): void {
    this.runLog.warn(
      'migration batch attempt failed',
      {
        entity: b.entity,
        batch: b.batchNo,
        attempt,
        cursor_from: b.cursorFrom,
        cursor_to: cursorTo,
        status: 'failure',
        duration: seconds(attemptStart),
      },
      error,
    );
  }

  /**
   * One failed attempt in the batch metrics. `rows` is the batch's planned row count only for the
   * attempt after which the batch was recorded as failed, so failure rows add up to the runs'
   * rows_failed; earlier attempts count 0 rows but still their duration.
   */
  failedAttemptMetric(rows: number, attemptSeconds: number): void {
    if (!this.run.dryRun) recordBatch(this.run.migration, false, rows, attemptSeconds);
  }

  batchSkipped(
    b: BatchRef,
    cursorTo: string,
    rows: number,
    attempts: number,
    batchStart: number,
    error: unknown,
  ) {
    this.runLog.error(
      'migration batch failed; recorded and skipped',
      {
        entity: b.entity,
        batch: b.batchNo,
        cursor_from: b.cursorFrom,
        cursor_to: cursorTo,
        count: rows,
        attempts,
        status: 'failure',
        duration: seconds(batchStart),
      },
      error,
    );
  }

  retryFailedAgain(b: BatchRef, rows: number, error: unknown): void {
    this.runLog.error(
      'migration batch failed again in retry-failed',
      { entity: b.entity, batch: b.batchNo, count: rows, status: 'failure' },
      error,
    );
  }
}
