import { ident, type Queryable } from '../db/index.ts';
import { cascadeTree, ENTITIES, getEntity } from './registry.ts';
import type { EntityDefinition, Target } from './types.ts';
import { compileFilter, Params, parseTarget } from './validate.ts';

/** A target's rows as a condition on its entity's table, whatever their deleted state. */
function targetCondition(entity: EntityDefinition, target: Target, params: Params): string {
  const parsed = parseTarget(entity, target);
  return parsed.kind === 'filter'
    ? compileFilter(entity, parsed.filter, params)
    : `id = ANY(${params.add(parsed.ids)}::bigint[])`;
}

async function exists(db: Queryable, table: string, condition: string, params: Params): Promise<boolean> {
  const { rows } = await db.query<{ meet: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM ${ident(table)} WHERE ${condition}) AS meet`,
    params.values,
  );
  return rows[0]?.meet === true;
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
  return exists(db, def.table, both, params);
}

/** The entities whose cascade reaches `entity` (its parents, their parents, ...). */
export function cascadeAncestors(entity: string): string[] {
  return ENTITIES.filter(
    (e) => e.name !== entity && cascadeTree(e).some((node) => node.entity.name === entity),
  ).map((e) => e.name);
}

/**
 * Whether some row of `entity` that `target` selects lies under a row of `ancestor` that `deleted`
 * selects, through the foreign keys of ancestor's cascade, as the rows stand now: a bulk delete of
 * the ancestor would then delete it again by its cascade. One statement (nested `IN` subqueries, so
 * each condition reads its own table's columns); false when the cascade does not reach the entity.
 */
export async function targetUnderCascade(
  db: Queryable,
  entity: string,
  target: Target,
  ancestor: string,
  deleted: Target,
): Promise<boolean> {
  const nodes = cascadeTree(getEntity(ancestor));
  const at = nodes.findIndex((node) => node.entity.name === entity);
  if (at <= 0) return false;
  const path: number[] = [];
  for (let i = at; i >= 0; i = nodes[i]?.parent ?? -1) path.unshift(i);
  const params = new Params();
  const root = nodes[0] as (typeof nodes)[number];
  let parents = `SELECT id FROM ${ident(root.entity.table)} WHERE ${targetCondition(root.entity, deleted, params)}`;
  for (const i of path.slice(1, -1)) {
    const node = nodes[i] as (typeof nodes)[number];
    parents = `SELECT id FROM ${ident(node.entity.table)} WHERE ${ident(node.foreignKey as string)} IN (${parents})`;
  }
  const leaf = nodes[at] as (typeof nodes)[number];
  const condition = `(${targetCondition(leaf.entity, target, params)}) AND ${ident(leaf.foreignKey as string)} IN (${parents})`;
  return exists(db, leaf.entity.table, condition, params);
}
