import { setTimeout as sleep } from 'node:timers/promises';
import type { JobWithMetadata } from 'pg-boss';
import { CancelScope, isDatabaseUnavailable, readBackOnRetry, withCancelScope } from '../db/index.ts';
import { type Logger, withLogFields, workerMetrics, withSpan } from '../observability/index.ts';
import { toError } from '../errors.ts';
import { entityNames } from '../soft-delete/index.ts';
import { InvalidPayloadError, JobClaimLostError, JobTimeoutError, WorkerShutdownError } from './errors.ts';
import { handBack } from './hand-back.ts';
import { jobLeftAs } from './settle-readback.ts';
import { doneWithin } from '../timing.ts';
import type { HandlerRegistry, JobContext, JobResult } from './handlers-types.ts';
import type { Completions } from './completions.ts';
import type { JobAbort } from './job-abort.ts';
import { parseEnvelope } from './job-envelope.ts';
import { queueName } from './queue-names.ts';
import type { CleanupQueue } from './queue.ts';

export type Job = JobWithMetadata<unknown>;

/** What an attempt needs from the worker that claimed its job. */
export interface AttemptDeps {
  readonly queue: CleanupQueue;
  /** Where a successful attempt is marked complete (batched with the others finishing with it). */
  readonly completions: Completions;
  readonly handlers: HandlerRegistry;
  readonly log: Logger;
  /** Cancels the statements this attempt has running (its lease ran out). */
  readonly cancelStatements: (scope: CancelScope) => Promise<number>;
  /**
   * Aborted when the worker stops waiting for outcomes to be recorded (a stop whose database did not
   * take them in time): an attempt then gives up at once, and its job runs again when its lease ends.
   */
  readonly recording: AbortSignal;
}

export interface AttemptOutcome {
  /** The handler succeeded and the job was marked complete. */
  readonly ok: boolean;
  /** Rows (or jobs, for a fan-out) the attempt changed. */
  readonly rows: number;
  /** Handed back at shutdown: the attempt did not end, its job runs again (counted nowhere). */
  readonly handedBack: boolean;
}

const attemptOf = (job: Job) => ({ id: job.id, retryCount: job.retryCount });

const SETTLE_RETRY_MAX_MS = 2000;

/**
 * Marks the attempt complete or failed. While the database is unreachable (a restart, an outage) the
 * call is repeated with backoff until the attempt's lease would have run out: a finished job is
 * recorded as soon as the database is back instead of waiting out its lease to run again. Fenced to
 * the attempt, so a late call after the lease ran out changes nothing.
 */
async function recordOutcome<T>(
  outcome: () => Promise<T>,
  job: Job,
  started: number,
  recording: AbortSignal,
): Promise<T> {
  const deadline = started + job.expireInSeconds * 1000;
  for (let wait = 100; ; wait = Math.min(SETTLE_RETRY_MAX_MS, wait * 2)) {
    try {
      return await outcome();
    } catch (error) {
      if (!isDatabaseUnavailable(error) || performance.now() + wait > deadline || recording.aborted)
        throw error;
      // The worker giving up ends the wait at once (an AbortError, which only wakes the loop).
      await sleep(wait, undefined, { signal: recording }).catch(() => undefined);
    }
  }
}

const toMs = (value: unknown): number => new Date(value as string | Date).getTime();

const secondsSince = (started: number): number => (performance.now() - started) / 1000;

/** Ends the deadline race: the timer and the abort listener go. */
function settle(timer: NodeJS.Timeout, abort: JobAbort): void {
  clearTimeout(timer);
  abort.onAbort(undefined);
}

function errorOutput(error: unknown): Record<string, string> {
  const err = toError(error);
  const code = (error as { code?: unknown } | null)?.code;
  return { message: err.message, name: err.name, ...(typeof code === 'string' ? { code } : {}) };
}

/** How long an attempt whose lease ran out waits for its handler to stop after its statements were cancelled. */
const EXPIRED_SETTLE_MS = 5000;

