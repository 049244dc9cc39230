import type { Command } from 'commander';
import {
  type BuiltinJobType,
  CANCEL_STATES,
  type CancelledJob,
  type CancelState,
  CleanupQueue,
  type JobView,
  parsePayload,
  readJob,
} from '../../cleanup/index.ts';
import { ConflictError, InvalidInputError } from '../../errors.ts';
import { type CliContext, type GlobalOptions, withContext } from '../context.ts';
import { jobIdArgument, jobTypeArgument, oneOf } from '../args.ts';
import { formatTable, printable, printJson } from '../output.ts';
import { keyProblem, quoted } from '../../validation/index.ts';

/**
 * What a cancelled job had already done stays: a retrying job, or one a worker handed back at its
 * shutdown, has committed batches. Said, since "cancel it and nothing happens" is what an operator
 * undoing a wrong bulk delete expects; a bulk delete's rows are restored by its op id.
 */
function keptRowsNote(job: CancelledJob, dryRun: boolean): string | undefined {
  if (job.rowsCommitted === undefined) return undefined;
  const entity = (job.payload as { entity?: unknown } | null)?.entity;
  const undo =
    job.opId !== undefined && typeof entity === 'string'
      ? ` (undo them: sdops restore ${entity} --filter delete_op_id=${job.opId})`
      : '';
  const id = job.copyOf ?? job.jobId;
  return `note: ${job.jobType} job ${id} had already changed ${job.rowsCommitted} rows in committed batches; they ${dryRun ? 'would ' : ''}stay${undo}`;
}

/** Jobs a human-readable `queue cancel` lists; --json lists every one. */
const CANCEL_LIST_LIMIT = 50;

async function withQueue<T>(
  cmd: Command,
  fn: (queue: CleanupQueue, ctx: CliContext) => Promise<T>,
): Promise<T> {
  return withContext(cmd.optsWithGlobals<GlobalOptions>(), async (ctx) => {
    const queue = await CleanupQueue.open(ctx.db, { role: 'client', policy: ctx.config.worker.policy });
    try {
      return await fn(queue, ctx);
    } finally {
      await queue.close();
    }
  });
}

function parseJson(raw: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new InvalidInputError('invalid_payload', `--payload must be JSON, got ${quoted(raw)}`);
  }
  // The API refuses a key given twice; here the last one would silently pick the job's target.
  const problem = keyProblem(raw, true, '--payload');
  if (problem) throw new InvalidInputError('invalid_payload', problem);
  return value;
}

/**
 * An active job's lease, as `queue show` says it. One that ended already is a job whose process is
 * gone: the next worker's maintenance pass retries it. On the embedded database the next command
 * ends the lease of a killed process's job at once, by moving its start back a lease (gone-workers.ts).
 * On PostgreSQL a job with a heartbeat runs again once none is seen for its heartbeat's seconds: the
 * lease alone sent the operator to wait 15 minutes for a job that came back after one.
 */
function leaseNote(job: JobView, embedded: boolean, now = Date.now()): string {
  const { leaseEndsAt, heartbeatAt, heartbeatSeconds } = job;
  if (!leaseEndsAt) return '';
  const leaseRunning = Date.parse(leaseEndsAt) > now;
  if (heartbeatAt && heartbeatSeconds && leaseRunning) {
    const due = new Date(Date.parse(heartbeatAt) + heartbeatSeconds * 1000).toISOString();
    return Date.parse(due) > now
      ? `; heartbeat ${heartbeatAt}: if its worker is gone, the job runs again once none is seen for ${heartbeatSeconds}s (not before ${due}; then a worker's next maintenance pass and the retry delay), at the latest when its lease ends ${leaseEndsAt}`
      : `; no heartbeat since ${heartbeatAt} (${heartbeatSeconds}s allowed): its worker is gone or cut off, and the next worker's maintenance fails it and it runs again`;
  }
  if (leaseRunning) {
    return `; lease ends ${leaseEndsAt} (a killed worker's job stays active until then, and until a worker fails it)`;
  }
  return `; lease ended ${leaseEndsAt}: its worker is gone and the next worker retries it${embedded ? ' (a job a killed process left on the embedded database reads as started a lease early)' : ''}`;
}

