import { randomUUID } from 'node:crypto';
import type { PgBoss } from 'pg-boss';
import { ADVISORY_LOCK_KEYS, type Database, databaseError, type Queryable } from '../db/index.ts';
import { captureTraceContext, getLogger } from '../observability/index.ts';
import { BackgroundFailures } from './background-failures.ts';
import { BOSS_SCHEMA, bossTransactionAdapter, createBoss } from './boss.ts';
import { carryOverLegacyJobs, setAsideLegacySchema } from './boss-upgrade.ts';
import { type CancelOutcome, type CancelRequest, cancelJobs } from './cancel.ts';
import { type RetryDeadOutcome, retryDeadJobs, retryJob, type RetryOutcome } from './dead-letter.ts';
import type { JobEnvelope } from './job-envelope.ts';
import type { JobPayloads } from './job-payloads.ts';
import { type JobView, readJob } from './job-view.ts';
import { assertJobType, BUILTIN_JOB_TYPES, isBuiltinJobType } from './job-types.ts';
import { parsePayload } from './payload-parsers.ts';
import { DEAD_LETTER_QUEUE, queueName } from './queue-names.ts';
import { assertUndoAllowed } from './pending-deletes.ts';
import { ensureQueues } from './queue-setup.ts';
import { readQueueCounts } from './queue-truth.ts';
import type { QueuePolicy } from './settings.ts';
import { doneWithin } from '../timing.ts';

/**
 * How long closing the queue waits for pg-boss to stop (CleanupQueue.close): its last statements take
 * milliseconds on a database that answers; on a frozen one, every second here is one a stopping
 * worker may not have before its orchestrator's SIGKILL (runbook, "Stopping a worker").
 */
const CLOSE_WAIT_MS = 2000;

export interface CleanupQueueOptions {
  /** worker: runs pg-boss maintenance (lease expiry) and cron, and applies `policy` to the queues. */
  readonly role: 'client' | 'worker';
  /** Default: the built-in types. Extra types need handlers in the worker. */
  readonly jobTypes?: readonly string[];
  /**
   * Retries, backoff and lease of the queues it creates (a worker also applies it to existing ones).
   * Required: the caller passes the configured SDOPS_JOB_* policy (`loadConfig().worker.policy`), so
   * no process can create queues with a built-in policy of its own.
   */
  readonly policy: QueuePolicy;
  readonly maintenanceIntervalSeconds?: number;
}

export interface EnqueueOptions {
  /** Seconds to wait before the job may start. */
  readonly startAfterSeconds?: number;
  /**
   * Insert the job on this connection, inside the caller's transaction: it commits (and becomes
   * visible to workers) with the caller's writes, or not at all.
   */
  readonly transaction?: Queryable;
  /**
   * The job's id (a UUID). Enqueuing an id that exists adds nothing: a job that enqueues others
   * derives their ids from its own, so its retry does not enqueue them a second time.
   */
  readonly id?: string;
}

export interface QueueStatusRow {
  readonly jobType: string;
  /** created or waiting for a retry (backing off). */
  readonly waiting: number;
  /** Of waiting: jobs that failed at least once and wait for their next attempt. */
  readonly retrying: number;
  readonly active: number;
  readonly completed: number;
  /** Retries exhausted (kept until pg-boss deletes finished jobs, 7 days after they end). */
  readonly failed: number;
  /** Copies in the dead-letter queue waiting for `sdops queue retry`. */
  readonly dead: number;
  /**
   * Seconds the oldest due waiting job has waited since it became due (enqueued, or its retry
   * backoff over): the cleanup_queue_oldest_wait_seconds gauge's reading; 0 when none is due.
   */
  readonly oldestWaitingSeconds: number;
}

type Payload<T extends string> = T extends keyof JobPayloads ? JobPayloads[T] : Record<string, unknown>;

/**
 * The cleanup queue over pg-boss: enqueue (with the caller's trace context), status, retry of dead
 * jobs, cron schedules. One queue per job type (`cleanup.<type>`) plus a shared dead-letter queue.
 */
export class CleanupQueue {
  private readonly log = getLogger('cleanup.queue');
  private readonly backgroundFailures = new BackgroundFailures();

  readonly boss: PgBoss;
  readonly db: Database;
  readonly jobTypes: readonly string[];
  readonly policy: QueuePolicy;

  private constructor(boss: PgBoss, db: Database, jobTypes: readonly string[], policy: QueuePolicy) {
    this.boss = boss;
    this.db = db;
    this.jobTypes = jobTypes;
    this.policy = policy;
  }