/**
 * Races the handler against the job's lease and the shutdown hand-back; the handler sees the abort.
 * A lease that runs out cancels the attempt's running statements (`cancelStatements`) and settles
 * once the handler has stopped (or after EXPIRED_SETTLE_MS): recorded failed at once, the attempt
 * went on writing beside its own retry, a statement waiting on a lock committing a batch a minute
 * later. A lost claim (heartbeats.ts: the job was failed and runs again) is stopped the same way. A
 * hand-back settles at once; the worker cancels the statements after (worker.ts stop).
 */
function withDeadline(
  work: Promise<JobResult>,
  job: Job,
  abort: JobAbort,
  cancelStatements: () => Promise<unknown>,
): Promise<JobResult> {
  return new Promise<JobResult>((resolve, reject) => {
    let expired: JobTimeoutError | JobClaimLostError | undefined;
    // Settles once the expired attempt's statements were cancelled: only then is it recorded failed.
    let cancelled: Promise<unknown> = Promise.resolve();
    const stopped = work.then(
      () => undefined,
      () => undefined,
    );
    const timer = setTimeout(() => {
      expired = new JobTimeoutError(job.expireInSeconds);
      abort.abort(expired);
    }, job.expireInSeconds * 1000);
    abort.onAbort((reason) => {
      if (reason instanceof JobClaimLostError) expired = reason;
      if (reason !== expired) {
        reject(reason);
        return;
      }
      cancelled = cancelStatements().catch(() => 0);
      void cancelled.then(() => doneWithin(stopped, EXPIRED_SETTLE_MS)).then(() => reject(reason));
    });
    work.then(
      (result) => {
        settle(timer, abort);
        if (expired) void cancelled.then(() => reject(expired));
        else resolve(result);
      },
      (error: unknown) => {
        settle(timer, abort);
        // A statement cancelled because the lease ran out fails with 57014: the lease is the reason.
        if (expired) void cancelled.then(() => reject(expired));
        else reject(error);
      },
    );
  });
}

/**
 * One attempt of one claimed job, in a `cleanup.job` span that links to the enqueuing trace: the
 * handler runs under the job's lease, then the job is marked complete, or failed (pg-boss retries it
 * with backoff, or it is dead after its retry limit). Records the queue-wait and duration histograms
 * and the processed/failure counters, and logs the outcome. Never throws: a failure is recorded on
 * the span, in the log and in the metrics, and the queue owns the retry.
 */
