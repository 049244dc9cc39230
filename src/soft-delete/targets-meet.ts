import { ident, type Queryable } from '../db/index.ts';
import { type CascadeNode, cascadeTree, ENTITIES, getEntity } from './registry.ts';
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
 * The ids of node `at` of a cascade tree that lie under the root rows `deleted` selects, through
 * the foreign keys down to it: nested `IN` subqueries, so each condition reads its own table.
 */
function idsUnder(nodes: readonly CascadeNode[], at: number, deleted: Target, params: Params): string {
  const { entity, parent, foreignKey } = nodes[at] as CascadeNode;
  if (parent < 0)
    return `SELECT id FROM ${ident(entity.table)} WHERE ${targetCondition(entity, deleted, params)}`;
  return `SELECT id FROM ${ident(entity.table)} WHERE ${ident(foreignKey as string)} IN (${idsUnder(nodes, parent, deleted, params)})`;
}

/**
 * Whether some row of `entity` that `target` selects lies under a row of `ancestor` that `deleted`
 * selects, through the foreign keys of ancestor's cascade, as the rows stand now: a bulk delete of
 * the ancestor would then delete it again by its cascade. One statement; false when the cascade
 * does not reach the entity.
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
  const { entity: leaf, parent, foreignKey } = nodes[at] as CascadeNode;
  const params = new Params();
  const condition = `(${targetCondition(leaf, target, params)}) AND ${ident(foreignKey as string)} IN (${idsUnder(nodes, parent, deleted, params)})`;
  return exists(db, leaf.table, condition, params);
}
