import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { parse } from 'yaml';
import { DURATION_BUCKETS_SECONDS } from '../../../src/observability/instruments.ts';
import { REPO_ROOT } from '../support/paths.ts';
import type { ExportedLogRecord, ExportedSpan } from '../support/otlp-sink.ts';
import { sqlRows } from './app.ts';
import type { Expected } from './expected.ts';
import type { Ledger, ResultJson } from './ledger.ts';

/**
 * Truth the pipeline's answers are held against, beyond the totals of expected.ts: the queue and
 * the migration runs as the tables say right now, failed calls as the calls reported them, and
 * durations as the exported spans, log lines and job rows measured them (for the quantile panels).
 */

export interface QueueTruth {
  /** Waiting jobs (created or retry) by job type. */
  readonly waiting: Expected;
  /** Seconds the oldest waiting job whose start time has come has waited, by job type. */
  readonly oldestWait: Expected;
  /** Seconds since a worker last started a job of the type, by job type. */
  readonly sinceLastStart: Expected;
  /** Jobs a worker holds (active), by job type. */
  readonly active: Expected;
  /** Seconds the longest-held active job has run, by job type. */
  readonly oldestActive: Expected;
}

export async function queueTruth(sql: pg.Pool): Promise<QueueTruth> {
  const rows = await sqlRows<{
    job_type: string;
    waiting: string;
    oldest: number | null;
    since: number | null;
    active: string;
    oldest_active: number | null;
  }>(
    sql,
    `SELECT substr(name, length('cleanup.') + 1) AS job_type,
            count(*) FILTER (WHERE state IN ('created', 'retry'))::text AS waiting,
            extract(epoch FROM now() - min(start_after)
              FILTER (WHERE state IN ('created', 'retry') AND start_after <= now()))::float8 AS oldest,
            extract(epoch FROM now() - max(started_on))::float8 AS since,
            count(*) FILTER (WHERE state = 'active')::text AS active,
            extract(epoch FROM now() - min(started_on) FILTER (WHERE state = 'active'))::float8 AS oldest_active
       FROM pgboss.job WHERE name LIKE 'cleanup.%' AND name <> 'cleanup.dead_letter'
      GROUP BY name`,
  );
  const waiting: Expected = {};
  const oldestWait: Expected = {};
  const sinceLastStart: Expected = {};
  const active: Expected = {};
  const oldestActive: Expected = {};
  for (const r of rows) {
    if (Number(r.waiting) > 0) waiting[r.job_type] = Number(r.waiting);
    if (r.oldest !== null && r.oldest > 0) oldestWait[r.job_type] = r.oldest;
    if (r.since !== null) sinceLastStart[r.job_type] = r.since;
    if (Number(r.active) > 0) active[r.job_type] = Number(r.active);
    if (r.oldest_active !== null && r.oldest_active > 0) oldestActive[r.job_type] = r.oldest_active;
  }
  return { waiting, oldestWait, sinceLastStart, active, oldestActive };
}

/** Seconds since the lease of the longest-stale running/stopping run expired, by migration. */
export async function staleTruth(sql: pg.Pool): Promise<Expected> {
  const rows = await sqlRows<{ migration: string; seconds: number }>(
    sql,
    `SELECT migration,
            max(extract(epoch FROM now() - heartbeat_at) - lease_timeout_ms / 1000.0)::float8 AS seconds
       FROM sdops_migration_runs
      WHERE state IN ('running', 'stopping') AND heartbeat_at IS NOT NULL
      GROUP BY migration`,
  );
  const out: Expected = {};
  for (const r of rows) if (r.seconds > 0) out[r.migration] = r.seconds;
  return out;
}

/** Soft-delete calls whose overall outcome was failure, by entity, as the calls reported them. */
export function failedCallsByEntity(ledger: Ledger): Expected {
  const out: Expected = {};
  const add = (entity: string) => {
    out[entity] = (out[entity] ?? 0) + 1;
  };
  for (const r of ledger.results as ResultJson[]) if (r.counts.failure > 0) add(r.entity);
  for (const c of ledger.failedCalls) add(c.entity);
  return out;
}

