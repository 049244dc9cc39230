import { defineAttributeValues, getLogger } from '../observability/index.ts';
import type { HandlerRegistry } from './handlers-types.ts';
import { Heartbeats } from './heartbeats.ts';
import { JobAbort } from './job-abort.ts';
import { type AttemptDeps, type Job, runAttempt } from './job-attempt.ts';
import { Completions } from './completions.ts';
import { assertJobType, claimClassOf } from './job-types.ts';
import { queueName } from './queue-names.ts';
import { ClaimPlanner } from './claim-plan.ts';
import type { CleanupQueue } from './queue.ts';
import { FetchOutage, WaitingTypes } from './waiting-types.ts';
import { handBackRunning } from './worker-stop.ts';
import { doneWithin } from '../timing.ts';

const ignore = (): void => undefined;

export interface WorkerOptions {
  /** Jobs run at a time in this process. */
  readonly concurrency: number;
  /** Job types this worker takes. Default: every type the queue knows that has a handler. */
  readonly jobTypes?: readonly string[];
  readonly pollIntervalMs: number;
  readonly shutdownTimeoutMs: number;
}

export interface WorkerStats {
  processed: number;
  failed: number;
  byType: Record<string, { processed: number; failed: number; rows: number }>;
}

export interface StopResult {
  /** True when every running job finished within the shutdown timeout. */
  readonly drained: boolean;
  /**
   * Jobs still running at the timeout, handed back to the queue (state `created`, no retry spent;
   * hand-back.ts). One whose lease had already run out is left to the worker that claimed it again.
   */
  readonly handedBack: number;
}

/**
 * The job types a worker takes: those asked for, or every type of the queue that has a handler.
 * Throws UnknownJobTypeError for a type without both; startCleanupRuntime asks before it opens the
 * queue, so a mistyped --job-types changes nothing (opening moves waiting jobs to the new policy).
 */
export function workerJobTypes(
  asked: readonly string[] | undefined,
  queueTypes: readonly string[],
  handlers: HandlerRegistry,
): readonly string[] {
  const handled = queueTypes.filter((t) => handlers[t] !== undefined);
  for (const t of asked ?? []) assertJobType(t, handled);
  return asked ?? handled;
}

/**
 * The cleanup worker: one fetch loop shares its free slots (up to `concurrency`) among the job types
 * with work waiting, user-triggered types first and every type its fair share (claim-plan.ts), and
 * claims each type's share in one pg-boss fetch (FOR UPDATE SKIP LOCKED, so processes never take the
 * same job; one claim query per type and batch because its cost grows with the backlog). Each job
 * runs as one attempt
 * (job-attempt.ts): its handler in a `cleanup.job` span linked to the enqueuing trace, then complete
 * or fail. Failed attempts are retried by pg-boss with exponential backoff; after the retry limit the
 * job is dead (dead-letter queue).
 */
export class CleanupWorker {
  private readonly log = getLogger('cleanup.worker');
  private readonly types: readonly string[];
  private readonly inFlight = new Map<string, JobAbort>();
  /** The jobs the last claim started that are still running. */
  private readonly lastClaimed = new Set<Promise<void>>();
  /** Aborted once a stop no longer waits for outcomes to be recorded (AttemptDeps.recording). */
  private readonly recording = new AbortController();
  /** Sleepers of the fetch loop that stop() wakes. */
  private readonly wakers = new Set<() => void>();
  /** Settles when the next running job finishes; the fetch loop waits on it for a free slot. */
  private nextFinished: { promise: Promise<void>; resolve: () => void } | undefined;
  private loop: Promise<void> | undefined;
  private readonly running = new Set<Promise<void>>();
  private stopping = false;
  private readonly counters: WorkerStats = { processed: 0, failed: 0, byType: {} };
  private readonly attemptDeps: AttemptDeps;
  private readonly planner: ClaimPlanner;
  private readonly outage: FetchOutage;
  private readonly waiting: WaitingTypes;
  /** Stamps the running jobs' heartbeats, or with heartbeats off clears theirs (PostgreSQL); undefined on the embedded database. */
  private readonly heartbeats: Heartbeats | undefined;

  private readonly queue: CleanupQueue;
  private readonly options: WorkerOptions;

  constructor(queue: CleanupQueue, handlers: HandlerRegistry, options: WorkerOptions) {
    this.queue = queue;
    this.options = options;
    const wanted = workerJobTypes(options.jobTypes, queue.jobTypes, handlers);
    this.types = wanted;
    this.planner = new ClaimPlanner(wanted, claimClassOf);
    this.outage = new FetchOutage(this.log);
    this.waiting = new WaitingTypes(queue, wanted, options.pollIntervalMs, this.outage);
    this.heartbeats = Heartbeats.for(queue.db, queue.policy.heartbeatSeconds, this.log);
    this.attemptDeps = {
      queue,
      completions: new Completions(queue.boss),
      handlers,
      log: this.log,
      cancelStatements: (scope) => queue.db.cancelRunning(scope),
      recording: this.recording.signal,
    };
    defineAttributeValues({ job_type: queue.jobTypes });
  }

  get jobTypes(): readonly string[] {
    return this.types;
  }

  start(): void {
    if (this.loop) return;
    this.log.info('worker started', { concurrency: this.options.concurrency, job_types: [...this.types] });
    this.loop = this.fetchLoop();
  }

  stats(): WorkerStats {
    return structuredClone(this.counters);
  }

  /** Attempts finished since start, whatever the outcome: stats().processed without the deep copy. */
  get processed(): number {
    return this.counters.processed;
  }

  /** Jobs running right now in this process. */
  get active(): number {
    return this.inFlight.size;
  }

