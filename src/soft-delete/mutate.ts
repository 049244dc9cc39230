import { randomUUID } from 'node:crypto';
import { type Database, ident, sqlState, type TransactionClient, violatedConstraint } from '../db/index.ts';
import type { BatchReceipts } from './batch-receipts.ts';
import { RestoreConflictError, RowNotFoundError } from './errors.ts';
import { type CascadeNode, cascadeTree } from './registry.ts';
import {
  emptyCounts,
  type OperationContext,
  type OperationOutcome,
  reportProgress,
  runBatch,
} from './operation-telemetry.ts';
import {
  DELETABLE,
  lockRootsSql,
  RESTORABLE,
  missingIdsSql,
  parentGuardSql,
  restoreSql,
  softDeleteSql,
} from './sql.ts';
import type { EntityDefinition, OperationProgressListener } from './types.ts';
import { compileFilter, type ParsedTarget, Params } from './validate.ts';

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
  /** In each batch's transaction that changed rows, with how many (MutationOptions.inBatch). */
  readonly inBatch?: ((tx: TransactionClient, changed: number) => Promise<void>) | undefined;
}

export interface ParentGuard {
  readonly table: string;
  readonly id: string;
  /** The parent must be deleted by this op; absent: it must be live. */
  readonly deletedByOp?: string | undefined;
}

const SAMPLE = 100;

type MissingPolicy = 'throw' | 'failure';
const UNIQUE_VIOLATION = '23505';

interface MutationTally {
  /** The guard's parent changed: the call stopped (ParentCondition). */
  parentChanged: boolean;
  /** The plan's signal stopped the call after a batch. */
  interrupted: boolean;
  success: number;
  noop: number;
  failure: number;
  cascaded: number[];
  notFound: string[];
  conflicts: string[];
}

/**
 * The cascade and its one statement depend only on the entity, the mode and whether to cascade, so
 * each is built once per process: the string is the same object every call, which also keeps the
 * database layer's per-statement lookup (traced.ts) from hashing a fresh copy of the SQL each time.
 */
const statements = new Map<string, { readonly nodes: CascadeNode[]; readonly sql: string }>();

function statementFor(plan: MutationPlan): { readonly nodes: CascadeNode[]; readonly sql: string } {
  const key = `${plan.mode} ${plan.entity.name} ${plan.cascade}`;
  let statement = statements.get(key);
  if (statement === undefined) {
    const nodes = plan.cascade ? cascadeTree(plan.entity) : cascadeTree(plan.entity).slice(0, 1);
    statement = { nodes, sql: plan.mode === 'delete' ? softDeleteSql(nodes) : restoreSql(nodes) };
    statements.set(key, statement);
  }
  return statement;
}

class Mutation {
  readonly nodes: CascadeNode[];
  readonly sql: string;
  readonly opId: string;
  readonly tally: MutationTally;

  readonly plan: MutationPlan;
  readonly op: OperationContext;

  constructor(plan: MutationPlan, op: OperationContext) {
    this.plan = plan;
    this.op = op;
    ({ nodes: this.nodes, sql: this.sql } = statementFor(plan));
    this.opId = plan.opId ?? randomUUID();
    this.tally = {
      ...emptyCounts(),
      parentChanged: false,
      interrupted: false,
      cascaded: this.nodes.map(() => 0),
      notFound: [],
      conflicts: [],
    };
  }

  /** False when the guard's parent is no longer as the call needs it; it stays locked otherwise. */
  private async parentHolds(tx: TransactionClient): Promise<boolean> {
    const { guard } = this.plan;
    if (!guard) return true;
    const params = guard.deletedByOp === undefined ? [guard.id] : [guard.id, guard.deletedByOp];
    return (
      (await tx.query(parentGuardSql(guard.table, guard.deletedByOp !== undefined), params)).rows.length > 0
    );
  }

