import { SdopsError } from '../../errors.ts';
import { consoleCaughtUp } from '../../observability/index.ts';
import {
  formatDuration,
  MigrationRunner,
  runStatus,
  type RunHandle,
  type RunRecord,
  type RunStatus,
  type RunSummary,
} from '../../migration/index.ts';
import type { CliContext } from '../context.ts';
import { type Cell, errorLine, formatTable, printJson } from '../output.ts';
import { type Progress, progressWanted, startProgress } from '../progress.ts';
import { onStopSignals } from '../stop-signals.ts';

/**
 * One migration runner session in this process, as `sdops migrate start|resume|retry-failed` show
 * it: the first line of work ahead, a progress bar, the stop signals, the summary table and the
 * line (and exit code) of a run that did not finish.
 */

function endedBadly(summary: RunSummary): string {
  const id = summary.runId;
  if (summary.leaseLost) {
    // A stop parks a run whose owner it does not hear from: nobody else runs it then.
    return summary.parkedByStop === true
      ? `run ${id}: \`sdops migrate stop\` parked the run while this runner was not heard from; this one stopped: \`sdops migrate resume ${id}\` goes on`
      : `run ${id}: another runner took the run over; this one stopped`;
  }
  if (!summary.recorded) {
    return (
      `run ${id} ended ${summary.state}: ${summary.error ?? 'the database is unreachable'}; the database could ` +
      `not record it, so the run shows running until its lease expires: then \`sdops migrate resume ${id}\``
    );
  }
  if (summary.scanLeft) {
    return (
      `run ${id}: ${summary.batchesFailed} batches still failed after retry-failed (${summary.rowsFailed} rows), and ` +
      `its scan is not complete: see \`sdops migrate status ${id}\`, retry-failed once the cause is fixed, then \`sdops migrate resume ${id}\``
    );
  }
  if (summary.state === 'stopped') {
    return `run ${id} stopped before it finished (${summary.rowsProcessed} rows done); continue it with \`sdops migrate resume ${id}\``;
  }
  if (summary.error && summary.batchesFailed === 0) {
    return `run ${id} ended ${summary.state}: ${summary.error}; continue it with \`sdops migrate resume ${id}\``;
  }
  return (
    `run ${id} ended ${summary.state} (${summary.batchesFailed} failed batches, ${summary.rowsFailed} rows); ` +
    `see \`sdops migrate status ${id}\` and \`sdops migrate retry-failed ${id}\``
  );
}

class RunEndedBadly extends SdopsError {
  constructor(summary: RunSummary) {
    super(summary.leaseLost ? 'lease_lost' : `run_${summary.state}`, endedBadly(summary));
  }
}

/** What the session in front of us has to do, as the first line says it. */
function workAhead(label: string, run: RunRecord): string {
  const total = run.totalEstimate;
  if (label === 'retry-failed') return `${run.batchesFailed} failed batches, ${run.rowsFailed} rows to retry`;
  if (label === 'resume') {
    const done = run.rowsProcessed + run.rowsFailed;
    if (total !== null && done >= total) return `${done} rows done, past the ${total} estimated at its start`;
    return `${total === null ? '?' : total - done} of ${total ?? '?'} rows left`;
  }
  return `${total ?? '?'} rows to do`;
}

export function statusRow(run: RunRecord): Record<string, Cell> {
  const s = runStatus(run);
  return {
    run_id: s.runId,
    migration: s.migration,
    state: s.dryRun ? `${s.state} (dry-run)` : s.state,
    // Rows dealt with, failed ones included (they have their own column), as the percentage counts.
    progress: `${s.rowsProcessed + s.rowsFailed}/${s.totalEstimate ?? '?'}${s.percent === null ? '' : ` (${s.percent}%)`}`,
    'rows/s': s.rowsPerSecond ?? '-',
    eta: formatDuration(s.etaSeconds),
    'failed batches': s.batchesFailed,
    'failed rows': s.rowsFailed,
    owner: s.owner ? `${s.owner}${ownerNote(s)}` : '-',
  };
}

/** What the owner column adds: whether the lease runs, and what this host knows of the process. */
function ownerNote(s: RunStatus): string {
  if (s.ownerAlive) return s.ownerProcessGone ? ' (process gone)' : '';
  return s.ownerProcessAlive ? ' (stale, process alive)' : ' (stale)';
}

/**
 * Runs one runner session in this process: progress bar on a TTY, SIGINT/SIGTERM = `stop` (finish the
 * batch in flight, park `stopped`), telemetry flushed before the command returns.
 */
