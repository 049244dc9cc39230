import { ident, utcTextSql } from '../db/index.ts';
import { type CascadeNode, cascadeTree, getEntity } from './registry.ts';
import type { EntityDefinition } from './types.ts';

/**
 * SQL text built from the registry only. Every value is a parameter; every identifier comes from an
 * EntityDefinition. Bulk statements are set based (one statement per batch, however many rows).
 */

/**
 * A row a soft delete changes: live, and not deleted by the legacy flag either. A row with only
 * is_deleted set (its deleted_at not yet backfilled) is already deleted: stamping it with the
 * delete's op id made an undo of that delete (restore by op id, or the cascade of a restored parent)
 * bring it back to life. Such rows are noop, and stay for backfill-deleted-at.
 */
export const DELETABLE = liveRowSql();

/** DELETABLE, for the row of a table aliased `alias` in a query of several tables. */
export function liveRowSql(alias?: string): string {
  const c = alias === undefined ? '' : `${alias}.`;
  return `${c}deleted_at IS NULL AND NOT ${c}is_deleted`;
}

/**
 * A row a restore changes, and a read counts as deleted: the other side of DELETABLE. A restore by
 * op id or `deleted_by` still passes rows the legacy flag deleted (they carry neither); one that
 * names such a row, by id or by a filter, gets it back, as it would a row with a deleted_at.
 */
export const RESTORABLE = deletedRowSql();

/** RESTORABLE, for the row of a table aliased `alias`. */
function deletedRowSql(alias?: string): string {
  const c = alias === undefined ? '' : `${alias}.`;
  return `(${c}deleted_at IS NOT NULL OR ${c}is_deleted)`;
}

const DELETE_SET = `deleted_at = now(), deleted_by = $2, delete_reason = $3, delete_op_id = $4::uuid,
    is_deleted = true, updated_at = now()`;
const RESTORE_SET = `deleted_at = NULL, deleted_by = NULL, delete_reason = NULL, delete_op_id = NULL,
    is_deleted = false, updated_at = now()`;

function countsSelect(nodes: readonly CascadeNode[]): string {
  return `SELECT ${nodes.map((_, i) => `(SELECT count(*) FROM n${i})::int AS c${i}`).join(', ')}`;
}

/*
 * Descendant levels are matched with `fk = ANY(ARRAY(SELECT id FROM <parent level>))`: the parent set
 * is materialised once and looked up through the foreign-key index. A join against the CTE instead
 * lets stale statistics (right after a bulk change the planner believes no row is deleted) pick a
 * nested loop over every deleted row per parent, which is quadratic.
 */

/**
 * `now()` minus a number of days given as a parameter: any day count the checks allow (fractions,
 * up to 100 years), typed as double precision so neither `0.5` nor `36500` (as seconds, past int4)
 * is refused by the database. The one cutoff of purge, archive and their migrations.
 */
export function daysAgoSql(param: string): string {
  return `now() - ${param}::double precision * interval '1 day'`;
}

/**
 * Soft-deletes live rows with ids $1 (bigint[]) and, in the same statement, their live descendants
 * (DELETABLE), all stamped with op id $4. Params: $1 ids, $2 deleted_by, $3 delete_reason, $4 op id.
 * Returns one row: c0 = roots changed, cN = rows changed in nodes[N].
 */
export function softDeleteSql(nodes: readonly CascadeNode[]): string {
  const ctes = nodes.map((node, i) => {
    const t = ident(node.entity.table);
    const where =
      i === 0
        ? `id = ANY($1::bigint[])`
        : `${ident(node.foreignKey!)} = ANY(ARRAY(SELECT id FROM n${node.parent}))`;
    return `n${i} AS (UPDATE ${t} SET ${DELETE_SET}
    WHERE ${where} AND ${DELETABLE} RETURNING id)`;
  });
  return `WITH ${ctes.join(',\n')}\n${countsSelect(nodes)}`;
}

/**
 * Restores deleted rows with ids $1 and, in the same statement, exactly the descendants deleted by the
 * same operations: a descendant comes back when its parent came back and its delete_op_id is one of
 * the restored roots' op ids (read through a self-join, as they were before this statement cleared
 * them). Pairing parent and op separately is exact because an operation targets one entity and only
 * cascades downwards: a child carrying op X under a restored parent was deleted by X via that parent.
 * delete_op_id is set only on deleted rows (CHECK constraint), so it alone marks the children.
 */
export function restoreSql(nodes: readonly CascadeNode[]): string {
  const ctes = nodes.map((node, i) => {
    const t = ident(node.entity.table);
    if (i === 0) {
      return `n0 AS (UPDATE ${t} AS t SET ${RESTORE_SET}
    FROM ${t} AS before
    WHERE before.id = t.id AND t.id = ANY($1::bigint[]) AND ${deletedRowSql('t')}
    RETURNING t.id, before.delete_op_id AS op)`;
    }
    return `n${i} AS (UPDATE ${t} SET ${RESTORE_SET}
    WHERE ${ident(node.foreignKey!)} = ANY(ARRAY(SELECT id FROM n${node.parent}))
      AND delete_op_id = ANY(ARRAY(SELECT op FROM n0 WHERE op IS NOT NULL))
    RETURNING id)`;
  });
  return `WITH ${ctes.join(',\n')}\n${countsSelect(nodes)}`;
}

