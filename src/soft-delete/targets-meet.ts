import { ident, type Queryable } from '../db/index.ts';
import { getEntity } from './registry.ts';
import type { EntityDefinition, Target } from './types.ts';
import { compileFilter, Params, parseTarget } from './validate.ts';

/** A target's rows as a condition on its entity's table, whatever their deleted state. */
function targetCondition(entity: EntityDefinition, target: Target, params: Params): string {
  const parsed = parseTarget(entity, target);
  return parsed.kind === 'filter'
    ? compileFilter(entity, parsed.filter, params)
    : `id = ANY(${params.add(parsed.ids)}::bigint[])`;
}

/**
 * Whether some row of the entity is selected by both targets as the rows stand now, deleted or not:
 * where a restore and a bulk delete that has not run yet meet, the delete would take back what the
 * restore brings back. One statement; a target that is no valid one throws its InvalidInput error.
 */
export async function targetsMeet(db: Queryable, entity: string, a: Target, b: Target): Promise<boolean> {
  const def = getEntity(entity);
  const params = new Params();
  const both = `(${targetCondition(def, a, params)}) AND (${targetCondition(def, b, params)})`;
  const { rows } = await db.query<{ meet: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM ${ident(def.table)} WHERE ${both}) AS meet`,
    params.values,
  );
  return rows[0]?.meet === true;
}
