import { type Database, ident } from '../db/index.ts';
import { DELETABLE, RESTORABLE } from './sql.ts';
import type { EntityDefinition, EntityRow, Scope } from './types.ts';

/**
 * A row only the legacy flag deletes (is_deleted, no deleted_at until backfill-deleted-at) is
 * deleted here as it is to a delete (noop) and a restore: it was read as live while a delete called
 * it deleted already, and `scope=deleted` answered 404 for it.
 */
const SCOPE_SQL: Readonly<Record<Scope, string>> = {
  live: DELETABLE,
  deleted: RESTORABLE,
  all: 'TRUE',
};

/** RESTORABLE for a row already read: deleted by its deleted_at, or by the legacy flag alone. */
export function isDeletedRow(row: EntityRow): boolean {
  return (row.deleted_at !== null && row.deleted_at !== undefined) || row.is_deleted === true;
}

function toRow(raw: Record<string, unknown>): EntityRow {
  return { ...raw, id: String(raw.id) };
}

export async function getRow(
  db: Database,
  entity: EntityDefinition,
  id: string,
  scope: Scope,
): Promise<EntityRow | undefined> {
  const res = await db.query(
    `SELECT * FROM ${ident(entity.table)} WHERE id = $1::bigint AND ${SCOPE_SQL[scope]}`,
    [id],
  );
  const row = res.rows[0];
  return row ? toRow(row) : undefined;
}

/** Keyset page in id order; nextCursor is set when another page may follow. */
export async function listRows(
  db: Database,
  entity: EntityDefinition,
  scope: Scope,
  after: string,
  limit: number,
): Promise<{ rows: EntityRow[]; nextCursor?: string }> {
  const res = await db.query(
    `SELECT * FROM ${ident(entity.table)} WHERE ${SCOPE_SQL[scope]} AND id > $1::bigint ORDER BY id LIMIT $2`,
    [after, limit + 1],
  );
  const rows = res.rows.slice(0, limit).map(toRow);
  return res.rows.length > limit ? { rows, nextCursor: rows.at(-1)!.id } : { rows };
}

export async function countRows(db: Database, entity: EntityDefinition, scope: Scope): Promise<number> {
  const res = await db.query<{ n: string | number }>(
    `SELECT count(*) AS n FROM ${ident(entity.table)} WHERE ${SCOPE_SQL[scope]}`,
  );
  return Number(res.rows[0]?.n ?? 0);
}