  private async apply(tx: TransactionClient, ids: readonly string[]): Promise<number[]> {
    const { mode, deletedBy, reason } = this.plan;
    // A cascade locks its roots in a statement of its own first: the cascade statement then reads
    // the levels below after any concurrent writer of a root has committed (its own snapshot starts
    // after the wait), so it sees the children that writer changed (ParentCondition).
    if (this.nodes.length > 1) await tx.query(lockRootsSql(this.plan.entity.table), [ids]);
    const params = mode === 'delete' ? [ids, deletedBy, reason, this.opId] : [ids];
    const row = (await tx.query<Record<string, number>>(this.sql, params)).rows[0] ?? {};
    return this.nodes.map((_, i) => Number(row[`c${i}`] ?? 0));
  }

  private add(changed: number[]): void {
    this.tally.success += changed[0] ?? 0;
    changed.forEach((n, i) => {
      if (i > 0) this.tally.cascaded[i] = (this.tally.cascaded[i] ?? 0) + n;
    });
  }

  /**
   * One batch of ids. Ids that changed are success; ids that exist but were already in the requested
   * state are noop. Ids that do not exist: 'throw' (a single id: NotFoundError), or 'failure' (an
   * ids list the caller named, or a filter page whose row was purged or archived after it was
   * selected: it is not in the requested state, it is gone).
   */
  async idBatch(
    ids: readonly string[],
    missingIs: MissingPolicy,
    rowByRowOnConflict = true,
  ): Promise<boolean> {
    const { db, entity } = this.plan;
    try {
      const attempt = async (tx: TransactionClient) => {
        if (!(await this.parentHolds(tx))) return undefined;
        const changed = await this.apply(tx, ids);
        if (changed[0]! > 0 && this.plan.inTransaction) await this.plan.inTransaction(tx, this.opId);
        if (this.plan.inBatch) {
          const rows = changed.reduce((a, b) => a + b, 0);
          if (rows > 0) await this.plan.inBatch(tx, rows);
        }
        // Only an incomplete batch pays for the existence check, so the common path stays one statement.
        const missing =
          changed[0]! < ids.length
            ? (await tx.query<{ id: string }>(missingIdsSql(entity.table), [ids])).rows.map((r) => r.id)
            : [];
        if (missingIs === 'throw' && missing.length > 0) throw new RowNotFoundError(entity.name, ids[0]!);
        return { changed, missing };
      };
      const batch = await runBatch(
        db,
        this.op,
        { size: ids.length },
        this.plan.receipts?.wrap(attempt) ?? attempt,
      );
      if (batch === undefined) {
        this.tally.parentChanged = true;
        return false;
      }
      const { changed, missing } = batch;
      this.add(changed);
      this.tally.noop += ids.length - changed[0]! - missing.length;
      this.tally.failure += missing.length;
      this.tally.notFound.push(...missing.slice(0, Math.max(0, SAMPLE - this.tally.notFound.length)));
      return true;
    } catch (err) {
      if (this.plan.mode !== 'restore' || sqlState(err) !== UNIQUE_VIOLATION || !rowByRowOnConflict)
        throw err;
      if (missingIs === 'throw')
        throw new RestoreConflictError(entity.name, ids[0]!, violatedConstraint(err));
      // One conflicting row must not block the rest: redo this batch row by row.
      for (const id of ids) if (!(await this.conflictTolerant(id, missingIs))) return false;
    }
    return true;
  }

  private async conflictTolerant(id: string, missingIs: MissingPolicy): Promise<boolean> {
    try {
      return await this.idBatch([id], missingIs, false);
    } catch (err) {
      if (sqlState(err) !== UNIQUE_VIOLATION) throw err;
      this.tally.failure += 1;
      if (this.tally.conflicts.length < SAMPLE) this.tally.conflicts.push(id);
      return true;
    }
  }