  /**
   * Stops taking jobs, waits up to timeoutMs for running ones, hands back the rest (they go back to
   * the queue without spending a retry, for another worker to take; their running statements are
   * cancelled).
   * Returns within about timeoutMs plus one round trip.
   */
  async stop(timeoutMs = this.options.shutdownTimeoutMs): Promise<StopResult> {
    this.stopping = true;
    // A claim held on a frozen database fails only once the pool closes: "the worker keeps polling"
    // was logged after "worker exiting".
    this.outage.stop();
    for (const wake of this.wakers) wake();
    this.notifyFinish();
    const all = (async () => {
      await this.loop;
      while (this.running.size > 0) await Promise.all([...this.running]);
      return true;
    })();
    const drained = await doneWithin(all, timeoutMs);
    const handedBack = drained ? 0 : this.inFlight.size;
    const { cancelled, unrecorded } = drained
      ? { cancelled: 0, unrecorded: 0 }
      : await handBackRunning({
          handed: [...this.inFlight.values()],
          all,
          running: () => this.running.size,
          recording: this.recording,
          db: this.queue.db,
          log: this.log,
        });
    this.heartbeats?.stop();
    // A worker that never started (serve whose listen failed) has nothing to report.
    if (this.loop)
      this.log.info('worker stopped', {
        drained,
        handed_back: handedBack,
        cancelled_statements: cancelled,
        unrecorded,
        processed: this.counters.processed,
      });
    return { drained, handedBack };
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  private async fetchLoop(): Promise<void> {
    let lastClaim = 0;
    let refillDue: Promise<void> = Promise.resolve();
    while (!this.stopping) {
      const free = this.options.concurrency - this.running.size;
      // Claim for all slots at once: claiming one job per finished job would run pg-boss's claim
      // query (its cost grows with the backlog) once per job instead of once per batch. So while
      // jobs of the last claim still run, the freed slots wait for them, up to one poll interval.
      // Jobs of earlier claims do not hold the refill: one that runs for minutes (a large purge)
      // capped the worker at its other slots per poll interval for as long as it ran, 2 jobs a
      // second at concurrency 3, while user jobs piled up behind mostly idle slots.
      if (free === 0) {
        await this.nextFinish();
        continue;
      }
      const waited = Date.now() - lastClaim;
      if (this.lastClaimed.size > 0 && waited < this.options.pollIntervalMs) {
        await Promise.race([this.nextFinish(), refillDue]);
        continue;
      }
      lastClaim = Date.now();
      refillDue = this.idle(this.options.pollIntervalMs);
      const claimed = await this.claim(free);
      if (this.stopping) break;
      if (claimed === 0) await this.idle(this.options.pollIntervalMs);
    }
  }

  /**
   * Shares the free slots among the types that have jobs waiting, by the priority and fairness policy
   * of claim-plan.ts, and starts what it claims. A type that yields fewer jobs than offered (another
   * worker took them) drops out, and its offer goes to the others in the next round.
   */
  private async claim(free: number): Promise<number> {
    this.lastClaimed.clear();
    const waiting = await this.waiting.get();
    let claimed = 0;
    while (claimed < free && waiting.size > 0 && !this.stopping) {
      for (const [type, offered] of this.planner.plan(free - claimed, waiting)) {
        if (this.stopping) break;
        const jobs = await this.queue.boss
          .fetch<unknown>(queueName(type), { includeMetadata: true, batchSize: offered })
          .then(
            (fetched) => {
              this.outage.recovered();
              return fetched;
            },
            (error: unknown) => {
              this.outage.failed(type, error);
              return [];
            },
          );
        if (jobs.length < offered) {
          waiting.delete(type);
          this.waiting.drained(type);
        }
        this.planner.claimed(type, jobs.length);
        claimed += jobs.length;
        for (const job of jobs) {
          // runJob settles every outcome itself; this only tracks the slot. (Inline arrows, not a
          // named one: tsx keeps function names, which costs an Object.defineProperty per job.)
          const run: Promise<void> = this.runJob(type, job).then(
            () => this.release(run, type),
            () => this.release(run, type),
          );
          this.running.add(run);
          this.lastClaimed.add(run);
        }
      }
    }
    return claimed;
  }

  /**
   * Resolves when the next running job finishes (or stop() is called). One shared promise, not a
   * race over every running job, which would run again after each finish (docs/performance.md).
   */
  private nextFinish(): Promise<void> {
    if (!this.nextFinished) {
      let resolve = ignore;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.nextFinished = { promise, resolve };
    }
    return this.nextFinished.promise;
  }

  private release(run: Promise<void>, type: string): void {
    this.running.delete(run);
    this.lastClaimed.delete(run);
    this.planner.finished(type);
    this.notifyFinish();
  }

  private notifyFinish(): void {
    const next = this.nextFinished;
    this.nextFinished = undefined;
    next?.resolve();
  }

  private count(type: string, ok: boolean, rows: number): void {
    const t = this.counters.byType[type] ?? { processed: 0, failed: 0, rows: 0 };
    this.counters.byType[type] = t;
    t.processed += 1;
    t.rows += rows;
    this.counters.processed += 1;
    if (!ok) {
      t.failed += 1;
      this.counters.failed += 1;
    }
  }

  private async runJob(type: string, job: Job): Promise<void> {
    const abort = new JobAbort();
    this.inFlight.set(job.id, abort);
    this.heartbeats?.add(type, job, abort);
    try {
      const { ok, rows, handedBack } = await runAttempt(this.attemptDeps, type, job, abort);
      // As in the metrics: a handed-back attempt did not end (its job's next attempt counts).
      if (!handedBack) this.count(type, ok, rows);
    } finally {
      this.heartbeats?.remove(job);
      this.inFlight.delete(job.id);
    }
  }
}