/**
 * How many rows of the entity and its cascade carry the op id $1: a delete stamps it on every row it
 * deletes, and a restore clears it. One statement, each table counted once.
 */
export function rowsOfOpSql(entity: string): string {
  const counts = cascadeTree(getEntity(entity)).map(
    (n) => `(SELECT count(*) FROM ${ident(n.entity.table)} WHERE delete_op_id = $1::uuid)`,
  );
  return `SELECT (${counts.join(' + ')})::bigint::text AS n`;
}

/** The op ids the rows $1 (ids) of an entity's table carry, each once. */
export function opIdsOfRowsSql(table: string): string {
  return `SELECT DISTINCT delete_op_id::text AS op FROM ${ident(table)}
    WHERE id = ANY($1::bigint[]) AND delete_op_id IS NOT NULL`;
}

/** How many of the rows $1 (ids) carry the op id $2. */
export function rowsOfOpAmongSql(table: string): string {
  return `SELECT count(*)::int AS n FROM ${ident(table)} WHERE id = ANY($1::bigint[]) AND delete_op_id = $2::uuid`;
}

/** Locks the rows with ids $1 (bigint[]) for the cascade statement that follows in the transaction. */
export function lockRootsSql(table: string): string {
  return `SELECT id FROM ${ident(table)} WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`;
}

/**
 * The parent row $1 if it is still deleted by op $2 (`deleted`), or still live, share-locked until
 * the transaction ends. Under a concurrent writer the lock waits, and the row is checked again as
 * that writer left it.
 */
export function parentGuardSql(table: string, deleted: boolean): string {
  // Live as a delete sees it: a parent the legacy flag deletes is deleted, and no child comes back
  // under it (a hand-enqueued restore_cascade brought back the items of such an order).
  const state = deleted ? 'deleted_at IS NOT NULL AND delete_op_id = $2::uuid' : DELETABLE;
  return `SELECT 1 FROM ${ident(table)} WHERE id = $1::bigint AND ${state} FOR SHARE`;
}

/** Ids (text) from $1 that do not exist in the table. */
export function missingIdsSql(table: string): string {
  return `SELECT x.id::text AS id FROM unnest($1::bigint[]) AS x(id)
    WHERE NOT EXISTS (SELECT 1 FROM ${ident(table)} t WHERE t.id = x.id) ORDER BY x.id`;
}

/**
 * Rows of node i that purge/archive may consider in this batch: for the root, candidates ($1) deleted
 * before the cutoff ($2); for a descendant, rows under such a root (removeSql checks they are deleted). Each level is
 * materialised once with ANY(ARRAY(subquery)) so the planner drives it through the foreign-key index
 * from the (small) parent set instead of re-running a scan of every deleted row per parent.
 *
 * A level read as the parents of a deeper one is locked (FOR UPDATE) as it is read, before the
 * statement touches the level below: the batch, which removes deepest first, so takes its row locks
 * parents first, like every other writer of a cascade (a soft delete or restore updates top down; a
 * purge of orders claims an order before it removes its items). Taking the items first, a purge of
 * customers and a purge/archive of orders that met on one order each held what the other waited
 * for: "deadlock detected", and one of them failed. The root needs no lock here: its rows are
 * claimed (claimCandidatesSql).
 */
function scopeSql(nodes: readonly CascadeNode[], i: number, lock = false): string {
  const node = nodes[i]!;
  const t = ident(node.entity.table);
  if (i === 0) return `SELECT id FROM ${t} WHERE id = ANY($1::bigint[]) AND deleted_at < $2::timestamptz`;
  const parents = scopeSql(nodes, node.parent, true);
  return `SELECT id FROM ${t} WHERE ${ident(node.foreignKey!)} = ANY(ARRAY(${parents}))${lock ? ' FOR UPDATE' : ''}`;
}

/**
 * The rows of node i that purge/archive consider in this batch: the candidates ($1) themselves, or the
 * rows under them (scopeSql).
 */
function ownScopeSql(nodes: readonly CascadeNode[], i: number): string {
  return i === 0 ? `id = ANY($1::bigint[])` : `id = ANY(ARRAY(${scopeSql(nodes, i)}))`;
}

/**
 * DELETE of the entity's rows in `scope` that are past the cutoff (`cutoff`, SQL) themselves and no
 * longer have any referencing child row. Run for the deepest nodes first: descendants that qualify are
 * gone by the time their parent is considered, and a parent with a child that must stay (live, or
 * deleted after the cutoff) is kept.
 */
function removeSql(entity: EntityDefinition, scope: string, cutoff: string): string {
  const t = ident(entity.table);
  const keep = entity.children.map(
    (child) =>
      `NOT EXISTS (SELECT 1 FROM ${ident(getEntity(child.entity).table)} c WHERE c.${ident(child.foreignKey)} = ${t}.id)`,
  );
  return `DELETE FROM ${t} WHERE ${[scope, `deleted_at < ${cutoff}`, ...keep].join(' AND ')}`;
}

