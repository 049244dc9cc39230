import { v7 as uuidv7 } from 'uuid';
import { isDatabaseUnavailable, sqlState } from '../db/index.ts';
import { SdopsError } from '../errors.ts';
import {
  addToCanonicalLine,
  getLogger,
  type OperationStatus,
  type SpanHandle,
  type SpanName,
  softDeleteMetrics,
  withSpan,
} from '../observability/index.ts';
import type { OperationCounts, OperationName, OperationResult } from './types.ts';

/**
 * The choke point every mutation goes through (with runBatch, batches.ts, for its batches), so
 * telemetry lives in one place: a span per call (soft_delete.<operation> for one row, soft_delete.bulk for id lists and filters,
 * soft_delete.purge / soft_delete.archive for retention work) with one soft_delete.batch child per
 * batch, the per-operation row counter and duration histogram, and one log line per call (inside an
 * API request, the call's fields go on the request's access line instead).
 */

export type TargetKind = 'id' | 'ids' | 'filter' | 'retention';

export interface OperationContext {
  readonly entity: string;
  readonly operation: OperationName;
  readonly targetKind: TargetKind;
  /** Write batches committed so far. */
  batches: number;
  /** Rows per batch of a bulk, purge or archive call (set by the call before its first batch). */
  batchSize?: number;
  /**
   * What the call's spans and log lines carry as run_id: an id of the call's own when it is batched
   * (not a migration run: nothing is stored under it).
   */
  readonly telemetryRunId: string | undefined;
  /**
   * What the committed batches did so far, set by calls that batch: a call that fails midway is
   * recorded with them (each batch committed on its own), so the row counter still matches the tables.
   */
  committed?: () => OperationOutcome;
}

export type OperationOutcome = Omit<OperationResult, 'entity' | 'operation' | 'batches' | 'durationMs'>;

const log = getLogger('soft-delete');

export function emptyCounts(): OperationCounts {
  return { success: 0, noop: 0, failure: 0 };
}

function spanNameFor(operation: OperationName, targetKind: TargetKind): SpanName {
  if (targetKind === 'id') return `soft_delete.${operation}`;
  if (targetKind === 'retention')
    return operation === 'archive' ? 'soft_delete.archive' : 'soft_delete.purge';
  return 'soft_delete.bulk';
}

/**
 * The outcome of a whole call: any failed row makes it a failure; nothing changed makes it a noop,
 * also when there was nothing to change at all (a purge with no expired rows, a filter that matched
 * none), as docs/telemetry.md defines noop. Such calls were counted as successes.
 */
function callStatus(counts: OperationCounts): OperationStatus {
  if (counts.failure > 0) return 'failure';
  if (counts.success === 0) return 'noop';
  return 'success';
}

/**
 * Counts rows under the row counter: every row a call changed under that row's own entity, so
 * descendants a cascade deleted, restored, purged or archived count as success of their entity and
 * the counter agrees with what the tables show. A batched call counts each batch once it committed
 * (mutate.ts, retention.ts): a cleanup job's call runs for up to its lease, and counted only at its
 * end, a process killed in it took every row of the call off the counter, not only those since its
 * last metric export. A single-row call counts its row at its end (record).
 */
export function countRows(
  op: OperationContext,
  counts: OperationCounts,
  cascaded: readonly (readonly [string, number])[],
): void {
  const { entity, operation } = op;
  for (const rowStatus of ['success', 'noop', 'failure'] as const) {
    if (counts[rowStatus] > 0)
      softDeleteMetrics.recordRows({ entity, operation, status: rowStatus, rows: counts[rowStatus] });
  }
  for (const [child, rows] of cascaded) {
    if (rows > 0) softDeleteMetrics.recordRows({ entity: child, operation, status: 'success', rows });
  }
}

/** The call's duration under the called entity, and a single-row call's row (countRows). */
function record(
  op: OperationContext,
  counts: OperationCounts,
  cascaded: Readonly<Record<string, number>>,
  status: OperationStatus,
  seconds: number,
): void {
  if (op.targetKind === 'id') countRows(op, counts, Object.entries(cascaded));
  softDeleteMetrics.recordCall({
    entity: op.entity,
    operation: op.operation,
    status,
    durationSeconds: seconds,
  });
}

/** A batched call's own id, so its batches and lines can be followed together; none for one row. */
function telemetryRunIdFor(targetKind: TargetKind): string | undefined {
  return targetKind === 'id' ? undefined : uuidv7();
}

/** The row does not exist or is in the way: the caller's answer, not a fault. */
function isCallerOutcome(error: unknown): boolean {
  return error instanceof SdopsError && (error.kind === 'not_found' || error.kind === 'conflict');
}

function spanOutcome(op: OperationContext, status: OperationStatus, counts: OperationCounts) {
  return {
    status,
    count: counts.success,
    ...(op.batchSize === undefined ? {} : { 'batch.size': op.batchSize }),
  };
}

/**
 * The operation's log fields. A single-row call's status already says whether its row was changed;
 * the row breakdown and batch count only add information (and cost, on the hottest path) for
 * batched calls.
 */
function lineFields(op: OperationContext, status: OperationStatus, counts: OperationCounts, seconds: number) {
  const fields = {
    run_id: op.telemetryRunId,
    entity: op.entity,
    operation: op.operation,
    count: counts.success,
    duration: seconds,
    status,
  };
  return op.targetKind === 'id'
    ? fields
    : { ...fields, noop: counts.noop, failure: counts.failure, batches: op.batches };
}

