import type { Command } from 'commander';
import { startCleanupRuntime } from '../../cleanup/index.ts';
import { defaultFromEnv, loadConfig } from '../../config.ts';
import { getLogger } from '../../observability/index.ts';
import { MAX_WORKER_CONCURRENCY } from '../../validation/index.ts';
import { listOption, positiveInt, refuseBadWorkerSettings } from '../args.ts';
import { type GlobalOptions, withContext } from '../context.ts';
import { startLongRunningTelemetry, untilAskedToStop } from '../long-running.ts';

const log = getLogger('cleanup.worker');

interface WorkerCliOptions {
  concurrency?: number;
  jobTypes?: string[];
  schedule: boolean;
}

const jobTypeList = listOption('--job-types');

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run the cleanup worker until SIGTERM/SIGINT (then finish running jobs and exit)')
    .option(
      '--concurrency <n>',
      `jobs run at a time (default: ${defaultFromEnv('SDOPS_WORKER_CONCURRENCY')})`,
      positiveInt('--concurrency', MAX_WORKER_CONCURRENCY),
    )
    .option('--job-types <list>', 'comma-separated job types to take (default: all)', jobTypeList)
    .option(
      '--no-schedule',
      'do not save the purge/archive cron schedules (saved ones go on firing: turn one off with SDOPS_PURGE_CRON=off / SDOPS_ARCHIVE_CRON=off on a worker without this flag)',
    )
    .action(async (opts: WorkerCliOptions, cmd: Command) => {
      // Before opening anything: an unknown type or a bad cron neither creates a data directory nor
      // waits for a database it never needed (with --no-schedule too: a setting is bad or good
      // whichever process reads it).
      const config = loadConfig();
      await refuseBadWorkerSettings(config.worker, opts.jobTypes);
      await withContext(
        cmd.optsWithGlobals<GlobalOptions>(),
        async (ctx) => {
          // Registered before the worker starts (and logs "worker started"), so a SIGTERM at any point
          // of the start-up is a graceful stop, not the default exit.
          const stopped = untilAskedToStop(
            ctx,
            `jobs still running roll back their batch in flight and run again ${rerunAfterKill(ctx.db.kind, ctx.config.worker.policy.heartbeatSeconds)}`,
          );
          const concurrency = opts.concurrency ?? ctx.config.worker.concurrency;
          // Each running job holds a pooled connection for its transaction, and the queue needs some too.
          if (ctx.config.databaseUrl && concurrency >= ctx.config.dbPoolSize) {
            log.warn(
              'worker concurrency is not below the connection pool size: jobs will wait for connections; raise SDOPS_DB_POOL_SIZE',
              { concurrency, pool_size: ctx.config.dbPoolSize },
            );
          }
          // The queue setup after the schema check rides out a restart too (it ended the process).
          const runtime = await ctx.starting(() =>
            startCleanupRuntime(ctx.db, {
              settings: ctx.config.worker,
              schedule: opts.schedule,
              concurrency,
              ...(opts.jobTypes ? { jobTypes: opts.jobTypes } : {}),
            }),
          );
          const database = await ctx.starting(() => startLongRunningTelemetry(ctx));
          let signal: NodeJS.Signals;
          let result: Awaited<ReturnType<typeof runtime.stop>>;
          try {
            signal = await stopped;
            log.info('shutdown requested', { signal });
            result = await runtime.stop();
          } finally {
            // After the stop: its last reading shows the jobs handed back as waiting again.
            await database.stop();
          }
          log.info('worker exiting', {
            signal,
            drained: result.drained,
            handed_back: result.handedBack,
          });
        },
        { role: 'worker', logToStdout: true, config },
      );
    });
}

/** When a job a worker stopped at once runs again: what the second signal's line tells the operator. */
function rerunAfterKill(kind: 'pglite' | 'postgres', heartbeatSeconds: number | undefined): string {
  if (kind === 'pglite') return 'when a process next opens this data directory';
  const lease = 'their lease expires (SDOPS_JOB_EXPIRE_SECONDS)';
  return (heartbeatSeconds ?? 0) > 0
    ? `once their heartbeat goes stale (SDOPS_JOB_HEARTBEAT_SECONDS) or ${lease}`
    : `once ${lease}`;
}
