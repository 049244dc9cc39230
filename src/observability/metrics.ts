import { type Counter, type Gauge, type Histogram, type MeterProvider, metrics } from '@opentelemetry/api';
import {
  isOneOf,
  normalizeRegistered,
  OPERATION_STATUSES,
  OPERATIONS,
  type Operation,
  type OperationStatus,
  OUTCOMES,
  type Outcome,
  allowedValues,
} from './attributes.ts';
import { defer } from './deferred.ts';
import { reasonOf, warnOnce } from './diagnostics.ts';
import {
  DURATION_BUCKETS_SECONDS,
  type InstrumentDefinition,
  INSTRUMENTS,
  type InstrumentId,
  type InstrumentKind,
} from './instruments.ts';
import { SCOPE_NAME } from './scope.ts';

/**
 * Typed metric facades. Call sites never see instrument names or raw attributes, and nothing here
 * throws: bad input is warned about once and dropped, because a metric must never fail an operation.
 * Works before/without startTelemetry (no-op) and follows the global MeterProvider when it changes.
 * Input is checked on the caller's path (so a warning names the call that caused it); the points
 * themselves are recorded later, off that path (deferred.ts), and always before a flush reads them.
 */

type InstrumentFor<K extends InstrumentKind> = K extends 'counter'
  ? Counter
  : K extends 'histogram'
    ? Histogram
    : Gauge;
type Instruments = { [I in InstrumentId]: InstrumentFor<(typeof INSTRUMENTS)[I]['kind']> };

let cache: { provider: MeterProvider; instruments: Instruments } | undefined;

function create(provider: MeterProvider): Instruments {
  const meter = provider.getMeter(SCOPE_NAME);
  const out: Partial<Record<InstrumentId, Counter | Histogram | Gauge>> = {};
  for (const id of Object.keys(INSTRUMENTS) as InstrumentId[]) {
    const def: InstrumentDefinition = INSTRUMENTS[id];
    const options = { unit: def.unit, description: def.description };
    if (def.kind === 'counter') out[id] = meter.createCounter(def.name, options);
    else if (def.kind === 'gauge') out[id] = meter.createGauge(def.name, options);
    else {
      out[id] = meter.createHistogram(def.name, {
        ...options,
        advice: { explicitBucketBoundaries: [...(def.buckets ?? DURATION_BUCKETS_SECONDS)] },
      });
    }
  }
  return out as Instruments;
}

function instruments(): Instruments {
  // The metrics API has no proxy provider: instruments made before startTelemetry would stay no-ops.
  const provider = metrics.getMeterProvider();
  if (cache?.provider !== provider) cache = { provider, instruments: create(provider) };
  return cache.instruments;
}

function guard(what: string, fn: () => void): void {
  try {
    fn();
  } catch (error) {
    warnOnce(`metric-error:${what}`, `recording ${what} failed; measurement dropped`, {
      reason: reasonOf(error),
    });
  }
}

/** Records checked points off the caller's path; instruments are looked up when they are recorded. */
function recordLater(what: string, fn: (i: Instruments) => void): void {
  defer(() => guard(what, () => fn(instruments())));
}

function validCount(what: string, value: unknown): value is number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return true;
  warnOnce(`bad-count:${what}`, `${what} must be a non-negative integer; measurement dropped`, {
    value: String(value),
  });
  return false;
}

function validSeconds(what: string, value: unknown): value is number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return true;
  warnOnce(`bad-seconds:${what}`, `${what} must be a finite number of seconds >= 0; measurement dropped`, {
    value: String(value),
  });
  return false;
}

function validEnum<T extends string>(what: string, allowed: readonly T[], value: unknown): value is T {
  if (isOneOf(allowed, value)) return true;
  warnOnce(
    `bad-enum:${what}:${String(value)}`,
    `${what} must be one of ${allowed.join('|')}; measurement dropped`,
    {
      value: String(value).slice(0, 64),
    },
  );
  return false;
}

export interface OperationRows {
  readonly entity: string;
  readonly operation: Operation;
  readonly status: OperationStatus;
  readonly rows: number;
}

export interface OperationCall {
  readonly entity: string;
  readonly operation: Operation;
  /** Overall outcome of the call. */
  readonly status: OperationStatus;
  readonly durationSeconds: number;
}

export const softDeleteMetrics = {
  /** soft_delete.operations.total += rows. Call once per status if one call had mixed outcomes. */
  recordRows(input: OperationRows): void {
    guard('soft_delete rows', () => {
      if (!validEnum('operation', OPERATIONS, input.operation)) return;
      if (!validEnum('status', OPERATION_STATUSES, input.status)) return;
      if (!validCount('rows', input.rows)) return;
      const attributes = {
        entity: normalizeRegistered('entity', input.entity),
        operation: input.operation,
        status: input.status,
      };
      recordLater('soft_delete rows', (i) => i.softDeleteOperations.add(input.rows, attributes));
    });
  },
  /** One soft_delete.operations.duration_seconds observation per operation call. */
  recordCall(input: OperationCall): void {
    guard('soft_delete duration', () => {
      if (!validEnum('operation', OPERATIONS, input.operation)) return;
      if (!validEnum('status', OPERATION_STATUSES, input.status)) return;
      if (!validSeconds('durationSeconds', input.durationSeconds)) return;
      const attributes = {
        entity: normalizeRegistered('entity', input.entity),
        operation: input.operation,
        status: input.status,
      };
      recordLater('soft_delete duration', (i) =>
        i.softDeleteDuration.record(input.durationSeconds, attributes),
      );
    });
  },
  /** The common case: one call, one outcome. Same as recordRows + recordCall. */
  recordOperation(input: OperationRows & OperationCall): void {
    softDeleteMetrics.recordRows(input);
    softDeleteMetrics.recordCall(input);
  },
};

