import type { RunProgress, RunRecord } from './types.ts';

/**
 * The session's running totals, seeded from the run record so they continue across sessions; the
 * database holds the truth, these feed progress events and the summary when the lease was lost.
 */
export class SessionTally {
  processed: number;
  failed: number;
  batchesFailed: number;
  /** Number the next new batch takes; a retried batch keeps its own. */
  nextBatchNo: number;
  /** Rows committed by this session alone (what the throttle paces). */
  sessionRows = 0;

  private readonly run: RunRecord;
  private readonly onProgress: ((e: RunProgress) => void) | undefined;

  constructor(run: RunRecord, onProgress: ((e: RunProgress) => void) | undefined) {
    this.run = run;
    this.onProgress = onProgress;
    this.processed = run.rowsProcessed;
    this.failed = run.rowsFailed;
    this.batchesFailed = run.batchesFailed;
    this.nextBatchNo = run.batchesDone + run.batchesFailed + 1;
  }

  committed(rows: number, isNew: boolean): void {
    if (isNew) this.nextBatchNo++;
    this.processed += rows;
    this.sessionRows += rows;
    this.progress();
  }

  skipped(rows: number): void {
    this.nextBatchNo++;
    this.batchesFailed++;
    this.failed += rows;
    this.progress();
  }

  /** A failed batch that retry-failed reprocessed: it leaves the failed column before it is committed. */
  recovered(failedRows: number): void {
    this.batchesFailed--;
    this.failed -= failedRows;
  }

  private progress(): void {
    this.onProgress?.({
      runId: this.run.runId,
      processed: this.processed,
      failed: this.failed,
      total: this.run.totalEstimate ?? undefined,
    });
  }
}
