import type { Database } from '../db/index.ts';
import { isDatabaseUnavailable } from '../db/index.ts';
import type { Logger } from '../observability/index.ts';
import { BOSS_SCHEMA } from './boss.ts';
import { JobClaimLostError } from './errors.ts';
import type { JobAbort } from './job-abort.ts';
import { queueName } from './queue-names.ts';

const TICK_MS = 1000;
/**
 * The first stamp waits this long after a claim, so that one statement stamps every job claimed
 * meanwhile that still runs: stamping each fetch at once cost a statement per job to a busy worker
 * of short jobs (no-op jobs: 15% fewer per second), most of them done before the stamp. A job that
 * came with its queue's heartbeat time is covered from its claim anyway (queue-setup.ts); the first
 * stamp covers one that did not (enqueued while the queue carried another worker's setting).
 */
const FIRST_BEAT_MS = 20;

/**
 * The heartbeat time a worker with this setting runs its jobs under on this kind of database, or null
 * when it stamps none (heartbeats off; the embedded database, where a killed worker is the whole
 * process: gone-workers.ts).
 */
export function heartbeatSecondsOn(kind: Database['kind'], seconds: number | undefined): number | null {
  return kind === 'postgres' && seconds !== undefined && seconds > 0 ? seconds : null;
}

/** One attempt: a job failed under its attempt may run again in this same worker meanwhile. */
const attemptKey = (job: { id: string; retryCount: number }): string => `${job.id}/${job.retryCount}`;

interface Held {
  readonly key: string;
  readonly queue: string;
  readonly id: string;
  readonly retryCount: number;
  readonly abort: JobAbort;
  due: number;
}

/**
 * Stamps pg-boss's `heartbeat_on` (and the job's `heartbeat_seconds`) on the jobs this worker runs,
 * on PostgreSQL. pg-boss's maintenance, which every worker runs, fails an active job whose stamp is
 * older than its heartbeat time, and the job runs again: a worker killed mid-job (kill -9, OOM, a
 * lost host) gave its job back only when the job's lease ran out, 15 minutes by default, while its
 * cascade's children stayed live. A worker of a release older than heartbeats stamps nothing, so
 * the upgrade procedure starts the new workers with heartbeats off until the old ones are gone (the
 * queue's heartbeat time would fail the old workers' longer jobs under them).
 *
 * An attempt whose job is no longer active under it when stamped (its stamp was seen too late: the
 * worker was cut off from the database for longer than the heartbeat time, and the job runs again)
 * is aborted with JobClaimLostError, so it does not write beside its retry. A stamp that fails
 * (the database unreachable) is tried again every second.
 *
 * pg-boss's claim sets heartbeat_on, and a job carries heartbeat_seconds from its queue, which a
 * worker with heartbeats on sets to its own heartbeat time when it starts (queue-setup.ts): so a
 * worker killed right after a claim leaves a job that runs again after the heartbeat time. The first
 * stamp still goes out FIRST_BEAT_MS after a claim, for a job enqueued without it: a job without
 * heartbeat_seconds is expired only by its lease.
 *
 * A worker with heartbeats off (on PostgreSQL) stamps none, so it takes the queue's heartbeat time
 * off each job it claims (`seconds` null: one statement FIRST_BEAT_MS after the claim, then nothing):
 * with a worker of another setting beside it (a rolling restart, the upgrade procedure), the queue's
 * time failed its longer jobs under it and ran them again beside it (a probe: every attempt of a 30 s
 * job, four times, then dead).
 */
export class Heartbeats {
  private readonly held = new Map<string, Held>();
  private timer: NodeJS.Timeout | undefined;
  /** The first stamp of the jobs claimed since the last one. */
  private soon: NodeJS.Timeout | undefined;
  private busy = false;
  /** Jobs were claimed while a stamp was out: stamp them as soon as it is back. */
  private again = false;
  /** A stamp failed for a reason other than an outage, and was said: said once per streak, not every second. */
  private failing = false;
  private readonly db: Database;
  /** null: heartbeats off; each claimed job's heartbeat time is cleared once, and nothing stamped. */
  private readonly seconds: number | null;
  private readonly log: Logger;

  constructor(db: Database, seconds: number | null, log: Logger) {
    this.db = db;
    this.seconds = seconds;
    this.log = log;
  }

  /** Heartbeats on PostgreSQL, on or off (none on the embedded database: one process, gone-workers.ts). */
  static for(db: Database, seconds: number | undefined, log: Logger): Heartbeats | undefined {
    return db.kind === 'postgres' ? new Heartbeats(db, heartbeatSecondsOn(db.kind, seconds), log) : undefined;
  }

