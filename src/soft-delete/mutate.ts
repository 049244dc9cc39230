import { randomUUID } from 'node:crypto';
import { ident, sqlState, type TransactionClient, violatedConstraint } from '../db/index.ts';
import { RestoreConflictError, RowNotFoundError } from './errors.ts';
import { type MutationPlan, statementFor } from './mutation-plan.ts';
import {
  countRows,
  emptyCounts,
  type OperationContext,
  type OperationOutcome,
} from './operation-telemetry.ts';
import { reportProgress, runBatch } from './batches.ts';
import type { CascadeNode } from './registry.ts';
import {
  DELETABLE,
  lockRootsSql,
  RESTORABLE,
  missingIdsSql,
  rowsOfOpAmongSql,
  parentGuardSql,
} from './sql.ts';
import { compileFilter, Params } from './validate.ts';

const SAMPLE = 100;

type MissingPolicy = 'throw' | 'failure';

/**
 * Where the call has got to once the first `rowsDone` ids of a batch are done: the position a resumed
 * call goes on after (MutationOptions.resumeAfter), a count of ids or a filter row's id.
 */
type PositionAfter = (rowsDone: number) => string;
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

class Mutation {
  readonly nodes: CascadeNode[];
  readonly sql: string;
  readonly opId: string;
  /** A delete under an op id the caller gave: rows may carry it from the caller's earlier attempts. */
  readonly resumesOp: boolean;
  readonly tally: MutationTally;

  readonly plan: MutationPlan;
  readonly op: OperationContext;

