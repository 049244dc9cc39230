import type { Queryable } from '../db/index.ts';
import { ident, nextKeysetBatch } from '../db/index.ts';
import { SdopsError } from '../errors.ts';
import { getEntity } from './registry.ts';
import { daysAgoSql, moveToArchiveSql } from './sql.ts';
import type { EntityDefinition } from './types.ts';

/**
 * The one home of archiving. A row is archived by one statement (sql.ts moveToArchiveSql): DELETE ...
 * RETURNING feeding an INSERT into <table>_archive, so a row is in exactly one of the two tables, and a
 * row moves only when it was deleted before the cutoff and no row references it any more. Two callers
 * offer it rows: the retention call (retention.ts: candidate roots and their descendants, one cutoff
 * for the whole call) and the archive-soft-deleted migration (archiveByKeyRange below: a key range per
 * batch, each batch's cutoff its own now() - olderThanDays). Documents keep their owner through both
 * (schema 020's triggers only forget a customer that leaves both customers and customers_archive).
 */

/** Every column of the live table ($1), in its order, and whether the archive table ($2) has it. */
const ARCHIVE_COLUMNS_SQL = `SELECT l.column_name::text AS name,
    EXISTS (SELECT 1 FROM information_schema.columns a
             WHERE a.table_schema = l.table_schema AND a.table_name = $2 AND a.column_name = l.column_name) AS archived
  FROM information_schema.columns l
  WHERE l.table_schema = current_schema() AND l.table_name = $1
  ORDER BY l.ordinal_position`;

/**
 * The columns an archive statement names (archived_at takes its default). All of the live table's:
 * an archive keeps every column, so an archive table lacking one is a schema mismatch, refused before
 * anything moves rather than archiving the row without that value.
 */
async function loadArchiveColumns(q: Queryable, entity: EntityDefinition): Promise<string[]> {
  const res = await q.query<{ name: string; archived: boolean }>(ARCHIVE_COLUMNS_SQL, [
    entity.table,
    entity.archiveTable,
  ]);
  const missing = res.rows.filter((r) => !r.archived).map((r) => r.name);
  if (res.rows.length === 0 || missing.length === res.rows.length) {
    throw new SdopsError('schema_mismatch', `archive table ${entity.archiveTable} is missing`, 'internal');
  }
  if (missing.length > 0) {
    throw new SdopsError(
      'schema_mismatch',
      `archive table ${entity.archiveTable} lacks column(s) ${missing.join(', ')} of ${entity.table}`,
      'internal',
    );
  }
  return res.rows.map((r) => r.name);
}

// One per process, by archive table: the schema is fixed once a database is open (numbered files).
const columnCache = new Map<string, Promise<string[]>>();

export function archiveColumns(q: Queryable, entity: EntityDefinition): Promise<string[]> {
  let cached = columnCache.get(entity.archiveTable);
  if (!cached) {
    cached = loadArchiveColumns(q, entity);
    cached.catch(() => columnCache.delete(entity.archiveTable));
    columnCache.set(entity.archiveTable, cached);
  }
  return cached;
}

/** For tests that change a table's columns: the next archive reads them again. */
export function forgetArchiveColumns(): void {
  columnCache.clear();
}

/**
 * Whether a row of `entity` (referenced as `row`) will have been archived by the end of a run over
 * `inRun`: it is old enough, and each child row of it either will have been archived first (its
 * entity is in the run, walked before it, and the same holds for the child) or there is none. The
 * count and a dry run's batches use it, so they see the parents that the run's own child batches
 * free up; the batches of a real run check the actual rows (moveToArchiveSql), which by then agree.
 */
function willMove(entity: string, row: string, inRun: readonly string[], older: string, depth = 0): string {
  const def = getEntity(entity);
  const blockers = def.children.map((c) => {
    const child = getEntity(c.entity);
    const k = `k${depth}`;
    const stays = inRun.includes(c.entity)
      ? `AND NOT (${willMove(c.entity, k, inRun, older, depth + 1)})`
      : '';
    return `AND NOT EXISTS (SELECT 1 FROM ${ident(child.table)} ${k}
      WHERE ${k}.${ident(c.foreignKey)} = ${row}.id ${stays})`;
  });
  return `${row}.deleted_at IS NOT NULL AND ${row}.deleted_at < ${daysAgoSql(older)} ${blockers.join(' ')}`;
}

/** A run of archive-soft-deleted: the entities it walks (children first) and its age threshold. */
export interface ArchiveRun {
  readonly entities: readonly string[];
  readonly olderThanDays: number;
}

/**
 * Archive by primary-key ranges, for a caller that walks a table in keyset order and owns its
 * transactions and checkpoints (the migration runner). One statement per call. Keys are bigint
 * literals; `after` is exclusive, `through` inclusive.
 */
export const archiveByKeyRange = {
  /** Rows of `entity` the run will archive: the progress total and the dry-run answer. */
  async count(q: Queryable, entity: string, run: ArchiveRun): Promise<number> {
    const t = ident(getEntity(entity).table);
    const { rows } = await q.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${t} WHERE ${willMove(entity, t, run.entities, '$1')}`,
      [run.olderThanDays],
    );
    return Number(rows[0]?.n ?? 0);
  },

  /** The next at most `limit` keys after `after` that the run will archive: their count and the last. */
  async nextBatch(
    q: Queryable,
    entity: string,
    after: string,
    limit: number,
    run: ArchiveRun,
  ): Promise<{ lastKey: string; rows: number } | undefined> {
    const def = getEntity(entity);
    const t = ident(def.table);
    const where = willMove(entity, t, run.entities, '$3');
    return nextKeysetBatch(q, { table: t, key: 'id', where }, after, limit, [run.olderThanDays]);
  },

  /** Moves the archivable rows with keys in (after, through]; returns how many moved. */
  async move(q: Queryable, entity: string, after: string, through: string, run: ArchiveRun): Promise<number> {
    const def = getEntity(entity);
    const sql = moveToArchiveSql(
      def,
      'id > $1::bigint AND id <= $2::bigint',
      daysAgoSql('$3'),
      await archiveColumns(q, def),
    );
    return (await q.query(sql, [after, through, run.olderThanDays])).rowCount;
  },
};
