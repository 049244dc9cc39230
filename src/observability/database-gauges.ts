import type { Meter } from '@opentelemetry/api';
import { allowedValues, normalizeRegistered, OTHER } from './attributes.ts';
import { reasonOf, warnOnce } from './diagnostics.ts';
import { DATABASE_GAUGES } from './instruments.ts';

/**
 * The database's own gauges (instruments.ts DATABASE_GAUGES): queue length, oldest wait, jobs held
 * and the oldest held, and dead jobs per job type, and stale and failed migration runs, read from
 * the tables at every collection of a meter that reports under the database's identity. Every
 * process observing the same database writes the same series; the collector's prometheus exporter
 * keeps the newest data point of a series, so the freshest reading wins, and a process that stops
 * reading leaves nothing behind that outlives the others.
 */

export interface QueueTruth {
  /** Jobs waiting to start: created or retrying. */
  readonly waiting: number;
  /** Seconds the longest-waiting job whose start time has come has waited (0 when none). */
  readonly oldestWaitSeconds: number;
  /** Jobs a worker holds (state active): also a killed worker's, until its lease runs out. */
  readonly active: number;
  /** Seconds since the longest-held active job's attempt started (0 when none). */
  readonly oldestActiveSeconds: number;
  /** Dead-letter copies waiting for a retry: jobs whose retries ran out. */
  readonly dead: number;
}

interface DatabaseReading {
  /** By job type; registered job types missing here read 0. */
  readonly queue: Readonly<Record<string, QueueTruth>>;
  /** Seconds since the lease of the longest-stale run expired, by migration; missing reads 0. */
  readonly staleRuns: Readonly<Record<string, number>>;
  /** Unix seconds the latest run now failed or partially_failed ended, by migration; missing reads 0. */
  readonly lastFailedRuns: Readonly<Record<string, number>>;
}

export interface DatabaseGaugeOptions {
  /** Who the database is (host:port/name or the embedded data directory; never credentials). */
  readonly database: string;
  /** How often to read and export (the meter's export interval). */
  readonly intervalMs: number;
  /** Reads the tables; rejected or undefined: this collection reports nothing. */
  readonly read: () => Promise<DatabaseReading | undefined>;
}

function finite(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

/**
 * Sums by registered value (anything else is OTHER), with every registered value present at 0, and
 * OTHER too once it has been seen.
 */
function byRegistered<T>(
  key: 'job_type' | 'migration',
  entries: Readonly<Record<string, T>>,
  zero: () => T,
  merge: (a: T, b: T) => T,
  otherSeen: boolean,
): Map<string, T> {
  const out = new Map<string, T>(allowedValues(key).map((v) => [v, zero()]));
  if (otherSeen) out.set(OTHER, zero());
  for (const [raw, value] of Object.entries(entries)) {
    const k = normalizeRegistered(key, raw);
    out.set(k, merge(out.get(k) ?? zero(), value));
  }
  return out;
}

/**
 * How long one sample may wait for the database: less than the metric reader's export timeout (3 s,
 * sdk-wiring.ts). A read waiting for a connection of a busy pool (every one on a row lock) outlasted
 * it, and the reader's "Operation timed out" was reported as a failing collector export (an API probe:
 * 4 of 4 busy-pool episodes, the collector healthy), which also hid a real export failure after it.
 */
export const DATABASE_READ_DEADLINE_MS = 2000;

function withinReadDeadline<T>(reading: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${DATABASE_READ_DEADLINE_MS / 1000} s`)),
      DATABASE_READ_DEADLINE_MS,
    );
    timer.unref();
  });
  // A read that ends after the deadline is nobody's: its failure must not go unhandled.
  reading.catch(() => undefined);
  return Promise.race([reading, late]).finally(() => clearTimeout(timer));
}

export function registerDatabaseGauges(meter: Meter, read: DatabaseGaugeOptions['read']): void {
  const gauge = (def: (typeof DATABASE_GAUGES)[keyof typeof DATABASE_GAUGES]) =>
    meter.createObservableGauge(def.name, { unit: def.unit, description: def.description });
  const length = gauge(DATABASE_GAUGES.queueLength);
  const oldest = gauge(DATABASE_GAUGES.queueOldestWait);
  const dead = gauge(DATABASE_GAUGES.queueDead);
  const active = gauge(DATABASE_GAUGES.queueActive);
  const oldestActive = gauge(DATABASE_GAUGES.queueOldestActive);
  const stale = gauge(DATABASE_GAUGES.staleRuns);
  const lastFailed = gauge(DATABASE_GAUGES.lastFailedRun);
  // `other` is left out until something falls in it; from then on it is reported, at 0 when it
  // empties: a series no longer observed keeps its last value in the SDK's cumulative export, so a
  // cancelled dead job of an unknown type read 1 (and CleanupJobsDead fired) until a restart.
  const otherSeen = { queue: false, staleRuns: false, lastFailedRuns: false };
  meter.addBatchObservableCallback(
    async (result) => {
      let reading: DatabaseReading | undefined;
      try {
        reading = await withinReadDeadline(read());
      } catch (error) {
        warnOnce('database-gauges', 'reading the queue and migration tables failed; this sample is skipped', {
          reason: reasonOf(error),
        });
      }
      if (!reading) return;
      const queue = byRegistered(
        'job_type',
        reading.queue,
        () => ({ waiting: 0, oldestWaitSeconds: 0, active: 0, oldestActiveSeconds: 0, dead: 0 }),
        (a, b) => ({
          waiting: a.waiting + finite(b.waiting),
          oldestWaitSeconds: Math.max(a.oldestWaitSeconds, finite(b.oldestWaitSeconds)),
          active: a.active + finite(b.active),
          oldestActiveSeconds: Math.max(a.oldestActiveSeconds, finite(b.oldestActiveSeconds)),
          dead: a.dead + finite(b.dead),
        }),
        otherSeen.queue,
      );
      for (const [jobType, q] of queue) {
        if (jobType === OTHER) {
          otherSeen.queue ||= q.waiting > 0 || q.active > 0 || q.dead > 0;
          if (!otherSeen.queue) continue;
        }
        result.observe(length, q.waiting, { job_type: jobType });
        result.observe(oldest, q.oldestWaitSeconds, { job_type: jobType });
        result.observe(dead, q.dead, { job_type: jobType });
        result.observe(active, q.active, { job_type: jobType });
        result.observe(oldestActive, q.oldestActiveSeconds, { job_type: jobType });
      }
      for (const [key, instrument] of [
        ['staleRuns', stale],
        ['lastFailedRuns', lastFailed],
      ] as const) {
        const runs = byRegistered(
          'migration',
          reading[key],
          () => 0,
          (a, b) => Math.max(a, finite(b)),
          otherSeen[key],
        );
        for (const [migration, value] of runs) {
          if (migration === OTHER) {
            otherSeen[key] ||= value > 0;
            if (!otherSeen[key]) continue;
          }
          result.observe(instrument, value, { migration });
        }
      }
    },
    [length, oldest, dead, active, oldestActive, stale, lastFailed],
  );
}