export const workerMetrics = {
  /** At the start of an attempt: queue wait = started - enqueued. */
  jobStarted(input: { readonly jobType: string; readonly queueWaitSeconds: number }): void {
    guard('worker job start', () => {
      if (!validSeconds('queueWaitSeconds', input.queueWaitSeconds)) return;
      const attributes = { job_type: normalizeRegistered('job_type', input.jobType) };
      recordLater('worker job start', (i) => i.workerQueueWait.record(input.queueWaitSeconds, attributes));
    });
  },
  /** Once per finished attempt, whatever the outcome. */
  jobFinished(input: {
    readonly jobType: string;
    readonly status: Outcome;
    readonly durationSeconds: number;
  }): void {
    guard('worker job end', () => {
      if (!validEnum('status', OUTCOMES, input.status)) return;
      const jobType = normalizeRegistered('job_type', input.jobType);
      const { status, durationSeconds } = input;
      const timed = validSeconds('durationSeconds', durationSeconds);
      recordLater('worker job end', (i) => {
        i.workerJobsProcessed.add(1, { job_type: jobType });
        if (status === 'failure') i.workerJobFailures.add(1, { job_type: jobType });
        if (timed) i.workerJobDuration.record(durationSeconds, { job_type: jobType, status });
      });
    });
  },
};

export const migrationMetrics = {
  runEnded(input: { readonly migration: string; readonly status: Outcome }): void {
    guard('migration run', () => {
      if (!validEnum('status', OUTCOMES, input.status)) return;
      const attributes = { migration: normalizeRegistered('migration', input.migration) };
      const { status } = input;
      recordLater('migration run', (i) =>
        (status === 'success' ? i.migrationRunSuccess : i.migrationRunFailure).add(1, attributes),
      );
    });
  },
  /** Once per batch: rows it processed and how long it took. */
  batchProcessed(input: {
    readonly migration: string;
    readonly status: Outcome;
    readonly rows: number;
    readonly durationSeconds: number;
  }): void {
    guard('migration batch', () => {
      if (!validEnum('status', OUTCOMES, input.status)) return;
      const attributes = {
        migration: normalizeRegistered('migration', input.migration),
        status: input.status,
      };
      const { rows, durationSeconds } = input;
      const counted = validCount('rows', rows);
      const timed = validSeconds('durationSeconds', durationSeconds);
      recordLater('migration batch', (i) => {
        if (counted) i.migrationRowsProcessed.add(rows, attributes);
        if (timed) i.migrationBatchDuration.record(durationSeconds, attributes);
      });
    });
  },
};

/**
 * Creates every counter series of the registered closed sets at 0 (entity x operation x status,
 * job_type, migration x status). Long-running processes (serve, worker) call it once at start, after
 * registering their sets: an idle entity, job type or migration then reads 0 on the dashboard
 * instead of no data, and each series' first increment is a step from a 0 Prometheus has seen.
 */
export function zeroCounters(): void {
  recordLater('zero counters', (i) => {
    for (const entity of allowedValues('entity')) {
      for (const operation of OPERATIONS) {
        for (const status of OPERATION_STATUSES) i.softDeleteOperations.add(0, { entity, operation, status });
      }
    }
    for (const jobType of allowedValues('job_type')) {
      i.workerJobsProcessed.add(0, { job_type: jobType });
      i.workerJobFailures.add(0, { job_type: jobType });
    }
    for (const migration of allowedValues('migration')) {
      i.migrationRunSuccess.add(0, { migration });
      i.migrationRunFailure.add(0, { migration });
      for (const status of OUTCOMES) i.migrationRowsProcessed.add(0, { migration, status });
    }
  });
}

export const httpMetrics = {
  /** One finished request; route is the template (or undefined when no route matched). */
  requestFinished(input: {
    readonly method: string;
    readonly route: string | undefined;
    /** Undefined when the client went away before a response. */
    readonly statusCode: number | undefined;
    readonly durationSeconds: number;
  }): void {
    guard('http request', () => {
      if (!validSeconds('durationSeconds', input.durationSeconds)) return;
      const attributes = {
        'http.request.method': input.method,
        ...(input.route ? { 'http.route': input.route } : {}),
        ...(input.statusCode === undefined ? {} : { 'http.response.status_code': input.statusCode }),
      };
      recordLater('http request', (i) => i.httpServerDuration.record(input.durationSeconds, attributes));
    });
  },
};
