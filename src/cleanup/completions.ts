import type { JobAttempt, PgBoss } from 'pg-boss';
import { outsideTrace } from '../observability/index.ts';

interface Waiter {
  /** true: the attempt was completed; false: the job was no longer this attempt's (see complete()). */
  readonly resolve: (settled: boolean) => void;
  readonly reject: (error: unknown) => void;
}

/** Attempts of one queue with the same output: what one statement completes. */
interface Group {
  readonly queue: string;
  readonly output: object;
  readonly attempts: JobAttempt[];
  readonly waiters: Waiter[];
}

/**
 * Marks finished attempts complete, one statement for all that finish in the same turn of the event
 * loop (same queue, same output), instead of one per job. The jobs of one fetch that finish together
 * (every no-op, every handler that answers without waiting on the database for long) then cost
 * PostgreSQL one UPDATE, as pg-boss's own batch workers do: on this 2-vCPU machine PostgreSQL spent
 * more CPU per no-op job than the worker process (docs/performance.md, "The worker with two
 * processes"), most of it in these per-job statements.
 *
 * Each attempt is fenced to its retryCount as before, so a late outcome leaves a newer attempt
 * alone, and its caller learns that its completion changed nothing (false); a group that fails
 * rejects every caller, and each retries on its own (job-attempt.ts).
 * The statement is queue plumbing shared by several jobs, so it runs outside their traces (like the
 * fetch), not as a child span of one of them.
 */
export class Completions {
  private readonly boss: PgBoss;
  private pending = new Map<string, Group>();
  private scheduled = false;

  constructor(boss: PgBoss) {
    this.boss = boss;
  }

  /**
   * Resolves true once the attempt is marked complete, false when the job was no longer this
   * attempt's (failed under it after a lost heartbeat and claimed again): its outcome was not recorded.
   */
  complete(queue: string, attempt: JobAttempt, output: object): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const key = `${queue}\n${JSON.stringify(output)}`;
      let group = this.pending.get(key);
      if (!group) {
        group = { queue, output, attempts: [], waiters: [] };
        this.pending.set(key, group);
      }
      group.attempts.push(attempt);
      group.waiters.push({ resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const groups = [...this.pending.values()];
    this.pending = new Map();
    this.scheduled = false;
    for (const group of groups) {
      outsideTrace(() => this.boss.complete(group.queue, group.attempts, group.output)).then(
        (response) => {
          // The ids the statement completed; a backend that does not list them is taken at its word.
          const ids = (response as { settled?: unknown } | undefined)?.settled;
          const settled = Array.isArray(ids) ? new Set(ids.map(String)) : undefined;
          group.waiters.forEach((waiter, i) => {
            waiter.resolve(settled === undefined || settled.has(group.attempts[i]!.id));
          });
        },
        (error: unknown) => {
          for (const waiter of group.waiters) waiter.reject(error);
        },
      );
    }
  }
}
