import type { Queryable } from '../../db/index.ts';
import { ident } from '../../db/index.ts';
import { entityNames, getEntity } from '../../soft-delete/index.ts';
import { InvalidMigrationParamError } from '../errors.ts';
import type { BatchPlan, KeyRange, Migration } from '../types.ts';
import {
  childrenFirst,
  daysParam,
  entitiesParam,
  type RawParams,
  rejectUnknown,
  keyAfter,
} from './params.ts';

export interface ArchiveParams {
  readonly entities: readonly string[];
  readonly olderThanDays: number;
}

const columnCache = new Map<string, Promise<string[]>>();

/** The live table's columns, so the copy names them instead of trusting column order. */
function columnsOf(q: Queryable, tableName: string): Promise<string[]> {
  let cached = columnCache.get(tableName);
  if (!cached) {
    cached = q
      .query<{ c: string }>(
        `SELECT column_name AS c FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
        [tableName],
      )
      .then((r) => r.rows.map((row) => row.c));
    cached.catch(() => columnCache.delete(tableName));
    columnCache.set(tableName, cached);
  }
  return cached;
}

/**
 * Rows eligible for the archive: soft-deleted before the cutoff and not referenced by any child row
 * (foreign keys are NO ACTION, so a parent can only leave after its children). Entities are walked
 * children first, so a cascade-deleted family is archived in one run.
 */
function eligible(entity: string): { t: string; pk: string; where: string } {
  const def = getEntity(entity);
  const t = ident(def.table);
  const pk = ident(def.primaryKey);
  const blockers = def.children.map((c) => {
    const child = getEntity(c.entity);
    return `AND NOT EXISTS (SELECT 1 FROM ${ident(child.table)} c WHERE c.${ident(c.foreignKey)} = ${t}.${pk})`;
  });
  const where = `deleted_at IS NOT NULL AND deleted_at < now() - make_interval(secs => $OLDER * 86400) ${blockers.join(' ')}`;
  return { t, pk, where };
}

/**
 * Whether a row of `entity` (referenced as `row`) will have been archived by the end of a run over
 * `inRun`: it is old enough, and each child row of it either will have been archived first (its
 * entity is in the run, walked before it, and the same holds for the child) or there is none. The
 * count and a dry run's batches use it, so they see the parents that the run's own child batches
 * free up; the batches of a real run check the actual rows (eligible), which by then agree.
 */
function willMove(entity: string, row: string, inRun: readonly string[], depth = 0): string {
  const def = getEntity(entity);
  const blockers = def.children.map((c) => {
    const child = getEntity(c.entity);
    const k = `k${depth}`;
    const stays = inRun.includes(c.entity) ? `AND NOT (${willMove(c.entity, k, inRun, depth + 1)})` : '';
    return `AND NOT EXISTS (SELECT 1 FROM ${ident(child.table)} ${k}
      WHERE ${k}.${ident(c.foreignKey)} = ${row}.${ident(def.primaryKey)} ${stays})`;
  });
  return `${row}.deleted_at IS NOT NULL AND ${row}.deleted_at < now() - make_interval(secs => $OLDER * 86400) ${blockers.join(' ')}`;
}

export const archiveSoftDeleted: Migration<ArchiveParams> = {
  name: 'archive-soft-deleted',
  version: 1,
  description: 'move rows soft-deleted more than olderThanDays ago into <table>_archive',
  paramNames: ['entities', 'olderThanDays'],
  parseParams(raw: RawParams): ArchiveParams {
    rejectUnknown(this.name, raw, this.paramNames);
    const olderThanDays = daysParam('olderThanDays', raw.olderThanDays);
    if (olderThanDays === undefined) {
      throw new InvalidMigrationParamError('archive-soft-deleted needs olderThanDays (--older-than-days)');
    }
    return { entities: childrenFirst(entitiesParam(raw.entities, entityNames())), olderThanDays };
  },
  entities: (params) => params.entities,
  async count(q, entity, params) {
    const { t } = eligible(entity);
    const where = willMove(entity, t, params.entities);
    const { rows } = await q.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${t} WHERE ${where.replaceAll('$OLDER', () => '$1')}`,
      [params.olderThanDays],
    );
    return Number(rows[0]?.n ?? 0);
  },
  async plan(q, entity, after, limit, params): Promise<BatchPlan | undefined> {
    const { t, pk } = eligible(entity);
    const where = willMove(entity, t, params.entities);
    const { rows } = await q.query<{ n: string; last: string | null }>(
      `SELECT count(*) AS n, max(k)::text AS last FROM (
         SELECT ${pk} AS k FROM ${t}
          WHERE ${pk} > $1::bigint AND ${where.replaceAll('$OLDER', () => '$3')}
          ORDER BY ${pk} LIMIT $2) s`,
      [keyAfter(after), limit, params.olderThanDays],
    );
    const last = rows[0]?.last;
    return last == null ? undefined : { lastKey: last, rows: Number(rows[0]?.n ?? 0) };
  },
  async apply(tx, entity, range: KeyRange, params): Promise<number> {
    const def = getEntity(entity);
    const { t, pk, where } = eligible(entity);
    const cols = (await columnsOf(tx, def.table)).map(ident).join(', ');
    // The DELETE and the INSERT are one statement: a row is in exactly one of the two tables.
    const res = await tx.query(
      `WITH moved AS (
         DELETE FROM ${t}
          WHERE ${pk} > $1::bigint AND ${pk} <= $2::bigint
            AND ${where.replaceAll('$OLDER', () => '$3')}
          RETURNING ${cols})
       INSERT INTO ${ident(def.archiveTable)} (${cols}, archived_at) SELECT ${cols}, now() FROM moved`,
      [keyAfter(range.from), range.to, params.olderThanDays],
    );
    return res.rowCount;
  },
};