/** A statement cancelled by pg_cancel_backend: how a job's stop ends the batch it is in. */
const QUERY_CANCELED = '57014';

/**
 * The caller's signal ended the call inside a batch (a job's lease ran out, or its worker handed it
 * back at shutdown): the batch's statement was cancelled, or a wait for the database was cut short
 * with the signal's reason. The batch rolled back; nothing in the call failed.
 */
function stoppedByCaller(stop: AbortSignal | undefined, error: unknown): boolean {
  return stop?.aborted === true && (error === stop.reason || sqlState(error) === QUERY_CANCELED);
}

/** The core's lines: a call its caller stopped (between batches or inside one) is not a failed call. */
const LINE = 'soft_delete operation';
const INTERRUPTED_LINE = 'soft_delete operation interrupted';

type Settled = { readonly result: OperationResult } | { readonly stoppedBy: unknown };

/**
 * A call that failed: the rows its committed batches changed are counted, and the call is a failed
 * one, unless its caller stopped it (stoppedByCaller), which records it as a call that stopped after
 * its committed batches, as one the signal stops between batches is: then it returns what to settle
 * the call with (its error thrown after the span ended as the call did); undefined otherwise.
 */
function recordThrown(
  op: OperationContext,
  span: SpanHandle,
  error: unknown,
  seconds: number,
  stop?: AbortSignal,
) {
  const done = op.committed?.();
  if (stoppedByCaller(stop, error)) {
    const counts = done?.counts ?? emptyCounts();
    const status = callStatus(counts);
    record(op, counts, done?.cascaded ?? {}, status, seconds);
    span.setAttributes(spanOutcome(op, status, counts));
    const fields = lineFields(op, status, counts, seconds);
    if (!addToCanonicalLine(fields, error)) log.info(INTERRUPTED_LINE, fields, error);
    return { stoppedBy: error };
  }
  // A single row that could not be changed counts as a failed row; one the call could not even
  // reach (the database unreachable: a 503 to the API) is no row outcome, only a failed call.
  const rowFailed = op.targetKind === 'id' && !isDatabaseUnavailable(error);
  const committed = done?.counts ?? emptyCounts();
  const failed = { ...committed, failure: committed.failure + (rowFailed ? 1 : 0) };
  record(op, failed, done?.cascaded ?? {}, 'failure', seconds);
  span.setAttributes(spanOutcome(op, 'failure', failed));
  // The batches it committed stay: how many is the first thing to read off a failed batched call.
  const fields = lineFields(op, 'failure', failed, seconds);
  if (!addToCanonicalLine(fields, error)) {
    // A row that does not exist or is in the way is the caller's answer (the CLI's one error
    // line says it); a warning beside it said the same twice. Anything else is worth a warning.
    if (isCallerOutcome(error)) log.info('soft_delete operation failed', fields, error);
    else log.warn('soft_delete operation failed', fields, error);
  }
  return undefined;
}

/**
 * Runs one public operation under its span, metrics and line. Its input is validated before
 * (SoftDeleteService checks everything first): a refused input never gets here, so it is neither a
 * span, a metric nor a log line; nothing was attempted. What fails in here was attempted and is
 * recorded as a failed call (a single id that failed counts as one failed row, unless the database
 * could not be reached), except a failure the call's own stop signal caused (`stop`,
 * BatchedCallOptions.signal; recordThrown).
 */
export async function runOperation(
  entity: string,
  operation: OperationName,
  targetKind: TargetKind,
  fn: (op: OperationContext) => Promise<OperationOutcome>,
  stop?: AbortSignal,
): Promise<OperationResult> {
  const telemetryRunId = telemetryRunIdFor(targetKind);
  const op: OperationContext = { entity, operation, targetKind, batches: 0, telemetryRunId };
  const attributes =
    telemetryRunId === undefined ? { entity, operation } : { entity, operation, run_id: telemetryRunId };
  const settled = await withSpan(
    spanNameFor(operation, targetKind),
    attributes,
    async (span): Promise<Settled> => {
      const started = performance.now();
      let outcome: OperationOutcome;
      try {
        outcome = await fn(op);
      } catch (error) {
        // A stopped call's span ends as the call did (its status attribute), not as an error.
        const stopped = recordThrown(op, span, error, (performance.now() - started) / 1000, stop);
        if (stopped) return stopped;
        throw error;
      }
      const seconds = (performance.now() - started) / 1000;
      const status = callStatus(outcome.counts);
      record(op, outcome.counts, outcome.cascaded, status, seconds);
      span.setAttributes(spanOutcome(op, status, outcome.counts));
      const line = lineFields(op, status, outcome.counts, seconds);
      // Inside an API request the access line carries these fields: one line per request.
      if (!addToCanonicalLine(line))
        log.info(outcome.stopped === 'interrupted' ? INTERRUPTED_LINE : LINE, line);
      return {
        result: {
          entity,
          operation,
          // The result's runId (CLI and API output) is the same id under its published name.
          ...(telemetryRunId === undefined ? {} : { runId: telemetryRunId }),
          ...outcome,
          batches: op.batches,
          durationMs: Math.round(seconds * 1e6) / 1000,
        },
      };
    },
  );
  if ('stoppedBy' in settled) throw settled.stoppedBy;
  return settled.result;
}