  static async open(db: Database, options: CleanupQueueOptions): Promise<CleanupQueue> {
    const jobTypes = [...(options.jobTypes ?? BUILTIN_JOB_TYPES)];
    const { policy } = options;
    const worker = options.role === 'worker';
    const boss = createBoss(db, {
      supervise: worker,
      schedule: worker,
      maintenanceIntervalSeconds: options.maintenanceIntervalSeconds ?? 30,
    });
    const queue = new CleanupQueue(boss, db, jobTypes, policy);
    boss.on('error', (error) => queue.backgroundFailed(error));
    try {
      // Processes that start together on a fresh database (compose starts the API, the worker and
      // the traffic generator at once) would race to create pg-boss's schema and our queues
      // (deadlocks, duplicate keys in pg_namespace): the whole setup runs under one session lock.
      await db.withLock(ADVISORY_LOCK_KEYS.queueSetup, async () => {
        await setAsideLegacySchema(db, queue.log);
        await boss.start();
        await ensureQueues(boss, db, jobTypes, policy, worker ? queue.log : undefined);
        await carryOverLegacyJobs(db, boss, [DEAD_LETTER_QUEUE, ...jobTypes.map(queueName)], queue.log);
      });
    } catch (error) {
      // Whatever pg-boss armed before the failure (timers, intervals) must not keep the process alive.
      await boss.stop({ graceful: false, close: false }).catch(() => undefined);
      throw error;
    }
    // On the embedded database the jobs a killed process left active were handed back at open
    // (gone-workers.ts); one maintenance pass now retries them, instead of the first timed pass a
    // maintenance interval later.
    if (worker && db.kind === 'pglite') await boss.supervise();
    return queue;
  }

  /** pg-boss's background work (lease expiry, cron) failed: said once a minute per kind (BackgroundFailures). */
  private backgroundFailed(error: unknown): void {
    if (!this.backgroundFailures.shouldSay(error, Date.now())) return;
    // pg-boss re-emits some failures as plain objects ({ ...error, message, stack }).
    const reported =
      error instanceof Error
        ? error
        : Object.assign(new Error(String((error as { message?: unknown } | null)?.message ?? error)), error);
    this.log.warn('queue background task failed', {}, databaseError(reported));
  }

  private envelope(jobType: string, payload: unknown, jobId: string | undefined): JobEnvelope {
    const checked = this.normalisedPayload(jobType, payload);
    const trace = captureTraceContext();
    return {
      jobType,
      payload: checked,
      meta: {
        ...(jobId ? { jobId } : {}),
        enqueuedAt: new Date().toISOString(),
        ...(trace ? { trace } : {}),
      },
    };
  }

  /**
   * Validates the payload, captures the CURRENT trace context into the job and enqueues it.
   * Returns the job id. Throws UnknownJobTypeError / InvalidPayloadError on bad input.
   */
  async enqueue<T extends string>(
    jobType: T,
    payload: Payload<T>,
    options: EnqueueOptions = {},
  ): Promise<string> {
    const id = options.id ?? randomUUID();
    const data = this.envelope(jobType, payload, id);
    // However it is enqueued (the API, `sdops queue enqueue`): an undo waits for the delete it undoes.
    if (jobType === 'bulk_restore') {
      const { entity } = data.payload as { entity: string };
      await assertUndoAllowed(options.transaction ?? this.db, entity, data.payload);
    }
    await this.boss.send(queueName(jobType), data as unknown as object, {
      id,
      ...(options.startAfterSeconds ? { startAfter: options.startAfterSeconds } : {}),
      ...(options.transaction ? { db: bossTransactionAdapter(options.transaction) } : {}),
    });
    this.log.debug('job enqueued', { job_type: jobType, job_id: id });
    return id;
  }

  /**
   * The payload a job of this type was enqueued with, as stored (validated and normalised), or
   * undefined when there is no such job (it completed and was deleted since).
   */
  async queuedPayload(jobType: string, id: string): Promise<unknown> {
    const job = await this.boss.getJobById<JobEnvelope>(queueName(jobType), id);
    return job?.data.payload;
  }

  /** What enqueue stores as a payload of this type: validated and normalised. */
  normalisedPayload(jobType: string, payload: unknown): Record<string, unknown> {
    assertJobType(jobType, this.jobTypes);
    const checked = isBuiltinJobType(jobType) ? parsePayload(jobType, payload) : payload;
    return { ...(checked as Record<string, unknown>) };
  }

