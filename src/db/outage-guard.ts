import type { Logger, LogFields } from '../observability/index.ts';
import type { Database } from './database.ts';
import { DatabaseOutageError, isDatabaseUnavailable, isResourceShortage, outageWords } from './errors.ts';

/** What a guard's owner says and throws; the guard itself only waits and counts. */
export interface OutageEvents {
  /**
   * An outage that outlasted its first wait (one log line per outage); `said` names it for that
   * line: "database unreachable", or what the database is short of ("database disk full").
   */
  unreachable(error: unknown, said: string): void;
  /**
   * The first statement that succeeded after it, `seconds` after the outage began; `said` is
   * "database reachable again" ("database works again" after a shortage).
   */
  reachable(seconds: number, said: string): void;
  /** What to throw once the outage outlasted the budget. */
  exhausted(budgetMs: number, error: unknown): Error;
  /** What to throw when interrupt() ends a wait. */
  interrupted(error: unknown): Error;
}

const FIRST_WAIT_MS = 250;
const MAX_WAIT_MS = 5000;

/**
 * How long-running work rides out a database restart or outage. A statement that fails because the
 * database is unreachable is run again after a wait (250 ms, doubling to 5 s), for as long as the
 * outage budget allows, counted from the first failure of the outage; past it, `exhausted` says what
 * to throw. Any other failure is rethrown at once. Only for work that is safe to run again: a batch
 * in its own transaction, a read.
 *
 * The outage is announced once its first wait is over, not at the first failure: a wait that a stop
 * request ends (a job whose claim was lost while its process was frozen, and whose connection the
 * database closed meanwhile) or that another statement's success ends was no outage to report, and
 * "database unreachable" then sent the operator after a database that was up.
 */
export class OutageGuard {
  private since: number | undefined;
  /** The outage's line was written (its first wait ended with the database still failing). */
  private announced = false;
  /** The outage is a full disk or a memory shortage, not a database gone (isResourceShortage). */
  private shortage = false;
  /** What the outage's end line says, chosen by its first error. */
  private endWords = '';
  private delay = 0;
  private wake: (() => void) | undefined;
  private stopped = false;

  private readonly budgetMs: number;
  private readonly events: OutageEvents;

  constructor(budgetMs: number, events: OutageEvents) {
    this.budgetMs = budgetMs;
    this.events = events;
  }

  /** Runs fn, waiting out outages in between; any other failure is rethrown at once. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    let retried = false;
    for (;;) {
      try {
        const result = await fn();
        this.recovered(retried);
        return result;
      } catch (error) {
        await this.wait(error);
        retried = true;
      }
    }
  }

  /**
   * After a failed statement: rethrows anything but an unreachable database; otherwise waits before
   * the caller tries again, or throws the owner's error once the outage outlasted the budget.
   */
  async wait(error: unknown): Promise<void> {
    if (!isDatabaseUnavailable(error)) throw error;
    if (this.stopped) throw this.events.interrupted(error);
    const now = performance.now();
    if (this.since === undefined) {
      this.since = now;
      this.announced = false;
    }
    this.shortage = isResourceShortage(error);
    const left = this.budgetMs - (now - this.since);
    if (left <= 0) throw this.events.exhausted(this.budgetMs, error);
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
    if (this.stopped) throw this.events.interrupted(error);
    this.announce(error);
  }

  /** The outage's one line, once a wait ended with the outage still on (nothing got through). */
  private announce(error: unknown): void {
    if (this.since === undefined || this.announced) return;
    this.announced = true;
    const words = outageWords(error);
    this.endWords = words.ended;
    this.events.unreachable(error, words.began);
  }

  /**
   * A statement succeeded: the outage, if there was one, is over. Not while the disk is full (or
   * memory short) and the statement was not one that had failed (`retried` false): reads and small
   * updates get through then, and each of them ended the outage, so a migration on a full disk
   * logged "unreachable" and "reachable again" four times a second and its budget never ran out.
   */
  recovered(retried = true): void {
    if (this.since === undefined || (this.shortage && !retried)) return;
    const seconds = (performance.now() - this.since) / 1000;
    const announced = this.announced;
    this.since = undefined;
    this.announced = false;
    this.shortage = false;
    this.delay = 0;
    if (announced) this.events.reachable(seconds, this.endWords);
  }

  /** A stop request ends the wait for the database now. */
  interrupt(): void {
    this.stopped = true;
    this.wake?.();
  }
}

/**
 * The database with each statement and each transaction run through the guard: a transaction that
 * failed on an unreachable database was rolled back and runs again whole. The rest passes through.
 */
export function guardedDatabase(db: Database, guard: OutageGuard): Database {
  return {
    kind: db.kind,
    query: (sql, params) => guard.run(() => db.query(sql, params)),
    transaction: (fn) => guard.run(() => db.transaction(fn)),
    exec: (sql) => db.exec(sql),
    withLock: (key, fn) => db.withLock(key, fn),
    cancelRunning: (scope) => db.cancelRunning(scope),
    close: () => db.close(),
  };
}

/** What a command's outage warnings say, and the fields they carry. */
export interface CommandOutageWords {
  /** Ends the warning when the outage starts: "the operation waits for it". */
  readonly waits: string;
  /** Ends the warning when it is over: "the operation continues". */
  readonly continues: string;
  readonly fields?: LogFields;
}

/**
 * A guard for one command's work, which nothing else retries: one warning when the outage starts
 * and one when it ends (both at warning level, so a one-shot console that shows the one shows the
 * other), `DatabaseOutageError` past the budget. Nothing interrupts it: the command ends with its
 * process.
 */
export function commandOutageGuard(
  budgetMs: number,
  log: Pick<Logger, 'warn'>,
  words: CommandOutageWords,
): OutageGuard {
  return new OutageGuard(budgetMs, {
    unreachable: (error, said) =>
      log.warn(`${said}; ${words.waits}`, { ...words.fields, budget_seconds: budgetMs / 1000 }, error),
    reachable: (seconds, said) =>
      log.warn(`${said}; ${words.continues}`, { ...words.fields, duration: seconds }),
    exhausted: (budget, error) => new DatabaseOutageError(budget, error),
    interrupted: (error) => error as Error,
  });
}