  constructor(plan: MutationPlan, op: OperationContext) {
    this.plan = plan;
    this.op = op;
    ({ nodes: this.nodes, sql: this.sql } = statementFor(plan));
    this.opId = plan.opId ?? randomUUID();
    this.resumesOp = plan.mode === 'delete' && plan.opId !== undefined;
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

  /**
   * Rows of `ids` this operation deleted before this batch: a resumed job's earlier attempts (a job
   * passes its op id on every attempt). They are neither success nor noop of this call: the attempt
   * that deleted them counted them, and every resume counted them again as noop.
   */
  private async earlierOfOp(
    tx: TransactionClient,
    ids: readonly string[],
    changedNow: number,
  ): Promise<number> {
    if (!this.resumesOp) return 0;
    const { rows } = await tx.query<{ n: number }>(rowsOfOpAmongSql(this.plan.entity.table), [
      ids,
      this.opId,
    ]);
    return Number(rows[0]?.n ?? 0) - changedNow;
  }

  /** What a committed batch did (changed: roots, then each cascade level), counted at once (countRows). */
  private add(changed: readonly number[], noop: number, failure: number): void {
    const t = this.tally;
    t.success += changed[0] ?? 0;
    t.noop += noop;
    t.failure += failure;
    changed.forEach((n, i) => {
      if (i > 0) t.cascaded[i] = (t.cascaded[i] ?? 0) + n;
    });
    if (this.op.targetKind === 'id') return;
    const cascaded = this.nodes.slice(1).map((node, i) => [node.entity.name, changed[i + 1] ?? 0] as const);
    countRows(this.op, { success: changed[0] ?? 0, noop, failure }, cascaded);
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
    at?: PositionAfter,
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
          const position = at?.(ids.length);
          if (rows > 0 || position !== undefined) await this.plan.inBatch(tx, rows, position);
        }
        // Only an incomplete batch pays for the existence check, so the common path stays one statement.
        const missing =
          changed[0]! < ids.length
            ? (await tx.query<{ id: string }>(missingIdsSql(entity.table), [ids])).rows.map((r) => r.id)
            : [];
        if (missingIs === 'throw' && missing.length > 0) throw new RowNotFoundError(entity.name, ids[0]!);
        const earlier =
          changed[0]! + missing.length < ids.length ? await this.earlierOfOp(tx, ids, changed[0]!) : 0;
        return { changed, missing, earlier };
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
      const { changed, missing, earlier } = batch;
      this.add(changed, ids.length - changed[0]! - missing.length - earlier, missing.length);
      this.tally.notFound.push(...missing.slice(0, Math.max(0, SAMPLE - this.tally.notFound.length)));
      return true;
    } catch (err) {
      if (this.plan.mode !== 'restore' || sqlState(err) !== UNIQUE_VIOLATION || !rowByRowOnConflict)
        throw err;
      if (missingIs === 'throw')
        throw new RestoreConflictError(entity.name, ids[0]!, violatedConstraint(err));
      // One conflicting row must not block the rest: redo this batch row by row, each row its own
      // transaction with its own position. The call's stop (a job's lease, a hand-back) ends it
      // between rows as between batches: cancelling the statement in flight stopped only one row.
      for (const [k, id] of ids.entries()) {
        if (this.interruptedAfterBatch()) return false;
        if (!(await this.conflictTolerant(id, missingIs, at && (() => at(k + 1))))) return false;
      }
    }
    return true;
  }

  private async conflictTolerant(id: string, missingIs: MissingPolicy, at?: PositionAfter): Promise<boolean> {
    try {
      return await this.idBatch([id], missingIs, at, false);
    } catch (err) {
      if (sqlState(err) !== UNIQUE_VIOLATION) throw err;
      this.add([0], 0, 1);
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
    const earlierSql = this.resumesOp ? `t.delete_op_id = ${params.add(this.opId)}::uuid` : 'false';
    const cursorAt = params.add(this.plan.resumeAfter ?? '0');
    const limitAt = params.add(batchSize);
    // ORDER BY t.id, not the text alias: the cursor is compared as a number.
    // What this call would change: for a delete, DELETABLE rows; for a restore, RESTORABLE ones.
    const todoSql = mode === 'delete' ? DELETABLE : RESTORABLE;
    const pageSql = `SELECT t.id::text AS id, (${todoSql}) AS todo, (${earlierSql}) AS earlier FROM ${table} AS t
      WHERE ${where} AND t.id > ${cursorAt}::bigint ORDER BY t.id LIMIT ${limitAt}`;
    const values = params.values;
    const cursorIndex = values.length - 2;
    let processed = 0;
    // Noop of pages with nothing to do since the last position recorded: a resume walks them again,
    // so they count once a later batch records a position past them, or the call ends.
    let pendingNoop = 0;
    for (;;) {
      const page = (await db.query<{ id: string; todo: boolean; earlier: boolean | null }>(pageSql, values))
        .rows;
      if (page.length === 0) break;
      // Asked to stop, with rows left to do (this page proves it): the work done so far stays.
      if (this.interruptedAfterBatch()) return;
      const todo = page.filter((r) => r.todo).map((r) => r.id);
      // Rows this operation deleted in an earlier attempt are not noop (earlierOfOp).
      const noop = page.filter((r) => !r.todo && r.earlier !== true).length;
      // The page's rows already in the requested state count once its batch committed: a batch that
      // fails (and each retry of it) counted them as noop, though docs/telemetry.md counts none of a
      // failed batch's rows.
      const at: PositionAfter = (n) => (n === todo.length ? page.at(-1)!.id : todo[n - 1]!);
      if (todo.length > 0 && !(await this.idBatch(todo, 'failure', at))) return;
      if (todo.length > 0 || !this.plan.inBatch) {
        this.add([0], pendingNoop + noop, 0);
        pendingNoop = 0;
      } else pendingNoop += noop;
      processed += page.length;
      reportProgress(onProgress, this.op, processed, total);
      if (page.length < batchSize) break;
      values[cursorIndex] = page.at(-1)!.id;
    }
    if (pendingNoop > 0) this.add([0], pendingNoop, 0);
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
    const start = plan.resumeAfter === undefined ? 0 : Number(plan.resumeAfter);
    let processed = start;
    for (let i = start; i < target.ids.length; i += batchSize) {
      const ids = target.ids.slice(i, i + batchSize);
      const at: PositionAfter | undefined = target.kind === 'ids' ? (n) => String(i + n) : undefined;
      if (!(await m.idBatch(ids, missingIs, at))) break;
      processed += ids.length;
      reportProgress(onProgress, op, processed, target.ids.length);
      if (processed < target.ids.length && m.interruptedAfterBatch()) break;
    }
  }
  return m.outcome();
}
