import type { Command } from 'commander';
import { InvalidInputError, SdopsError } from '../../errors.ts';
import {
  MAX_BATCH_SIZE,
  MAX_FAILED_BATCHES,
  MAX_LIST_LIMIT,
  MAX_OLDER_THAN_DAYS,
  MAX_ROWS_PER_SECOND,
} from '../../validation/index.ts';
import {
  checkStart,
  formatDuration,
  MigrationRunner,
  migrationNames,
  RUN_STATES,
  type RunHandle,
  type RunRecord,
  type RunState,
  type RunSummary,
  runStatus,
} from '../../migration/index.ts';
import {
  listOption,
  nonNegativeNumber,
  oneOf,
  positiveInt,
  repeatable,
  runIdArgument,
  wholeNumber,
} from '../args.ts';
import { type CliContext, type GlobalOptions, withContext } from '../context.ts';
import {
  type Cell,
  formatTable,
  type Progress,
  printable,
  printJson,
  progressWanted,
  startProgress,
} from '../output.ts';
import { onStopSignals } from '../stop-signals.ts';

interface StartOptions {
  batchSize?: number;
  maxRowsPerSecond?: number;
  dryRun?: boolean;
  maxFailedBatches?: number;
  olderThanDays?: number;
  entity?: string[];
}

function endedBadly(summary: RunSummary): string {
  const id = summary.runId;
  if (summary.leaseLost) return `run ${id}: another runner took the run over; this one stopped`;
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
    const left = total === null ? '?' : Math.max(0, total - run.rowsProcessed - run.rowsFailed);
    return `${left} of ${total ?? '?'} rows left`;
  }
  return `${total ?? '?'} rows to do`;
}

function statusRow(run: RunRecord): Record<string, Cell> {
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
    owner: s.owner ? `${s.owner}${s.ownerAlive ? '' : ' (stale)'}` : '-',
  };
}

/**
 * Runs one runner session in this process: progress bar on a TTY, SIGINT/SIGTERM = `stop` (finish the
 * batch in flight, park `stopped`), telemetry flushed before the command returns.
 */