export function registerQueue(program: Command): void {
  const queue = program.command('queue').description('inspect and operate the cleanup job queue');

  queue
    .command('status')
    .description('waiting, active, failed and dead jobs per type, and the oldest waiting age')
    .action(async (_opts: unknown, cmd: Command) => {
      await withQueue(cmd, async (q, ctx) => {
        const rows = await q.status();
        if (ctx.json) {
          printJson(rows);
          return;
        }
        const table = rows.map((r) => ({
          job_type: r.jobType,
          waiting: r.waiting,
          retrying: r.retrying,
          active: r.active,
          completed: r.completed,
          failed: r.failed,
          dead: r.dead,
          'oldest waiting (s)': r.oldestWaitingSeconds,
        }));
        process.stdout.write(`${formatTable(table)}\n`);
      });
    });

  queue
    .command('show')
    .description('one job by id: its state, retries, times, and its result or last error')
    .argument('<job_id>', 'job id (a UUID)', jobIdArgument)
    .action(async (jobId: string, _opts: unknown, cmd: Command) => {
      await withContext(cmd.optsWithGlobals<GlobalOptions>(), async (ctx) => {
        const job = await readJob(ctx.db, jobId);
        if (ctx.json) {
          printJson(job);
          return;
        }
        const lines = [
          // A retry is counted when it starts: "retrying, 0 of 3 retries used" read as none pending.
          job.state === 'retrying'
            ? `job ${job.jobId} (${job.jobType}): retrying, retry ${job.retryCount + 1} of ${job.retryLimit} comes next`
            : `job ${job.jobId} (${job.jobType}): ${job.state}, ${job.retryCount} of ${job.retryLimit} retries used`,
          `created ${job.createdAt}; started ${job.startedAt ?? '-'}; ended ${job.endedAt ?? '-'}` +
            leaseNote(job, ctx.db.kind === 'pglite'),
          ...(job.rowsCommitted === undefined
            ? []
            : [
                `rows changed so far: ${job.rowsCommitted}, in committed batches that stay${job.state === 'cancelled' ? '' : ' (a retry goes on after them)'}`,
              ]),
          ...(job.result ? [`result: ${printable(JSON.stringify(job.result))}`] : []),
          ...(job.error ? [`last error: ${printable(JSON.stringify(job.error))}`] : []),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      });
    });

  queue
    .command('retry')
    .description('run a failed or dead job again (by id), or every dead job with --dead')
    .argument('[job_id]', 'id of a failed or dead job (a UUID)', jobIdArgument)
    .option('--dead', 'retry every job in the dead-letter queue')
    .action(async (jobId: string | undefined, opts: { dead?: boolean }, cmd: Command) => {
      if ((jobId === undefined) === (opts.dead !== true)) {
        throw new InvalidInputError('invalid_argument', 'give either a job id or --dead');
      }
      await withQueue(cmd, async (q, ctx) => {
        const result = jobId === undefined ? await q.retryDead() : await q.retry(jobId);
        if (ctx.json) printJson(result);
        else if ('retried' in result) {
          process.stdout.write(`retried ${result.retried} dead job(s)\n`);
          for (const s of result.skipped) {
            process.stdout.write(`skipped dead-letter entry ${s.jobId}: ${s.code}: ${printable(s.reason)}\n`);
          }
        } else process.stdout.write(`${result.action} ${result.jobType} job ${result.jobId}\n`);
        // Exit 0 read as done while the skipped stayed dead and CleanupJobsDead kept firing.
        if ('retried' in result && result.skipped.length > 0) {
          throw new ConflictError(
            'job_not_retryable',
            `${result.skipped.length} dead job(s) were skipped and stay dead (each one's reason is in the output); ` +
              `${result.retried} retried`,
          );
        }
      });
    });

  queue
    .command('cancel')
    .description(
      'cancel waiting jobs or dead-letter copies nobody should run: one by id, or every job of a type in a state',
    )
    .argument('[job_id]', 'id of a waiting job or of a dead job (a UUID)')
    .option('--type <job_type>', 'cancel the jobs of this type (with --state)', jobTypeArgument)
    .option(
      '--state <state>',
      `with --type: ${CANCEL_STATES.join(', ')} (waiting includes retrying; dead = dead-letter copies)`,
      oneOf('--state', CANCEL_STATES),
    )
    .option('--dry-run', 'list what would be cancelled; change nothing')
    .action(
      async (
        jobId: string | undefined,
        opts: { type?: string; state?: CancelState; dryRun?: boolean },
        cmd: Command,
      ) => {
        if ((jobId === undefined) === (opts.type === undefined)) {
          throw new InvalidInputError(
            'invalid_argument',
            'give either a job id or --type <job_type> --state <state>',
          );
        }
        if (jobId !== undefined && opts.state !== undefined) {
          throw new InvalidInputError('invalid_argument', '--state goes with --type, not with a job id');
        }
        if (opts.type !== undefined && opts.state === undefined) {
          throw new InvalidInputError(
            'invalid_argument',
            `--type needs --state (${CANCEL_STATES.join(', ')})`,
          );
        }
        if (jobId !== undefined) jobIdArgument(jobId);
        const dryRun = opts.dryRun === true;
        await withQueue(cmd, async (q, ctx) => {
          const result = await q.cancel(
            jobId !== undefined
              ? { jobId, dryRun }
              : { jobType: opts.type as string, state: opts.state as CancelState, dryRun },
          );
          if (ctx.json) {
            printJson(result);
            return;
          }
          process.stdout.write(
            `${dryRun ? 'dry run: would cancel' : 'cancelled'} ${result.count} job(s)${dryRun ? '; nothing was changed' : ''}\n`,
          );
          if (result.count === 0) return;
          const copies = result.jobs.some((j) => j.copyOf !== undefined);
          const shown = result.jobs.slice(0, CANCEL_LIST_LIMIT).map((j) => ({
            job_id: j.jobId,
            job_type: j.jobType,
            state: j.state,
            // A dead-letter copy's id is not the one the operator knows: name the failed job too.
            ...(copies ? { copy_of: j.copyOf ?? '' } : {}),
            created: j.createdAt,
            payload: JSON.stringify(j.payload).slice(0, 80),
          }));
          process.stdout.write(`${formatTable(shown)}\n`);
          if (result.count > shown.length) {
            process.stdout.write(`... and ${result.count - shown.length} more (--json lists all)\n`);
          }
          for (const job of result.jobs) {
            const kept = keptRowsNote(job, dryRun);
            if (kept) process.stdout.write(`${kept}\n`);
          }
        });
      },
    );

  queue
    .command('enqueue')
    .argument('<job_type>', 'job type', jobTypeArgument)
    .description('enqueue one job, e.g. sdops queue enqueue purge_expired --payload \'{"entity":"orders"}\'')
    .option('--payload <json>', 'job payload as a JSON object', parseJson, {})
    .action(async (jobType: string, opts: { payload: unknown }, cmd: Command) => {
      parsePayload(jobType as BuiltinJobType, opts.payload);
      await withQueue(cmd, async (q, ctx) => {
        const id = await q.enqueue(jobType, opts.payload as Record<string, unknown>);
        if (ctx.json) printJson({ jobId: id, jobType });
        else process.stdout.write(`enqueued ${jobType} job ${id}\n`);
      });
    });
}
