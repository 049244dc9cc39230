import { type Database, ident } from '../db/index.ts';
import { SdopsError } from '../errors.ts';
import { cascadeTree } from './registry.ts';
import { type OperationContext, type OperationOutcome, reportProgress, runBatch } from './run.ts';
import { ARCHIVE_COLUMNS_SQL, archiveSql, candidatesSql, purgeSql } from './sql.ts';
import type { EntityDefinition, ProgressListener } from './types.ts';

export interface RetentionPlan {
  readonly db: Database;
  readonly entity: EntityDefinition;
  readonly mode: 'purge' | 'archive';
  readonly olderThanDays: number;
  readonly batchSize: number;
  readonly maxRows: number;
  readonly onProgress: ProgressListener | undefined;
  /** Cached live-and-archive column list per archive table. */
  readonly archiveColumns: (db: Database, entity: EntityDefinition) => Promise<string[]>;
}

export async function loadArchiveColumns(db: Database, entity: EntityDefinition): Promise<string[]> {
  const res = await db.query<{ name: string }>(ARCHIVE_COLUMNS_SQL, [entity.archiveTable, entity.table]);
  if (res.rows.length === 0) {
    throw new SdopsError('schema_mismatch', `archive table ${entity.archiveTable} is missing`, 'internal');
  }
  return res.rows.map((r) => r.name);
}

/**
 * purge / archive: rows soft-deleted before now() - olderThanDays, oldest first, in batches of
 * candidate roots. Each batch, in one transaction, removes the candidates' soft-deleted descendants
 * that are past the cutoff too (deepest first), then the candidates themselves. A candidate that still
 * has a child row (live, or deleted after the cutoff) is kept and counted as noop: a hard delete never
 * takes live data with it. Archive moves rows with DELETE ... RETURNING feeding an INSERT in one
 * statement, so a row is never in both tables or in neither.
 */
export async function executeRetention(plan: RetentionPlan, op: OperationContext): Promise<OperationOutcome> {
  const { db, entity, mode, batchSize, maxRows, onProgress } = plan;
  op.batchSize = batchSize;
  const nodes = cascadeTree(entity);
  const statements: string[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    statements[i] =
      mode === 'purge'
        ? purgeSql(nodes, i)
        : archiveSql(nodes, i, await plan.archiveColumns(db, node.entity));
  }
  // Computed once by the database clock, so every batch uses the same instant.
  const { cutoff, iso } = (
    await db.query<{ cutoff: string; iso: string }>(
      `SELECT c::text AS cutoff, to_char(c AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS iso
         FROM (SELECT now() - $1::double precision * interval '1 day' AS c) AS x`,
      [plan.olderThanDays],
    )
  ).rows[0]!;

  let total: number | undefined;
  if (onProgress) {
    const res = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${ident(entity.table)} WHERE deleted_at < $1::timestamptz`,
      [cutoff],
    );
    total = Math.min(Number(res.rows[0]?.n ?? 0), maxRows);
  }

  const removed = nodes.map(() => 0);
  let candidatesSeen = 0;
  let cursor: { deletedAt: string; id: string } | undefined;
  while (candidatesSeen < maxRows) {
    const limit = Math.min(batchSize, maxRows - candidatesSeen);
    const page = (
      await db.query<{ id: string; deleted_at: string }>(
        candidatesSql(entity.table, cursor !== undefined),
        cursor ? [cutoff, limit, cursor.deletedAt, cursor.id] : [cutoff, limit],
      )
    ).rows;
    if (page.length === 0) break;
    const ids = page.map((r) => r.id);
    const counts = await runBatch(db, op, { size: ids.length }, async (tx) => {
      const out = nodes.map(() => 0);
      for (let i = nodes.length - 1; i >= 0; i--) {
        out[i] = (await tx.query(statements[i]!, [ids, cutoff])).rowCount;
      }
      return out;
    });
    counts.forEach((n, i) => {
      removed[i] = (removed[i] ?? 0) + n;
    });
    candidatesSeen += page.length;
    reportProgress(onProgress, op, candidatesSeen, total);
    if (page.length < limit) break;
    const last = page.at(-1)!;
    cursor = { deletedAt: last.deleted_at, id: last.id };
  }

  const success = removed[0] ?? 0;
  return {
    counts: { success, noop: candidatesSeen - success, failure: 0 },
    cascaded: Object.fromEntries(nodes.slice(1).map((n, i) => [n.entity.name, removed[i + 1] ?? 0])),
    cutoff: iso,
  };
}
