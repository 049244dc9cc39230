import { ownerProcessState } from './owner-process.ts';
import type { RunRecord } from './types.ts';

/** Derived figures for `status`/`list` and the API: what an operator asks of a run at a glance. */
export interface RunStatus {
  readonly runId: string;
  readonly migration: string;
  readonly state: RunRecord['state'];
  readonly dryRun: boolean;
  readonly rowsProcessed: number;
  readonly rowsFailed: number;
  readonly totalEstimate: number | null;
  /** 0..100, null when the total is unknown. */
  readonly percent: number | null;
  /**
   * Rows per second: while the run moves, over the last minute of its session (an outage or a wait
   * earlier in the session no longer drags it down); once it ended, its last session's average (its
   * rows over its time). Null while nobody works on the run although it says running or stopping
   * (its process is gone: the owner's heartbeat is stale, or there is none).
   */
  readonly rowsPerSecond: number | null;
  /** Seconds left at the current rate; null when nobody is working on the run or the rate is 0. */
  readonly etaSeconds: number | null;
  readonly batchesDone: number;
  readonly batchesFailed: number;
  readonly cursor: string | null;
  readonly owner: string | null;
  /** Its owner's lease has not run out (judged by the database clock): another session is refused. */
  readonly ownerAlive: boolean;
  /**
   * Its owner was a process of this host that no longer exists: nothing moves, also while its lease
   * has not run out yet (`stop --wait` waits for that, then `resume`).
   */
  readonly ownerProcessGone: boolean;
  /**
   * Its owner is a process of this host that exists: with its lease run out (ownerAlive false) it is
   * waiting out a database outage (its next heartbeat comes within seconds of the database answering)
   * or frozen; `resume` would take the run from it.
   */
  readonly ownerProcessAlive: boolean;
  readonly heartbeatAgeSeconds: number | null;
  readonly lastError: string | null;
  readonly traceId: string | null;
  readonly createdAt: string;
  readonly finishedAt: string | null;
}

export function runStatus(
  run: RunRecord,
  now = new Date(),
  processState: (owner: string | null) => 'gone' | 'alive' | 'unknown' = ownerProcessState,
): RunStatus {
  const done = run.rowsProcessed + run.rowsFailed;
  const unfinished = run.state === 'running' || run.state === 'stopping';
  // The estimate is a count taken at start; rows that became eligible since (rows deleted while an
  // archive runs) are done too. It grows to what was done, as the progress bar's does: "22550/19961
  // (100%)" read as a broken count. A run still going past it has no percentage: its end is unknown.
  const estimate = run.totalEstimate;
  const total = estimate === null ? null : Math.max(estimate, done);
  const pastEstimate = estimate !== null && done > estimate;
  const percent =
    total === null || (unfinished && pastEstimate)
      ? null
      : total === 0
        ? 100
        : Math.min(100, Math.round((done / total) * 1000) / 10);
  const ownerProcess = unfinished ? processState(run.owner) : 'unknown';
  const gone = ownerProcess === 'gone';
  const moving = run.ownerAlive && !gone;
  const end = run.finishedAt ?? (moving ? now : run.updatedAt);
  const seconds = Math.max(0.001, (end.getTime() - run.sessionStartedAt.getTime()) / 1000);
  // A run that says running while its owner is gone is not moving: no rate, no ETA.
  const live = unfinished && moving;
  const sessionRate = (run.rowsProcessed - run.sessionStartRows) / seconds;
  const rate = unfinished && !live ? null : Math.round(live ? (recentRate(run) ?? sessionRate) : sessionRate);
  const left = total === null ? null : Math.max(0, total - done);
  return {
    runId: run.runId,
    migration: run.migration,
    state: run.state,
    dryRun: run.dryRun,
    rowsProcessed: run.rowsProcessed,
    rowsFailed: run.rowsFailed,
    totalEstimate: total,
    percent,
    rowsPerSecond: rate,
    etaSeconds:
      live && !pastEstimate && rate !== null && rate > 0 && left !== null ? Math.round(left / rate) : null,
    batchesDone: run.batchesDone,
    batchesFailed: run.batchesFailed,
    cursor: run.scanComplete
      ? 'complete'
      : run.cursorEntity
        ? `${run.cursorEntity}:${run.cursorKey ?? 'start'}`
        : null,
    owner: run.owner,
    ownerAlive: run.ownerAlive,
    ownerProcessGone: gone,
    ownerProcessAlive: ownerProcess === 'alive',
    heartbeatAgeSeconds: run.heartbeatAt
      ? Math.round((now.getTime() - run.heartbeatAt.getTime()) / 100) / 10
      : null,
    lastError: run.lastError,
    traceId: run.traceId,
    createdAt: run.createdAt.toISOString(),
    finishedAt: run.finishedAt?.toISOString() ?? null,
  };
}

/** The rate over the last minute of a moving run's session, when the run was read with it. */
function recentRate(run: RunRecord): number | undefined {
  const recent = run.recent;
  if (recent === undefined) return undefined;
  // A session of under a second has no rate to speak of yet: its first batch may not even be done.
  return recent.seconds < 1 ? undefined : recent.rows / recent.seconds;
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}
