import { isDatabaseUnavailable } from '../db/index.ts';
import { SdopsError } from '../errors.ts';
import { log } from './telemetry.ts';

/** The database stayed unreachable for longer than the run's outage budget. */
export class DatabaseOutageError extends SdopsError {
  constructor(budgetMs: number, cause: unknown) {
    super(
      'database_outage',
      `the database was unreachable for more than ${Math.round(budgetMs / 1000)} s; the run stopped here and resumes from its checkpoint`,
      'unavailable',
      { cause },
    );
  }
}

/** A stop was requested while the session waited for the database. */
export class StoppedDuringOutageError extends SdopsError {
  constructor(cause: unknown) {
    super('stopped_during_outage', 'stopped while the database was unreachable', 'unavailable', { cause });
  }
}

const FIRST_WAIT_MS = 250;
const MAX_WAIT_MS = 5000;

/**
 * How a migration session rides out a database restart or outage. A statement that fails because the
 * database is unreachable is not a failed batch: the session waits (250 ms, doubling to 5 s) and runs
 * it again, for as long as the outage budget (SDOPS_MIGRATION_OUTAGE_BUDGET_MS) allows, counted from
 * the first failure of the outage. Past the budget it throws DatabaseOutageError and the session ends
 * `failed` (resumable from its checkpoint). One log line when an outage starts, one when it ends.
 */
export class OutageGuard {
  private since: number | undefined;
  private delay = 0;
  private wake: (() => void) | undefined;
  private stopped = false;

  private readonly budgetMs: number;
  private readonly runId: string;

  constructor(budgetMs: number, runId: string) {
    this.budgetMs = budgetMs;
    this.runId = runId;
  }

  /** Runs fn, waiting out outages in between; any other failure is rethrown at once. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        const result = await fn();
        this.recovered();
        return result;
      } catch (error) {
        await this.wait(error);
      }
    }
  }

  /**
   * After a failed statement: rethrows anything but an unreachable database; otherwise waits before
   * the caller tries again, or throws DatabaseOutageError once the outage outlasted the budget.
   */
  async wait(error: unknown): Promise<void> {
    if (!isDatabaseUnavailable(error)) throw error;
    if (this.stopped) throw new StoppedDuringOutageError(error);
    const now = performance.now();
    if (this.since === undefined) {
      this.since = now;
      log.warn(
        'database unreachable; the migration run waits for it',
        { run_id: this.runId, budget_seconds: this.budgetMs / 1000 },
        error,
      );
    }
    const left = this.budgetMs - (now - this.since);
    if (left <= 0) throw new DatabaseOutageError(this.budgetMs, error);
    this.delay = Math.min(MAX_WAIT_MS, this.delay === 0 ? FIRST_WAIT_MS : this.delay * 2);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.min(this.delay, left));
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = undefined;
    if (this.stopped) throw new StoppedDuringOutageError(error);
  }

  /** A statement succeeded: the outage, if there was one, is over. */
  recovered(): void {
    if (this.since === undefined) return;
    const seconds = (performance.now() - this.since) / 1000;
    this.since = undefined;
    this.delay = 0;
    log.info('database reachable again; the migration run continues', {
      run_id: this.runId,
      duration: seconds,
    });
  }

  /** A stop request ends the wait for the database now (the run can be resumed later). */
  interrupt(): void {
    this.stopped = true;
    this.wake?.();
  }
}
