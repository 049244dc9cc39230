import type { Command } from 'commander';
import { InvalidInputError } from '../../errors.ts';
import {
  MAX_BATCH_SIZE,
  MAX_FAILED_BATCHES,
  DEFAULT_RUN_LIST_LIMIT,
  MAX_LIST_LIMIT,
  MAX_OLDER_THAN_DAYS,
  MAX_ROWS_PER_SECOND,
} from '../../validation/index.ts';
import {
  checkStart,
  MigrationRunner,
  migrationNames,
  RUN_STATES,
  type RunState,
  type RunStatus,
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
import { formatTable, printable, printJson } from '../output.ts';
import { runSession, statusRow } from './migrate-session.ts';
import { defaultFromEnv } from '../../config.ts';

interface StartOptions {
  batchSize?: number;
  maxRowsPerSecond?: number;
  dryRun?: boolean;
  maxFailedBatches?: number;
  olderThanDays?: number;
  entity?: string[];
}

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** Every migrate command reports as service sdops-migrate. */
function withMigrateContext<T>(cmd: Command, fn: (ctx: CliContext) => Promise<T>): Promise<T> {
  return withContext(globals(cmd), fn, { role: 'migrate' });
}

/** A command that runs a migration's batches: its end counts on the dashboard (retriesFinalMetrics). */
function withRunContext<T>(cmd: Command, fn: (ctx: CliContext) => Promise<T>): Promise<T> {
  return withContext(globals(cmd), fn, { role: 'migrate', retriesFinalMetrics: true });
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
      `rows per batch, one transaction each (default: ${defaultFromEnv('SDOPS_MIGRATION_BATCH_SIZE')})`,
      positiveInt('--batch-size', MAX_BATCH_SIZE, 'invalid_batch_size'),
    )
    .option(
      '--max-rows-per-second <n>',
      'throttle: an average over batches (each batch runs at full speed, then the run waits); 0 or left out: none',
      wholeNumber('--max-rows-per-second', 0, MAX_ROWS_PER_SECOND),
    )
    .option('--dry-run', 'count what would change; write nothing')
    .option(
      '--max-failed-batches <n>',
      `more failed batches than this and the run ends failed (default: ${defaultFromEnv('SDOPS_MIGRATION_MAX_FAILED_BATCHES')})`,
      wholeNumber('--max-failed-batches', 0, MAX_FAILED_BATCHES),
    )
    .option(
      '--older-than-days <days>',
      'archive-soft-deleted / purge-archived: age cutoff',
      nonNegativeNumber('--older-than-days', MAX_OLDER_THAN_DAYS, 'invalid_older_than_days'),
    )
    .option(
      '--entity <name>',
      'limit to these entities (repeatable or comma list); archive-soft-deleted moves a parent only once nothing references it',
      listOption('--entity'),
    )
    .action(async (name: string, opts: StartOptions, cmd: Command) => {
      const params = { olderThanDays: opts.olderThanDays, entities: opts.entity };
      checkStart(name, params);
      await withRunContext(cmd, (ctx) =>
        runSession(ctx, `migrate ${name}`, (runner, onProgress) =>
          runner.start(
            name,
            {
              params,
              batchSize: opts.batchSize,
              maxRowsPerSecond: opts.maxRowsPerSecond || null,
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
      await withRunContext(cmd, (ctx) =>
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
      await withRunContext(cmd, (ctx) =>
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
        // With --wait the stop itself is inside the wait: a run row another session holds is tried
        // again until --timeout (it gave up after 5 s, at the first refusal).
        const stopWaiting = async () => {
          const timeoutMs = opts.timeout
            ? opts.timeout * 1000
            : (await runner.get(runId)).leaseTimeoutMs + 60_000;
          return runner.stopAndWait(runId, {
            timeoutMs,
            onWaiting: (r, leaseLeftMs) => {
              if (ctx.json) return;
              const expires = `its lease expires in ${Math.ceil(leaseLeftMs / 1000)} s`;
              const giveUp = `(giving up after ${Math.round(timeoutMs / 1000)} s)`;
              // What a plain stop and resume say of a runner this host knows is gone, not "if".
              process.stderr.write(
                runStatus(r).ownerProcessGone
                  ? `run ${runId}: stopping; its runner ${r.owner} was a process of this host that is gone, so nothing parks it before ${expires}: waiting for that, then parking it ${giveUp}\n`
                  : `run ${runId}: stopping; waiting for its runner ${r.owner} to park it after its batch in flight. ` +
                      `If that runner is gone, ${expires} and the run is parked then ${giveUp}\n`,
              );
            },
          });
        };
        const run = opts.wait ? await stopWaiting() : await runner.stop(runId);
        const status = runStatus(run);
        if (ctx.json) printJson(status);
        else {
          process.stdout.write(`run ${runId}: ${run.state}\n`);
          if (run.state === 'stopping' && status.ownerProcessGone)
            process.stderr.write(`${goneOwnerNote(runId, run.leaseTimeoutMs, status)}\n`);
        }
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
          // What the human line shows, and what a resume keeps unless given new ones (the API's run has them too).
          printJson({
            ...runStatus(run),
            params: run.params,
            batchSize: run.batchSize,
            maxRowsPerSecond: run.maxRowsPerSecond,
            failedBatches: failed,
          });
          return;
        }
        const s = runStatus(run);
        process.stdout.write(`${formatTable([statusRow(run)])}\n`);
        process.stdout.write(
          `params: ${JSON.stringify(run.params)}  batch size: ${run.batchSize}  ` +
            `throttle: ${run.maxRowsPerSecond === null ? 'none' : `${run.maxRowsPerSecond} rows/s`}  cursor: ${s.cursor ?? '-'}  ` +
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
    .option(
      '--limit <n>',
      'how many',
      positiveInt('--limit', MAX_LIST_LIMIT, 'invalid_limit'),
      DEFAULT_RUN_LIST_LIMIT,
    )
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

/**
 * A stop asks the run's runner to park it; a runner that is gone never does, and the run stays
 * `stopping` until its lease runs out and someone stops it again (MigrationRunStale pages for it).
 */
function goneOwnerNote(runId: string, leaseTimeoutMs: number, status: RunStatus): string {
  const left = Math.max(0, Math.ceil(leaseTimeoutMs / 1000 - (status.heartbeatAgeSeconds ?? 0)));
  return (
    `sdops: its runner ${status.owner} was a process of this host that is gone, so nothing parks the run: ` +
    `its lease expires in ${left}s; \`sdops migrate stop ${runId} --wait\` waits for that and parks it`
  );
}