/** Each item's seconds, grouped by a key of the item; items without a key are left out. */
function secondsBy<T>(
  items: readonly T[],
  keep: (item: T) => string | undefined,
  seconds: (item: T) => number,
): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const item of items) {
    const key = keep(item);
    if (key !== undefined) out[key] = [...(out[key] ?? []), seconds(item)];
  }
  return out;
}

/** Span durations in seconds, by a key of the span (e.g. its name or an attribute). */
export function spanDurations(
  spans: readonly ExportedSpan[],
  keep: (s: ExportedSpan) => string | undefined,
): Record<string, number[]> {
  return secondsBy(spans, keep, (s) => Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1e9);
}

/**
 * Durations the log lines carry in their `duration` field (seconds), grouped by `keep`: where a
 * metric records exactly the duration its line states (a migration batch attempt), rather than a
 * span's extent.
 */
export function logDurations(
  records: readonly ExportedLogRecord[],
  keep: (r: ExportedLogRecord) => string | undefined,
): Record<string, number[]> {
  return secondsBy(records, keep, (r) => Number(r.attributes.duration));
}

/** Queue waits of the last attempt of every started job, as pg-boss's row times say, by job type. */
export async function queueWaits(sql: pg.Pool): Promise<Record<string, number[]>> {
  const rows = await sqlRows<{ job_type: string; wait: number }>(
    sql,
    `SELECT substr(name, length('cleanup.') + 1) AS job_type,
            greatest(0, extract(epoch FROM started_on - greatest(created_on, start_after)))::float8 AS wait
       FROM pgboss.job
      WHERE name LIKE 'cleanup.%' AND name <> 'cleanup.dead_letter' AND started_on IS NOT NULL`,
  );
  const out: Record<string, number[]> = {};
  for (const r of rows) out[r.job_type] = [...(out[r.job_type] ?? []), r.wait];
  return out;
}

/** The span_metrics connector's bucket bounds in seconds (otel-collector/config.yaml). */
export function spanMetricsBuckets(): number[] {
  const config = parse(readFileSync(join(REPO_ROOT, 'otel-collector/config.yaml'), 'utf8')) as {
    connectors: { span_metrics: { histogram: { explicit: { buckets: string[] } } } };
  };
  return config.connectors.span_metrics.histogram.explicit.buckets.map((b) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(b);
    if (!m) throw new Error(`unknown bucket ${b}`);
    return Number(m[1]) / (m[2] === 'ms' ? 1000 : 1);
  });
}

export const APP_BUCKETS: readonly number[] = DURATION_BUCKETS_SECONDS;

/** Index of the bucket (le) a value falls in; bounds.length is +Inf. */
function bucketOf(value: number, bounds: readonly number[]): number {
  const i = bounds.findIndex((b) => value <= b + 1e-12);
  return i < 0 ? bounds.length : i;
}

/**
 * Whether `estimate` (histogram_quantile over the panel's buckets) lies within `slack` buckets of
 * the bucket holding the true q-quantile of `observations`. Bucket interpolation puts an estimate
 * anywhere in the bucket its rank falls in: that bucket is the tolerance of a quantile panel.
 */
export function quantileWithin(
  estimate: number,
  observations: readonly number[],
  q: number,
  bounds: readonly number[],
  slack: number,
): { ok: boolean; truth: number; estimateBucket: number; truthBucket: number } {
  const sorted = [...observations].sort((a, b) => a - b);
  const truth = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  // An estimate equal to a bucket's lower bound belongs to that bucket as much as the one below.
  const estimateBucket = bucketOf(estimate - 1e-9, bounds);
  const truthBucket = bucketOf(truth, bounds);
  return { ok: Math.abs(estimateBucket - truthBucket) <= slack, truth, estimateBucket, truthBucket };
}
