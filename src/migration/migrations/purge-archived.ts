import { ident, nextKeysetBatch } from '../../db/index.ts';
import { daysAgoSql, entityNames, getEntity } from '../../soft-delete/index.ts';
import type { BatchPlan, KeyRange, Migration } from '../types.ts';
import { daysParam, entitiesParam, type RawParams, rejectUnknown, keyAfter } from './params.ts';

export interface PurgeArchivedParams {
  readonly entities: readonly string[];
  /** Overrides every entity's retentionDays when set. */
  readonly olderThanDays: number | null;
}

function target(entity: string, params: PurgeArchivedParams) {
  const def = getEntity(entity);
  return { t: ident(def.archiveTable), days: params.olderThanDays ?? def.retentionDays };
}

/** The rows past their retention, the day count in parameter `param`. */
const archivedBefore = (param: string): string => `archived_at < ${daysAgoSql(param)}`;

/** Archived rows are kept for the entity's retention, then hard-deleted for good. */
export const purgeArchived: Migration<PurgeArchivedParams> = {
  name: 'purge-archived',
  version: 1,
  description: "hard-delete archived rows older than the entity's retention (or olderThanDays)",
  paramNames: ['entities', 'olderThanDays'],
  parseParams(raw: RawParams): PurgeArchivedParams {
    rejectUnknown(this.name, raw, this.paramNames);
    return {
      entities: entitiesParam(raw.entities, entityNames()),
      olderThanDays: daysParam('olderThanDays', raw.olderThanDays) ?? null,
    };
  },
  entities: (params) => params.entities,
  async count(q, entity, params) {
    const { t, days } = target(entity, params);
    const { rows } = await q.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${t} WHERE ${archivedBefore('$1')}`,
      [days],
    );
    return Number(rows[0]?.n ?? 0);
  },
  async plan(q, entity, after, limit, params): Promise<BatchPlan | undefined> {
    const { t, days } = target(entity, params);
    const where = archivedBefore('$3');
    return nextKeysetBatch(q, { table: t, key: 'id', where }, keyAfter(after), limit, [days]);
  },
  async apply(tx, entity, range: KeyRange, params): Promise<number> {
    const { t, days } = target(entity, params);
    const res = await tx.query(
      `DELETE FROM ${t} WHERE id > $1::bigint AND id <= $2::bigint
          AND ${archivedBefore('$3')}`,
      [keyAfter(range.from), range.to, days],
    );
    return res.rowCount;
  },
};
