import { type SpanContext, TraceFlags, trace } from '@opentelemetry/api';
import {
  defineAttributeValues,
  getLogger,
  type Logger,
  migrationMetrics,
  outsideTrace,
  type SpanAttributes,
  type SpanHandle,
  withSpan,
} from '../observability/index.ts';
import type { RunState } from './types.ts';

/**
 * The runner's only door to src/observability: spans, metrics and logs are shaped here so the
 * runner reads as bookkeeping, and the catalog (docs/telemetry.md) has one place to check against.
 */

export const log: Logger = getLogger('migration');

let registered = false;
export function registerMigrationAttributes(names: readonly string[]): void {
  if (registered) return;
  registered = true;
  defineAttributeValues({ migration: names });
}

function previousSpan(traceId: string | null, spanId: string | null): SpanContext | undefined {
  if (!traceId || !spanId) return undefined;
  return { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true };
}

export interface RunSpanInput {
  readonly runId: string;
  readonly migration: string;
  readonly dryRun: boolean;
  readonly session: number;
  readonly mode: 'start' | 'resume' | 'retry-failed';
  readonly previousTraceId: string | null;
  readonly previousSpanId: string | null;
}

/**
 * Root span `migration.run`: each session is its own trace, linked to the previous session's and to
 * the span that started it, if any (the API request's: who started or resumed this run).
 */
export function withRunSpan<T>(input: RunSpanInput, fn: (span: SpanHandle) => Promise<T>): Promise<T> {
  const previous = previousSpan(input.previousTraceId, input.previousSpanId);
  const caller = trace.getActiveSpan()?.spanContext();
  // Nothing of the caller's context either: a session that outlives an API request must not add
  // its operations' fields to the request's access line, nor carry the request's run id.
  return outsideTrace(() =>
    withSpan(
      'migration.run',
      {
        run_id: input.runId,
        migration: input.migration,
        dry_run: input.dryRun,
        'migration.session': input.session,
        'migration.mode': input.mode,
      },
      fn,
      { root: true, links: [previous, caller] },
    ),
  );
}

export interface BatchSpanInput {
  readonly runId: string;
  readonly migration: string;
  readonly entity: string;
  readonly batchNo: number;
  readonly batchSize: number;
  readonly attempt: number;
  readonly cursorFrom: string | null;
  readonly dryRun: boolean;
}

export function withBatchSpan<T>(input: BatchSpanInput, fn: (span: SpanHandle) => Promise<T>): Promise<T> {
  return withSpan(
    'migration.batch',
    {
      run_id: input.runId,
      migration: input.migration,
      entity: input.entity,
      attempt: input.attempt,
      'batch.size': input.batchSize,
      'migration.batch_no': input.batchNo,
      'cursor.from': input.cursorFrom ?? '',
      dry_run: input.dryRun,
    },
    fn,
  );
}

export function setBatchRange(cursorTo: string, rows: number): void {
  const attributes: SpanAttributes = { 'cursor.to': cursorTo, count: rows };
  trace.getActiveSpan()?.setAttributes(attributes);
}

export function recordBatch(migration: string, ok: boolean, rows: number, seconds: number): void {
  migrationMetrics.batchProcessed({
    migration,
    status: ok ? 'success' : 'failure',
    rows,
    durationSeconds: seconds,
  });
}

/**
 * The closed-set `status` of a session (span attribute and log field): failure when the run ended
 * failed or partially_failed (as the run counters count it) or the session lost its lease; success
 * otherwise (succeeded, or parked stopped as asked). The run state itself is `migration.state`.
 */
export function sessionStatus(leaseLost: boolean, state: RunState): 'success' | 'failure' {
  return leaseLost || state === 'failed' || state === 'partially_failed' ? 'failure' : 'success';
}

/** Run counters only for runs that ended; partially_failed counts as a failure. */
export function recordRunEnd(migration: string, state: RunState): void {
  if (state === 'succeeded') migrationMetrics.runEnded({ migration, status: 'success' });
  else if (state === 'failed' || state === 'partially_failed')
    migrationMetrics.runEnded({ migration, status: 'failure' });
}