  add(type: string, job: { id: string; retryCount: number }, abort: JobAbort): void {
    const key = attemptKey(job);
    this.held.set(key, {
      key,
      queue: queueName(type),
      id: job.id,
      retryCount: job.retryCount,
      abort,
      due: 0,
    });
    this.soon ??= setTimeout(() => {
      this.soon = undefined;
      void this.beat();
    }, FIRST_BEAT_MS).unref();
    // Armed once and kept (unref'd, idle ticks cost nothing): arming it per job was a timer made and
    // cleared for every short job.
    if (!this.timer) {
      this.timer = setInterval(() => void this.beat(), TICK_MS);
      this.timer.unref();
    }
  }

  /** The worker stopped: no more stamps. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    clearTimeout(this.soon);
    this.soon = undefined;
  }

  remove(job: { id: string; retryCount: number }): void {
    this.held.delete(attemptKey(job));
  }

  private async beat(): Promise<void> {
    if (this.busy) {
      this.again = true;
      return;
    }
    const now = Date.now();
    const due = [...this.held.values()].filter((h) => h.due <= now);
    if (due.length === 0) return;
    this.busy = true;
    try {
      for (const queue of new Set(due.map((h) => h.queue))) {
        await this.stamp(
          queue,
          due.filter((h) => h.queue === queue),
        );
      }
    } finally {
      this.busy = false;
    }
    if (this.again && this.timer) {
      this.again = false;
      void this.beat();
    }
  }

  private async stamp(queue: string, jobs: readonly Held[]): Promise<void> {
    let active: { id: string; stamped: boolean }[];
    try {
      // Rows another statement has locked are skipped, not waited for: the worker's own batched
      // completion locks several of these jobs in its own order, and waiting on each other the two
      // deadlocked (40P01: a job that had done its work counted as failed and ran again). A skipped
      // job that is still active is stamped at the next tick.
      ({ rows: active } = await this.db.query<{ id: string; stamped: boolean }>(
        `WITH wanted AS (
           SELECT id FROM ${BOSS_SCHEMA}.job
            WHERE name = $1 AND state = 'active'
              AND (id, retry_count) IN (SELECT * FROM unnest($2::uuid[], $3::int[]))
         ), stamped AS (
           UPDATE ${BOSS_SCHEMA}.job j SET heartbeat_on = ${BOSS_SCHEMA}.job_now(), heartbeat_seconds = $4
             FROM (SELECT id FROM ${BOSS_SCHEMA}.job WHERE name = $1 AND id IN (SELECT id FROM wanted)
                   FOR UPDATE SKIP LOCKED) free
            WHERE j.name = $1 AND j.id = free.id AND j.state = 'active'
            RETURNING j.id
         )
         SELECT w.id::text AS id, s.id IS NOT NULL AS stamped FROM wanted w LEFT JOIN stamped s ON s.id = w.id`,
        [queue, jobs.map((j) => j.id), jobs.map((j) => j.retryCount), this.seconds],
      ));
    } catch (error) {
      // Tried again at the next tick: the stamp must land as soon as the database is back.
      if (!isDatabaseUnavailable(error) && !this.failing) {
        this.failing = true;
        this.log.warn(
          this.seconds === null
            ? "could not take the queue's heartbeat time off running jobs (heartbeats are off); trying again every second"
            : 'could not stamp the heartbeat of running jobs; trying again every second',
          {},
          error,
        );
      }
      return;
    }
    const stamped = new Set(active.filter((r) => r.stamped).map((r) => r.id));
    const locked = new Set(active.filter((r) => !r.stamped).map((r) => r.id));
    if (this.failing) {
      this.failing = false;
      // A stamp that matched no job (its jobs were failed under it meanwhile) stamped nothing to tell.
      if (stamped.size > 0 && this.seconds !== null)
        this.log.info('the heartbeat of running jobs is stamped again');
    }
    const seconds = this.seconds;
    if (seconds === null) {
      // Cleared: nothing more to stamp. A row another statement held is cleared at the next tick.
      for (const job of jobs) if (!locked.has(job.id)) this.remove(job);
      return;
    }
    const next = Date.now() + (seconds * 1000) / 4;
    for (const job of jobs) {
      if (stamped.has(job.id)) job.due = next;
      else if (locked.has(job.id)) continue;
      // Still held: its attempt did not end meanwhile (an attempt that completed is no longer active).
      else if (this.held.get(job.key) === job) {
        this.remove(job);
        job.abort.abort(new JobClaimLostError(seconds));
      }
    }
  }
}
