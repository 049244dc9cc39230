import type { Database, TransactionClient } from '../db/index.ts';
import type { OperationCounts, OperationName, OperationResult, ProgressListener } from './types.ts';

/**
 * The two choke points every mutation goes through, so telemetry (spans soft_delete.<operation>,
 * one child span per batch, the per-operation counter/histogram and log line) is added in one place.
 */

export type TargetKind = 'id' | 'ids' | 'filter' | 'retention';

export interface OperationContext {
  readonly entity: string;
  readonly operation: OperationName;
  readonly targetKind: TargetKind;
  /** Write batches committed so far. */
  batches: number;
}

export type OperationOutcome = Omit<OperationResult, 'entity' | 'operation' | 'batches' | 'durationMs'>;

export function emptyCounts(): OperationCounts {
  return { success: 0, noop: 0, failure: 0 };
}

/**
 * Runs one public operation. `entity` is already validated (a registry name, safe as a label); other
 * input is validated inside fn before its first write, so a bad-input error also passes through here.
 */
export async function runOperation(
  entity: string,
  operation: OperationName,
  targetKind: TargetKind,
  fn: (op: OperationContext) => Promise<OperationOutcome>,
): Promise<OperationResult> {
  const started = performance.now();
  const op: OperationContext = { entity, operation, targetKind, batches: 0 };
  const outcome = await fn(op);
  return {
    entity,
    operation,
    ...outcome,
    batches: op.batches,
    durationMs: Math.round((performance.now() - started) * 1000) / 1000,
  };
}

export interface BatchInfo {
  /** Target rows in this batch (ids or candidates). */
  readonly size: number;
}

/** Runs one batch in its own transaction; counted in op.batches once committed. */
export async function runBatch<T>(
  db: Database,
  op: OperationContext,
  _info: BatchInfo,
  fn: (tx: TransactionClient) => Promise<T>,
): Promise<T> {
  const result = await db.transaction(fn);
  op.batches += 1;
  return result;
}

export function reportProgress(
  listener: ProgressListener | undefined,
  op: OperationContext,
  processed: number,
  total: number | undefined,
): void {
  if (!listener) return;
  listener({
    entity: op.entity,
    operation: op.operation,
    processed,
    ...(total === undefined ? {} : { total }),
    batch: op.batches,
  });
}