  /** Rows a filter selects, page by page in id order; rows already in the requested state are noop. */
  async filterBatches(filter: Parameters<typeof compileFilter>[1]): Promise<void> {
    const { db, entity, batchSize, onProgress, mode } = this.plan;
    const params = new Params();
    const where = compileFilter(entity, filter, params);
    const table = ident(entity.table);
    const total = onProgress
      ? Number(
          (
            await db.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM ${table} WHERE ${where}`,
              params.values,
            )
          ).rows[0]?.n ?? 0,
        )
      : undefined;
    const cursorAt = params.add('0');
    const limitAt = params.add(batchSize);
    // ORDER BY t.id, not the text alias: the cursor is compared as a number.
    // What this call would change: for a delete, DELETABLE rows; for a restore, RESTORABLE ones.
    const todoSql = mode === 'delete' ? DELETABLE : RESTORABLE;
    const pageSql = `SELECT t.id::text AS id, (${todoSql}) AS todo FROM ${table} AS t
      WHERE ${where} AND t.id > ${cursorAt}::bigint ORDER BY t.id LIMIT ${limitAt}`;
    const values = params.values;
    const cursorIndex = values.length - 2;
    let processed = 0;
    for (;;) {
      const page = (await db.query<{ id: string; todo: boolean }>(pageSql, values)).rows;
      if (page.length === 0) break;
      // Asked to stop, with rows left to do (this page proves it): the work done so far stays.
      if (this.interruptedAfterBatch()) break;
      const todo = page.filter((r) => r.todo).map((r) => r.id);
      // The page's rows already in the requested state count once its batch committed: a batch that
      // fails (and each retry of it) counted them as noop, though docs/telemetry.md counts none of a
      // failed batch's rows.
      if (todo.length > 0 && !(await this.idBatch(todo, 'failure'))) break;
      this.tally.noop += page.length - todo.length;
      processed += page.length;
      reportProgress(onProgress, this.op, processed, total);
      if (page.length < batchSize) break;
      values[cursorIndex] = page.at(-1)!.id;
    }
  }

  /** Whether the plan's signal asks to stop (between batches); noted in the result. */
  interruptedAfterBatch(): boolean {
    if (this.plan.signal?.aborted !== true) return false;
    this.tally.interrupted = true;
    return true;
  }

  outcome(): OperationOutcome {
    const { success, noop, failure, cascaded, notFound, conflicts, parentChanged, interrupted } = this.tally;
    return {
      counts: { success, noop, failure },
      ...(parentChanged ? { stopped: 'parent_changed' as const } : {}),
      ...(interrupted ? { stopped: 'interrupted' as const } : {}),
      cascaded: Object.fromEntries(this.nodes.slice(1).map((n, i) => [n.entity.name, cascaded[i + 1] ?? 0])),
      // Only when it stamped a row: an op id no row carries tells the caller nothing true.
      ...(this.plan.mode === 'delete' && (success > 0 || cascaded.some((n) => n > 0))
        ? { opId: this.opId }
        : {}),
      ...(notFound.length > 0 ? { notFoundIds: notFound } : {}),
      ...(conflicts.length > 0 ? { conflictIds: conflicts } : {}),
    };
  }
}

export async function executeMutation(plan: MutationPlan, op: OperationContext): Promise<OperationOutcome> {
  const m = new Mutation(plan, op);
  const { target, batchSize, onProgress } = plan;
  // A single row is one batch: nothing of it is committed when it fails (and this is the API's path).
  if (target.kind !== 'id') {
    op.batchSize = batchSize;
    op.committed = () => m.outcome();
  }
  if (target.kind === 'filter') {
    await m.filterBatches(target.filter);
  } else {
    const missingIs: MissingPolicy = target.kind === 'id' ? 'throw' : 'failure';
    let processed = 0;
    for (let i = 0; i < target.ids.length; i += batchSize) {
      const ids = target.ids.slice(i, i + batchSize);
      if (!(await m.idBatch(ids, missingIs))) break;
      processed += ids.length;
      reportProgress(onProgress, op, processed, target.ids.length);
      if (processed < target.ids.length && m.interruptedAfterBatch()) break;
    }
  }
  return m.outcome();
}
