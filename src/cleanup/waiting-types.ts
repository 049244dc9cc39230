import { isDatabaseUnavailable } from '../db/index.ts';
import type { Logger } from '../observability/index.ts';
import { BackgroundFailures } from './background-failures.ts';
import type { CleanupQueue } from './queue.ts';

/**
 * The fetch loop's view of the database while it is unreachable: every poll fails, so the first
 * failure of an outage is logged, and its end, not each poll in between. Another failure (a right
 * revoked on the job table) is retried after the poll interval and said once a minute per kind
 * while it repeats (it was every second), and its end too.
 */
export class FetchOutage {
  /** When the current outage began (as the fetch loop saw it). */
  private since: number | undefined;
  /** When fetching began to fail for another reason. */
  private failingSince: number | undefined;
  private readonly failures = new BackgroundFailures();

  private readonly log: Logger;
  /** Once the worker stops, a claim still in flight that fails says nothing: nothing polls any more. */
  private stopped = false;

  constructor(log: Logger) {
    this.log = log;
  }

  stop(): void {
    this.stopped = true;
  }

  failed(type: string | undefined, error: unknown): void {
    if (this.stopped) return;
    if (!isDatabaseUnavailable(error)) {
      this.failingSince ??= Date.now();
      if (!this.failures.shouldSay(error, Date.now())) return;
      this.log.warn(
        'fetching jobs failed; retrying after the poll interval (said once a minute while it lasts)',
        type === undefined ? {} : { job_type: type },
        error,
      );
      return;
    }
    if (this.since !== undefined) return;
    this.since = Date.now();
    this.log.warn('database unavailable; the worker keeps polling until it is back', {}, error);
  }

  recovered(): void {
    if (this.failingSince !== undefined) {
      const seconds = (Date.now() - this.failingSince) / 1000;
      this.failingSince = undefined;
      this.log.info('fetching jobs works again', { duration: seconds });
    }
    if (this.since === undefined) return;
    const seconds = (Date.now() - this.since) / 1000;
    this.since = undefined;
    this.log.info('database reachable again; the worker takes jobs', { duration: seconds });
  }
}

/**
 * The types with jobs waiting, asked of the database at most once per poll interval. In between,
 * a type whose last fetch filled its offer is presumed to still have work (a fetch that comes back
 * short drops it), so a worker draining fast jobs does not pay one more query per batch; jobs of
 * another type are seen within a poll interval, the same bound as an idle worker's.
 */
export class WaitingTypes {
  /** The last answer and when it was asked (performance.now()). */
  private presumed = new Set<string>();
  private askedAt = Number.NEGATIVE_INFINITY;

  private readonly queue: CleanupQueue;
  private readonly types: readonly string[];
  private readonly pollIntervalMs: number;
  private readonly outage: FetchOutage;

  constructor(queue: CleanupQueue, types: readonly string[], pollIntervalMs: number, outage: FetchOutage) {
    this.queue = queue;
    this.types = types;
    this.pollIntervalMs = pollIntervalMs;
    this.outage = outage;
  }

  async get(): Promise<Set<string>> {
    const fresh = performance.now() - this.askedAt < this.pollIntervalMs;
    if (fresh && this.presumed.size > 0) return new Set(this.presumed);
    this.askedAt = performance.now();
    try {
      this.presumed = await this.queue.typesWaiting(this.types);
      this.outage.recovered();
    } catch (error) {
      this.outage.failed(undefined, error);
      this.presumed = new Set<string>();
    }
    return new Set(this.presumed);
  }

  /** A fetch of `type` came back short: another worker took the rest, or there is none left. */
  drained(type: string): void {
    this.presumed.delete(type);
  }
}