  /**
   * Bulk enqueue in chunks of one INSERT each (benchmarks, fan-out). Returns the job ids; `ids`
   * (one per payload) as EnqueueOptions.id: an id that exists adds nothing.
   */
  async enqueueMany<T extends string>(
    jobType: T,
    payloads: readonly Payload<T>[],
    options: { readonly ids?: readonly string[] } = {},
  ): Promise<string[]> {
    const ids: string[] = [];
    const chunk = 1000;
    for (let i = 0; i < payloads.length; i += chunk) {
      const jobs = payloads.slice(i, i + chunk).map((p, j) => {
        const id = options.ids?.[i + j] ?? randomUUID();
        ids.push(id);
        return { id, data: this.envelope(jobType, p, id) as unknown as object };
      });
      await this.boss.insert(queueName(jobType), jobs);
    }
    return ids;
  }

  /**
   * Which of these types have a job that could start now, in ONE query of one index probe per type
   * (the worker's claim loop asks this before it shares out its free slots).
   */
  async typesWaiting(jobTypes: readonly string[]): Promise<Set<string>> {
    const { rows } = await this.db.query<{ name: string }>(
      `SELECT q.name FROM unnest($1::text[]) AS q(name)
        WHERE EXISTS (SELECT 1 FROM ${BOSS_SCHEMA}.job j
                       WHERE j.name = q.name AND j.state < 'active' AND NOT j.blocked
                         AND j.start_after <= now())`,
      [jobTypes.map(queueName)],
    );
    return new Set(rows.map((r) => r.name.slice(queueName('').length)));
  }

  async status(): Promise<QueueStatusRow[]> {
    const counts = await readQueueCounts(this.db, this.jobTypes, { finished: true });
    return [...counts].map(([jobType, c]) => ({
      jobType,
      waiting: c.waiting,
      retrying: c.retrying,
      active: c.active,
      completed: c.completed,
      failed: c.failed,
      dead: c.dead,
      oldestWaitingSeconds: Math.round(c.oldestWaitSeconds),
    }));
  }

  /** One job by its id, as its caller follows it (JobNotFoundError when there is none). */
  job(jobId: string): Promise<JobView> {
    return readJob(this.db, jobId);
  }

  /** Brings a failed job (by its id, or its dead-letter copy's id) back for one more attempt. */
  retry(jobId: string): Promise<RetryOutcome> {
    return retryJob(this, jobId);
  }

  /** Retries every job in the dead-letter queue: how many were brought back, and the entries skipped. */
  retryDead(): Promise<RetryDeadOutcome> {
    return retryDeadJobs(this);
  }

  /** Cancels waiting jobs or dead-letter copies (by id, or by type and state); a dry run only lists them. */
  cancel(request: CancelRequest): Promise<CancelOutcome> {
    return cancelJobs(this.db, this.jobTypes, request);
  }

  /** Saves (or with cron undefined removes) the cron schedule that enqueues `jobType` with `payload`. */
  async schedule(
    jobType: string,
    cron: string | undefined,
    payload: Record<string, unknown> = {},
  ): Promise<void> {
    const name = queueName(jobType);
    // The last worker to start wins: one started with another setting (a rolling deploy, a worker
    // with an old environment) changed every worker's schedule with nothing said.
    const saved = (await this.boss.getSchedules(name)).map((s) => s.cron).find((c) => c !== undefined);
    if (saved !== undefined && saved !== cron) {
      this.log.warn("this worker's setting replaces the saved cron schedule of every worker", {
        job_type: jobType,
        saved_cron: saved,
        cron: cron ?? 'off',
      });
    } else if (saved === undefined && cron !== undefined) {
      // None saved: a first start, or one after a worker set it off (which leaves no trace to warn
      // by). At debug: serve on the embedded database saves them before it knows it can listen, and
      // a refused start writes one line only.
      this.log.debug('this worker saves the cron schedule of every worker', { job_type: jobType, cron });
    }
    if (cron === undefined) {
      await this.boss.unschedule(name);
      return;
    }
    const data = this.envelope(jobType, payload, undefined);
    // A saved schedule replays the same data on every tick: it must not carry one trace forever.
    const { trace: _trace, ...meta } = data.meta;
    await this.boss.schedule(name, cron, { ...data, meta } as unknown as object, { tz: 'UTC' });
  }

  /**
   * Stops pg-boss, waiting at most CLOSE_WAIT_MS: its stop waits for a job claim in flight, and a
   * claim is held through a frozen database (bossDbAdapter), so a worker stopped during a freeze
   * never exited. Past the wait the pool's close ends the claim's connection.
   */
  async close(): Promise<void> {
    await doneWithin(this.boss.stop({ graceful: false, close: false }), CLOSE_WAIT_MS);
  }
}
