import { type Database, type Queryable, type TransactionClient, utcTextSql } from '../db/index.ts';
import type { BatchReceipts } from './batch-receipts.ts';
import { archiveColumns } from './archive.ts';
import { cascadeTree } from './registry.ts';
import { countRows, type OperationContext, type OperationOutcome } from './operation-telemetry.ts';
import { type ClaimedRows, reportProgress, runBatch } from './batches.ts';
import {
  archiveSql,
  claimCandidatesSql,
  daysAgoSql,
  keptCountSql,
  purgeSql,
  removableCountSql,
} from './sql.ts';
import type { EntityDefinition, OperationProgressListener } from './types.ts';

export interface RetentionPlan {
  readonly db: Database;
  readonly entity: EntityDefinition;
  readonly mode: 'purge' | 'archive';
  readonly olderThanDays: number;
  readonly batchSize: number;
  readonly maxRows: number;
  readonly onProgress: OperationProgressListener | undefined;
  /** Aborted: stop after the batch in flight (BatchedCallOptions.signal). */
  readonly signal: AbortSignal | undefined;
  /** PurgeOptions.inBatch. */
  readonly inBatch: ((tx: Queryable, candidates: number, changed: number) => Promise<void>) | undefined;
  /** For a call that runs batches again after an outage: what each committed batch did. */
  readonly receipts: BatchReceipts | undefined;
}

/**
 * purge / archive: rows soft-deleted before now() - olderThanDays, oldest first, in batches of
 * candidate roots, at most maxRows candidates. Each batch, in one transaction, removes the
 * candidates' soft-deleted descendants that are past the cutoff too (deepest first), then the
 * candidates themselves. A row that still has a child row that must stay (live, deleted after the
 * cutoff, or kept itself) is never a candidate, so it does not use up maxRows; it is reported as
 * skipped (has_children) if the call reached it. A candidate the statement still keeps (a child
 * appeared meanwhile) counts as noop: a hard delete never takes live data with it. Archive moves rows
 * with the one archive statement (archive.ts), so a row is never in both tables or in neither.
 */
export async function executeRetention(plan: RetentionPlan, op: OperationContext): Promise<OperationOutcome> {
  const { db, entity, mode, batchSize, maxRows, onProgress } = plan;
  op.batchSize = batchSize;
  const nodes = cascadeTree(entity);
  const statements: string[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    statements[i] =
      mode === 'purge' ? purgeSql(nodes, i) : archiveSql(nodes, i, await archiveColumns(db, node.entity));
  }
  // Computed once by the database clock, so every batch uses the same instant.
  // UTC text, exact to the microsecond: read back the same instant under any DateStyle.
  const { cutoff } = (
    await db.query<{ cutoff: string }>(`SELECT ${utcTextSql(daysAgoSql('$1'))} AS cutoff`, [
      plan.olderThanDays,
    ])
  ).rows[0]!;

  // What the call can take, up to its budget: the progress total (LIMIT NULL: no budget).
  const budget = Number.isFinite(maxRows) ? maxRows : null;
  const removable = (await db.query<{ n: number }>(removableCountSql(nodes), [cutoff, budget])).rows[0];
  const total = Math.min(Number(removable?.n ?? 0), maxRows);
  reportProgress(onProgress, op, 0, total);

  // `total` bounds the loop, so a call with nothing to remove opens no batch. The candidates are
  // claimed inside each batch's transaction (claimCandidatesSql): a concurrent purge of the same
  // entity takes other rows, and this call may find fewer than it counted.
  const removed = nodes.map(() => 0);
  let candidatesSeen = 0;
  let interrupted = false;
  const outcome = (kept: number): OperationOutcome => ({
    counts: { success: removed[0] ?? 0, noop: candidatesSeen - (removed[0] ?? 0), failure: 0 },
    cascaded: Object.fromEntries(nodes.slice(1).map((n, i) => [n.entity.name, removed[i + 1] ?? 0])),
    cutoff,
    skipped: { has_children: kept },
    ...(interrupted ? { stopped: 'interrupted' as const } : {}),
  });
  op.committed = () => outcome(0);
  let cursor: { deletedAt: string; id: string } | undefined;
  while (candidatesSeen < total) {
    const limit = Math.min(batchSize, total - candidatesSeen);
    const batch = async (tx: TransactionClient, claimed: ClaimedRows) => {
      const page = (
        await tx.query<{ id: string; deleted_at: string }>(
          claimCandidatesSql(nodes, cursor !== undefined),
          cursor ? [cutoff, limit, cursor.deletedAt, cursor.id] : [cutoff, limit],
        )
      ).rows;
      claimed(page.length);
      const ids = page.map((r) => r.id);
      const out = nodes.map(() => 0);
      // What the loop needs of the page (the receipt keeps it): its size and where it ended.
      const claim = { taken: page.length, last: page.at(-1) ?? null, out };
      if (ids.length === 0) return claim;
      for (let i = nodes.length - 1; i >= 0; i--) {
        out[i] = (await tx.query(statements[i]!, [ids, cutoff])).rowCount;
      }
      await plan.inBatch?.(
        tx,
        page.length,
        out.reduce((a, b) => a + b, 0),
      );
      return claim;
    };
    const { taken, last, out } = await runBatch(db, op, { size: limit }, plan.receipts?.wrap(batch) ?? batch);
    out.forEach((n, i) => {
      removed[i] = (removed[i] ?? 0) + n;
    });
    const cascaded = nodes.slice(1).map((n, i) => [n.entity.name, out[i + 1] ?? 0] as const);
    countRows(op, { success: out[0] ?? 0, noop: taken - (out[0] ?? 0), failure: 0 }, cascaded);
    candidatesSeen += taken;
    reportProgress(onProgress, op, candidatesSeen, total);
    if (taken < limit || last === null) break;
    cursor = { deletedAt: last.deleted_at, id: last.id };
    if (candidatesSeen < total && plan.signal?.aborted === true) {
      interrupted = true;
      break;
    }
  }

  // What it left because a child must stay, among the rows it reached (the skipped report). An
  // entity without children has nothing to keep: no statement.
  const upTo = candidatesSeen >= maxRows || interrupted ? cursor : undefined;
  const kept =
    nodes.length === 1
      ? undefined
      : (
          await db.query<{ n: number }>(
            keptCountSql(nodes, upTo !== undefined),
            upTo ? [cutoff, upTo.deletedAt, upTo.id] : [cutoff],
          )
        ).rows[0];

  return outcome(Number(kept?.n ?? 0));
}