/** purge: hard delete of node i's removable rows in the batch. $1 candidate ids, $2 cutoff. */
export function purgeSql(nodes: readonly CascadeNode[], i: number): string {
  return removeSql(nodes[i]!.entity, ownScopeSql(nodes, i), '$2::timestamptz');
}

/**
 * archive: the one statement that moves rows into the archive table (the delete and the insert in one
 * statement, keeping every column; archived_at takes its default). It moves the rows purge would
 * delete: in `scope`, past `cutoff`, with no referencing child row.
 */
export function moveToArchiveSql(
  entity: EntityDefinition,
  scope: string,
  cutoff: string,
  columns: readonly string[],
): string {
  const cols = columns.map(ident).join(', ');
  return `WITH moved AS (${removeSql(entity, scope, cutoff)} RETURNING ${cols})
    INSERT INTO ${ident(entity.archiveTable)} (${cols}) SELECT ${cols} FROM moved`;
}

/** archive of node i's removable rows in the batch. $1 candidate ids, $2 cutoff. */
export function archiveSql(nodes: readonly CascadeNode[], i: number, columns: readonly string[]): string {
  return moveToArchiveSql(nodes[i]!.entity, ownScopeSql(nodes, i), '$2::timestamptz', columns);
}

/**
 * True for a row of node i (table alias `row`) that purge/archive must keep although it is past the
 * cutoff (`cutoff`, SQL): one of its child rows is live, deleted at or after the cutoff, or must be kept
 * itself. The removal statements enforce the same rule row by row; the candidate scan uses it to pass
 * such rows by instead of spending a job's row budget on rows it cannot remove.
 */
function mustKeepSql(nodes: readonly CascadeNode[], i: number, row: string, cutoff: string): string {
  const parts = nodes.flatMap((child, ci) => {
    if (child.parent !== i) return [];
    const k = `k${ci}`;
    return [
      `EXISTS (SELECT 1 FROM ${ident(child.entity.table)} ${k} WHERE ${k}.${ident(child.foreignKey!)} = ${row}.id
        AND (${k}.deleted_at IS NULL OR ${k}.deleted_at >= ${cutoff} OR ${mustKeepSql(nodes, ci, k, cutoff)}))`,
    ];
  });
  return parts.length > 0 ? `(${parts.join(' OR ')})` : 'false';
}

/**
 * Claims the next page of purge/archive candidates in the batch's transaction, oldest deletion first:
 * rows past the cutoff that have no child row that must stay. $1 cutoff, $2 limit, then the cursor ($3
 * deleted_at as text, exact to the microsecond; $4 id). ORDER BY names the table's columns, not the
 * text aliases, so the order is by time and number. SKIP LOCKED: concurrent purges of one entity (two
 * workers) each take rows no other holds, instead of all waiting on the same oldest rows and then
 * finding them gone; a row skipped because another call's batch rolled back waits for the next call.
 */
export function claimCandidatesSql(nodes: readonly CascadeNode[], withCursor: boolean): string {
  const after = withCursor ? `AND (t.deleted_at, t.id) > ($3::timestamptz, $4::bigint)` : '';
  return `SELECT t.id::text AS id, ${utcTextSql('t.deleted_at')} AS deleted_at FROM ${ident(nodes[0]!.entity.table)} AS t
    WHERE t.deleted_at < $1::timestamptz ${after} AND NOT ${mustKeepSql(nodes, 0, 't', '$1::timestamptz')}
    ORDER BY t.deleted_at, t.id LIMIT $2 FOR UPDATE OF t SKIP LOCKED`;
}

/**
 * How many rows a purge/archive may take, counted only up to its row budget ($2), past the cutoff
 * ($1): the progress total. Bounded so that each job of a long chain of follow-ups does not scan the
 * whole backlog before it starts.
 */
export function removableCountSql(nodes: readonly CascadeNode[]): string {
  const keep = mustKeepSql(nodes, 0, 't', '$1::timestamptz');
  return `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${ident(nodes[0]!.entity.table)} AS t
    WHERE t.deleted_at < $1::timestamptz AND NOT ${keep} LIMIT $2) AS r`;
}

/**
 * Rows past the cutoff ($1) that a purge/archive passed over because a child must stay: all of them,
 * or, for a call that stopped at its row budget, those up to the last candidate it took ($2
 * deleted_at, $3 id): the rows after it were not reached, not passed over.
 */
export function keptCountSql(nodes: readonly CascadeNode[], upToCursor: boolean): string {
  const keep = mustKeepSql(nodes, 0, 't', '$1::timestamptz');
  const upTo = upToCursor ? `AND (t.deleted_at, t.id) <= ($2::timestamptz, $3::bigint)` : '';
  return `SELECT count(*)::int AS n FROM ${ident(nodes[0]!.entity.table)} AS t
    WHERE t.deleted_at < $1::timestamptz ${upTo} AND ${keep}`;
}