export async function runSession(
  ctx: CliContext,
  label: string,
  begin: (
    r: MigrationRunner,
    onProgress: (p: { processed: number; failed: number; total?: number }) => void,
  ) => Promise<RunHandle>,
): Promise<void> {
  const runner = new MigrationRunner(ctx.db, ctx.config.migration);
  // The session starts inside begin, so an event may come before the bar exists: the latest waits.
  type Event = { processed: number; failed: number; total?: number };
  let bar: { progress: Progress; of: (e: Event) => [number, number | undefined] } | undefined;
  let early: Event | undefined;
  const handle = await begin(runner, (e) => {
    if (bar) bar.progress.update(...bar.of(e));
    else early = e;
  });
  const run = handle.run;
  if (!ctx.json) process.stderr.write(`run ${handle.runId}: ${label} (${workAhead(label, run)})\n`);
  // retry-failed moves rows from failed to processed: its progress is the failed rows repaired.
  const of = (e: Event): [number, number | undefined] =>
    label === 'retry-failed'
      ? [run.rowsFailed - e.failed, run.rowsFailed]
      : [e.processed + e.failed, e.total ?? run.totalEstimate ?? undefined];
  const atStart = early ?? { processed: run.rowsProcessed, failed: run.rowsFailed };
  const [doneBefore, total] = of(atStart);
  // `migrate <name>` names its migration; a resume or retry of a run says which one it is too.
  const barLabel = label.startsWith('migrate ') ? label : `${label} ${run.migration}`;
  bar = { progress: startProgress(barLabel, total, progressWanted(ctx.json), doneBefore), of };
  bar.progress.update(...of(atStart));
  const removeSignals = onStopSignals(
    (signal) => {
      // The bar clears its line before any other write; with --json stderr holds JSON lines only.
      if (!ctx.json)
        process.stderr.write(
          `${signal}: stopping run ${handle.runId} after the batch in flight (again to abort)\n`,
        );
      handle.stop();
    },
    (signal) => {
      bar?.progress.stop();
      // An abort said nothing: the run is left `running` under this (now gone) process.
      process.stderr.write(
        errorLine(
          'run_stopped',
          'internal',
          `run ${handle.runId} aborted at once by a second ${signal}: the batch in flight rolls back, the committed ones stay; ` +
            `continue it with \`sdops migrate resume ${handle.runId}\` (on PostgreSQL once its lease has run out)`,
          ctx.json,
        ),
      );
    },
  );
  let summary: RunSummary;
  try {
    summary = await handle.done;
  } finally {
    removeSignals();
    bar.progress.stop();
  }
  // The run's last lines (its failed batches, "migration ended") come before its summary.
  await consoleCaughtUp();
  if (ctx.json) printJson(summary);
  else {
    process.stdout.write(
      `${formatTable([
        {
          run_id: summary.runId,
          migration: summary.migration,
          // A session that lost its lease does not know how the run ended: another runner owns it.
          state: summary.leaseLost
            ? 'lease_lost'
            : summary.dryRun
              ? `${summary.state} (dry-run)`
              : // The database still says running: the line below says until when.
                summary.recorded
                ? summary.state
                : `${summary.state} (not recorded: shows running)`,
          // retry-failed and resume sessions: what this command did, beside the run's total.
          'session rows': summary.sessionRows,
          'run rows': summary.rowsProcessed,
          'failed rows': summary.rowsFailed,
          'failed batches': summary.batchesFailed,
          'time (s)': Math.round(summary.durationMs) / 1000,
          trace_id: summary.traceId ?? '-',
        },
      ])}\n`,
    );
    if (summary.dryRun) {
      // A dry run stopped before the end has counted only the rows it scanned so far.
      const sofar = summary.state === 'succeeded' ? '' : ' in the part it scanned before it ended';
      process.stdout.write(
        `dry run: ${summary.rowsProcessed} rows would change${sofar}; nothing was written\n`,
      );
    }
  }
  // retry-failed repaired every failed batch of a run that had failed before its scan was complete:
  // what it was asked to do is done, and the run waits for `resume` (runbook, partial failures).
  if (summary.scanLeft && summary.batchesFailed === 0 && summary.recorded && !summary.leaseLost) {
    if (!ctx.json) {
      process.stderr.write(
        `run ${summary.runId}: every failed batch is repaired; the run had failed before its scan was complete: continue it with \`sdops migrate resume ${summary.runId}\`\n`,
      );
    }
    return;
  }
  // A run that stopped (a signal here, or `sdops migrate stop` elsewhere) did not finish: a script
  // must be able to tell it from one that did.
  if (
    summary.leaseLost ||
    !summary.recorded ||
    summary.state === 'failed' ||
    summary.state === 'partially_failed' ||
    summary.state === 'stopped'
  ) {
    throw new RunEndedBadly(summary);
  }
}