async function runSession(
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
  bar = { progress: startProgress(label, total, progressWanted(ctx.json), doneBefore), of };
  bar.progress.update(...of(atStart));
  const removeSignals = onStopSignals((signal) => {
    process.stderr.write(
      `\n${signal}: stopping run ${handle.runId} after the batch in flight (again to abort)\n`,
    );
    handle.stop();
  });
  let summary: RunSummary;
  try {
    summary = await handle.done;
  } finally {
    removeSignals();
    bar.progress.stop();
  }
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
              : summary.state,
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
    if (summary.dryRun)
      process.stdout.write(`dry run: ${summary.rowsProcessed} rows would change; nothing was written\n`);
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

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** Every migrate command reports as service sdops-migrate. */
function withMigrateContext<T>(cmd: Command, fn: (ctx: CliContext) => Promise<T>): Promise<T> {
  return withContext(globals(cmd), fn, { role: 'migrate' });
}

const stateNames = listOption('--state');
const oneState = oneOf('--state', RUN_STATES);

const stateList = repeatable((raw: string, previous?: RunState[]): RunState[] =>
  stateNames(raw, previous).map(oneState),
);

export function registerMigrate(program: Command): void {
  const migrate = program
    .command('migrate')
    .description(`resumable data migrations with a run_id (${migrationNames().join(', ')})`);

  migrate
    .command('start')
    .description(
      'start a migration run; Ctrl-C/SIGTERM stop it after its batch in flight (exit 1; resume later)',
    )
    .argument('<migration>', migrationNames().join(' | '))
    .option(
      '--batch-size <n>',
      'rows per batch (one transaction each)',
      positiveInt('--batch-size', MAX_BATCH_SIZE, 'invalid_batch_size'),
    )
    .option(
      '--max-rows-per-second <n>',
      'throttle: an average over batches (each batch runs at full speed, then the run waits)',
      positiveInt('--max-rows-per-second', MAX_ROWS_PER_SECOND),
    )
    .option('--dry-run', 'count what would change; write nothing')
    .option(
      '--max-failed-batches <n>',
      'more failed batches than this and the run ends failed',
      wholeNumber('--max-failed-batches', 0, MAX_FAILED_BATCHES),
    )
    .option(
      '--older-than-days <days>',
      'archive-soft-deleted / purge-archived: age cutoff',
      nonNegativeNumber('--older-than-days', MAX_OLDER_THAN_DAYS, 'invalid_older_than_days'),
    )
    .option('--entity <name>', 'limit to these entities (repeatable or comma list)', listOption('--entity'))
    .action(async (name: string, opts: StartOptions, cmd: Command) => {
      const params = { olderThanDays: opts.olderThanDays, entities: opts.entity };
      checkStart(name, params);
      await withMigrateContext(cmd, (ctx) =>
        runSession(ctx, `migrate ${name}`, (runner, onProgress) =>
          runner.start(
            name,
            {
              params,
              batchSize: opts.batchSize,
              maxRowsPerSecond: opts.maxRowsPerSecond ?? null,
              dryRun: opts.dryRun === true,
              maxFailedBatches: opts.maxFailedBatches,
            },
            { onProgress, waitOutOutage: true },
          ),
        ),
      );
    });

  migrate
    .command('resume')
    .description('continue a stopped, failed or abandoned (stale heartbeat) run from its checkpoint')
    .argument('<run_id>', 'run id (a UUID)', runIdArgument)
    .option(
      '--batch-size <n>',
      "rows per batch from now on (default: the run's)",
      positiveInt('--batch-size', MAX_BATCH_SIZE, 'invalid_batch_size'),
    )
    .option(
      '--max-rows-per-second <n>',
      "throttle from now on; 0 lifts it (default: the run's)",
      wholeNumber('--max-rows-per-second', 0, MAX_ROWS_PER_SECOND),
    )
    .action(async (runId: string, opts: { batchSize?: number; maxRowsPerSecond?: number }, cmd: Command) => {
      await withMigrateContext(cmd, (ctx) =>
        runSession(ctx, 'resume', (runner, onProgress) =>
          runner.resume(runId, {
            onProgress,
            ...(opts.batchSize === undefined ? {} : { batchSize: opts.batchSize }),
            ...(opts.maxRowsPerSecond === undefined
              ? {}
              : { maxRowsPerSecond: opts.maxRowsPerSecond === 0 ? null : opts.maxRowsPerSecond }),
          }),
        ),
      );
    });

  migrate
    .command('retry-failed')
    .description('reprocess only the batches a run recorded as failed')
    .argument('<run_id>', 'run id (a UUID)', runIdArgument)
    .action(async (runId: string, _opts: unknown, cmd: Command) => {
      await withMigrateContext(cmd, (ctx) =>
        runSession(ctx, 'retry-failed', (runner, onProgress) => runner.retryFailed(runId, { onProgress })),
      );
    });

  migrate
    .command('stop')
    .description('ask the runner to finish its batch in flight and park the run as stopped')
    .argument('<run_id>', 'run id (a UUID)', runIdArgument)
    .option(
      '--wait',
      'wait until the run is parked; a run whose runner died is parked when its lease expires',
    )
    .option(
      '--timeout <seconds>',
      "with --wait: give up after this long (default: the run's lease timeout plus 60 s)",
      positiveInt('--timeout', 86_400),
    )
    .action(async (runId: string, opts: { wait?: boolean; timeout?: number }, cmd: Command) => {
      if (opts.timeout !== undefined && !opts.wait) {
        throw new InvalidInputError('invalid_argument', '--timeout only applies with --wait');
      }
      await withMigrateContext(cmd, async (ctx) => {
        const runner = new MigrationRunner(ctx.db, ctx.config.migration);
        let run = await runner.stop(runId);
        if (opts.wait && run.state === 'stopping') {
          const timeoutMs = opts.timeout ? opts.timeout * 1000 : run.leaseTimeoutMs + 60_000;
          run = await runner.stopAndWait(runId, {
            timeoutMs,
            onWaiting: (r, leaseLeftMs) => {
              if (ctx.json) return;
              process.stderr.write(
                `run ${runId}: stopping; waiting for its runner ${r.owner} to park it after its batch in flight. ` +
                  `If that runner is gone, its lease expires in ${Math.ceil(leaseLeftMs / 1000)} s and the run is parked then ` +
                  `(giving up after ${Math.round(timeoutMs / 1000)} s)\n`,
              );
            },
          });
        }
        if (ctx.json) printJson(runStatus(run));
        else process.stdout.write(`run ${runId}: ${run.state}\n`);
      });
    });

  migrate
    .command('status')
    .description('state, progress, rate, ETA and failures of one run (or of recent runs)')
    .argument('[run_id]', 'run id (a UUID)', runIdArgument)
    .action(async (runId: string | undefined, _opts: unknown, cmd: Command) => {
      await withMigrateContext(cmd, async (ctx) => {
        const runner = new MigrationRunner(ctx.db, ctx.config.migration);
        if (runId === undefined) {
          const runs = await runner.list({ limit: 20 });
          if (ctx.json) printJson(runs.map((r) => runStatus(r)));
          else
            process.stdout.write(
              runs.length ? `${formatTable(runs.map(statusRow))}\n` : 'no migration runs\n',
            );
          return;
        }
        const run = await runner.get(runId);
        const failed = await runner.batches(runId, { status: 'failed', limit: 100 });
        if (ctx.json) {
          printJson({ ...runStatus(run), params: run.params, failedBatches: failed });
          return;
        }
        const s = runStatus(run);
        process.stdout.write(`${formatTable([statusRow(run)])}\n`);
        process.stdout.write(
          `params: ${JSON.stringify(run.params)}  batch size: ${run.batchSize}  cursor: ${s.cursor ?? '-'}  ` +
            `heartbeat: ${s.heartbeatAgeSeconds === null ? '-' : `${s.heartbeatAgeSeconds}s ago`}  ` +
            `sessions: ${run.sessions}  trace: ${s.traceId ?? '-'}\n`,
        );
        if (s.lastError) process.stdout.write(`last error: ${printable(s.lastError)}\n`);
        if (failed.length > 0) {
          process.stdout.write(
            `\nfailed batches\n${formatTable(
              failed.map((b) => ({
                batch: b.batchNo,
                entity: b.entity,
                range: `(${b.keyFrom ?? 'start'}, ${b.keyTo}]`,
                rows: b.rows,
                attempts: b.attempts,
                error: b.error,
              })),
            )}\n`,
          );
        }
      });
    });

  migrate
    .command('list')
    .description('migration runs, newest first')
    .option('--limit <n>', 'how many', positiveInt('--limit', MAX_LIST_LIMIT, 'invalid_limit'), 50)
    // A list: a second --state used to replace the first without a word.
    .option('--state <states>', 'only runs in these states (repeatable or comma list)', stateList)
    .action(async (opts: { limit: number; state?: RunState[] }, cmd: Command) => {
      await withMigrateContext(cmd, async (ctx) => {
        const runner = new MigrationRunner(ctx.db, ctx.config.migration);
        const runs = await runner.list({ limit: opts.limit, states: opts.state });
        if (ctx.json) printJson(runs.map((r) => runStatus(r)));
        else
          process.stdout.write(runs.length ? `${formatTable(runs.map(statusRow))}\n` : 'no migration runs\n');
      });
    });
}