export async function runAttempt(
  deps: AttemptDeps,
  type: string,
  job: Job,
  abort: JobAbort,
): Promise<AttemptOutcome> {
  // The connections of this attempt's handler: a lease that runs out cancels their statements.
  const scope = new CancelScope();
  const name = queueName(type);
  const attempt = job.retryCount + 1;
  const eligibleAt = Math.max(toMs(job.createdOn), toMs(job.startAfter));
  workerMetrics.jobStarted({
    jobType: type,
    queueWaitSeconds: Math.max(0, (toMs(job.startedOn) - eligibleAt) / 1000),
  });
  const envelope = parseEnvelope(job.data);
  const started = performance.now();
  let ok = false;
  let rows = 0;
  let handedBackAttempt = false;
  try {
    // Every record of the attempt carries the job, also the lines its handler's calls write through
    // their own loggers (the soft-delete core's "soft_delete operation"): found by job_id in Loki.
    await withLogFields({ job_type: type, job_id: job.id, attempt }, () =>
      withSpan(
        'cleanup.job',
        { job_type: type, 'job.id': job.id, attempt },
        async (span) => {
          const log = deps.log;
          try {
            if (!envelope || envelope.jobType !== type) {
              throw new InvalidPayloadError(type, 'job data is not a cleanup job envelope');
            }
            const ctx: JobContext = {
              jobId: job.id,
              jobType: type,
              attempt,
              get signal() {
                return abort.signal;
              },
              queue: deps.queue,
              log,
            };
            const work = withCancelScope(scope, () => deps.handlers[type]!(envelope.payload, ctx));
            abort.handlerSettled = work.then(
              () => undefined,
              () => undefined,
            );
            const result = await withDeadline(work, job, abort, () => deps.cancelStatements(scope));
            // The attempt ({ id, retryCount }), not the id: if this attempt's lease ran out and the job
            // was claimed again, the late outcome leaves the newer attempt alone.
            const output = { count: result.count, ...result.detail };
            const completed = await recordOutcome(
              readBackOnRetry(
                () => deps.completions.complete(name, attemptOf(job), output),
                () => jobLeftAs(deps.queue.boss, name, attemptOf(job), 'completed'),
              ),
              job,
              started,
              deps.recording,
            );
            // Failed under it meanwhile (a worker frozen past its heartbeat time, say) and running
            // again: logged and counted as a success, its completion had changed nothing.
            if (!completed) throw new JobClaimLostError();
            rows = result.count;
            span.setAttributes({
              status: 'success',
              count: result.count,
              ...(result.entity ? { entity: result.entity } : {}),
            });
            ok = true;
            log.info('cleanup job finished', {
              count: result.count,
              duration: secondsSince(started),
              status: 'success',
            });
          } catch (error) {
            const output = errorOutput(error);
            const handedBack = error instanceof WorkerShutdownError;
            handedBackAttempt = handedBack;
            // Not handed back (the database did not take it, or the attempt's lease had run out and
            // the fence left the job alone): the job runs again once its lease ends, as after a crash.
            let handBackLost = false;
            const handingBack = readBackOnRetry(
              () => handBack(deps.queue.db, name, attemptOf(job), output),
              () => jobLeftAs(deps.queue.boss, name, attemptOf(job), 'created'),
            );
            const record = handedBack
              ? async () => {
                  handBackLost = !(await handingBack());
                }
              : () => deps.queue.boss.fail(name, attemptOf(job), output);
            // A lost claim was recorded failed already, by the maintenance that took it: recording it
            // again would spend a second retry of the attempt that replaces it.
            const claimLost = error instanceof JobClaimLostError;
            const recorded = claimLost
              ? Promise.resolve()
              : recordOutcome<unknown>(record, job, started, deps.recording);
            await recorded.catch((failError: unknown) => {
              handBackLost = handedBack;
              log.warn(
                handedBack
                  ? 'could not hand the job back; its lease will expire instead'
                  : 'could not mark the job failed; its lease will expire instead',
                {},
                failError,
              );
            });
            const last = !handedBack && attempt > job.retryLimit;
            // The failed attempt's span carries what the table lists too: nothing counted, and the
            // entity the payload named (none for a fan-out job), if registered: `entity` is a
            // span-metrics dimension, and a bad payload may name anything.
            const named = (envelope?.payload as { entity?: unknown } | undefined)?.entity;
            const entity = typeof named === 'string' && entityNames().includes(named) ? named : undefined;
            span.setAttributes({ count: 0, ...(entity ? { entity } : {}) });
            if (handedBack && !handBackLost) {
              // Routine on every deploy: neither a failure nor a warning. The span ends without an
              // error (a row of failed job spans per deploy in the traces and span metrics) and
              // without a status: the attempt did not end, its job's next one does.
              log.info('cleanup job handed back at shutdown, runs again without spending a retry', {
                duration: secondsSince(started),
              });
              return;
            }
            log.warn(
              handedBack
                ? 'cleanup job stopped at shutdown and not handed back: it runs again when its lease ends'
                : last
                  ? 'cleanup job failed, retries exhausted: dead'
                  : claimLost
                    ? 'cleanup job failed: its heartbeat was not seen in time, and it runs again; this attempt stopped'
                    : 'cleanup job failed, will be retried',
              { count: 0, duration: secondsSince(started), status: 'failure', dead: last },
              error,
            );
            throw error;
          }
        },
        { kind: 'consumer', root: true, links: [envelope?.meta.trace] },
      ),
    );
  } catch {
    // Recorded on the span, in the log and as a failed attempt; the queue owns the retry.
  } finally {
    // A handed-back attempt did not end: its job runs again without spending a retry, and that attempt
    // is the one counted. Counted as failed, every deploy fed CleanupJobFailureRatioHigh.
    if (!handedBackAttempt) {
      workerMetrics.jobFinished({
        jobType: type,
        status: ok ? 'success' : 'failure',
        durationSeconds: secondsSince(started),
      });
    }
  }
  return { ok, rows, handedBack: handedBackAttempt };
}
