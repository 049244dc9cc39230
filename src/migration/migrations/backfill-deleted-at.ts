import type { Queryable } from '../../db/index.ts';
import { ident, nextKeysetBatch } from '../../db/index.ts';
import { entityNames, getEntity } from '../../soft-delete/index.ts';
import type { BatchPlan, KeyRange, Migration } from '../types.ts';
import { entitiesParam, type RawParams, rejectUnknown, keyAfter } from './params.ts';

export interface BackfillParams {
  readonly entities: readonly string[];
}

/** A row needs the backfill when the legacy flag says deleted and the new column does not yet. */
const NEEDS = 'is_deleted AND deleted_at IS NULL';

function table(entity: string): { t: string; pk: string } {
  const def = getEntity(entity);
  return { t: ident(def.table), pk: 'id' };
}

/**
 * Legacy rows say "deleted" with is_deleted = true; the soft-delete model says it with deleted_at.
 * The legacy updated_at is the best record of when the delete happened, so it becomes deleted_at.
 * Idempotent by construction: a backfilled row no longer matches NEEDS.
 */
export const backfillDeletedAt: Migration<BackfillParams> = {
  name: 'backfill-deleted-at',
  version: 1,
  description: "legacy is_deleted rows get deleted_at = updated_at and delete_reason = 'legacy'",
  paramNames: ['entities'],
  parseParams(raw: RawParams): BackfillParams {
    rejectUnknown(this.name, raw, this.paramNames);
    return { entities: entitiesParam(raw.entities, entityNames()) };
  },
  entities: (params) => params.entities,
  async count(q: Queryable, entity: string): Promise<number> {
    const { t } = table(entity);
    const { rows } = await q.query<{ n: string }>(`SELECT count(*) AS n FROM ${t} WHERE ${NEEDS}`);
    return Number(rows[0]?.n ?? 0);
  },
  async plan(
    q: Queryable,
    entity: string,
    after: string | null,
    limit: number,
  ): Promise<BatchPlan | undefined> {
    const { t, pk } = table(entity);
    return nextKeysetBatch(q, { table: t, key: pk, where: NEEDS }, keyAfter(after), limit);
  },
  async apply(tx: Queryable, entity: string, range: KeyRange): Promise<number> {
    const { t, pk } = table(entity);
    const res = await tx.query(
      `UPDATE ${t} SET deleted_at = COALESCE(updated_at, now()), delete_reason = 'legacy'
        WHERE ${pk} > $1::bigint AND ${pk} <= $2::bigint AND ${NEEDS}`,
      [keyAfter(range.from), range.to],
    );
    return res.rowCount;
  },
};
