import type { Database, TransactionClient } from '../db/index.ts';
import type { BatchReceipts } from './batch-receipts.ts';
import { type CascadeNode, cascadeTree } from './registry.ts';
import { restoreSql, softDeleteSql } from './sql.ts';
import type { EntityDefinition, OperationProgressListener } from './types.ts';
import type { ParsedTarget } from './validate.ts';

/** What a delete or restore call is to do, checked and resolved by the service (service.ts). */
export type Mode = 'delete' | 'restore';

export interface MutationPlan {
  readonly db: Database;
  readonly entity: EntityDefinition;
  readonly mode: Mode;
  readonly target: ParsedTarget;
  readonly batchSize: number;
  readonly cascade: boolean;
  readonly deletedBy: string | null;
  readonly reason: string | null;
  /** delete: the delete_op_id to stamp; undefined = a new one. */
  readonly opId?: string | undefined;
  readonly onProgress: OperationProgressListener | undefined;
  /** Aborted: stop after the batch in flight (BatchedCallOptions.signal). */
  readonly signal: AbortSignal | undefined;
  /** The parent the call acts for (types.ts ParentCondition), resolved to its table. */
  readonly guard?: ParentGuard;
  /** A single row's delete: runs in its transaction once the row changed (SoftDeleteOptions). */
  readonly inTransaction?: ((tx: TransactionClient, opId: string) => Promise<void>) | undefined;
  /** For a call that runs batches again after an outage: what each committed batch did. */
  readonly receipts?: BatchReceipts | undefined;
  /** In each batch's transaction, with the rows it changed and where it got to (MutationOptions.inBatch). */
  readonly inBatch?:
    | ((tx: TransactionClient, changed: number, position: string | undefined) => Promise<void>)
    | undefined;
  /** Go on after this position (MutationOptions.resumeAfter): ids done, or a filter's last id. */
  readonly resumeAfter?: string | undefined;
}

export interface ParentGuard {
  readonly table: string;
  readonly id: string;
  /** The parent must be deleted by this op; absent: it must be live. */
  readonly deletedByOp?: string | undefined;
}

/**
 * The cascade and its one statement depend only on the entity, the mode and whether to cascade, so
 * each is built once per process: the string is the same object every call, which also keeps the
 * database layer's per-statement lookup (traced.ts) from hashing a fresh copy of the SQL each time.
 */
const statements = new Map<string, { readonly nodes: CascadeNode[]; readonly sql: string }>();

export function statementFor(plan: MutationPlan): { readonly nodes: CascadeNode[]; readonly sql: string } {
  const key = `${plan.mode} ${plan.entity.name} ${plan.cascade}`;
  let statement = statements.get(key);
  if (statement === undefined) {
    const nodes = plan.cascade ? cascadeTree(plan.entity) : cascadeTree(plan.entity).slice(0, 1);
    statement = { nodes, sql: plan.mode === 'delete' ? softDeleteSql(nodes) : restoreSql(nodes) };
    statements.set(key, statement);
  }
  return statement;
}
