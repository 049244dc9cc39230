import type { Queryable } from './database.ts';

/** The next batch of a keyset walk: how many rows it holds and its last key. */
export interface KeysetBatch {
  readonly lastKey: string;
  readonly rows: number;
}

/**
 * The next at most `limit` keys after `after` of the rows matching `where`, in key order: their
 * count and the last (undefined once none is left). One statement for every batched walk over a
 * table (migrations, the archive run), so each reads the same way and uses the key's index. `table`,
 * `key` and `where` are SQL from code (identifiers from the entity registry, quoted); `$1` is the
 * key to start after, `$2` the limit, and `params` are `$3` onwards.
 */
export async function nextKeysetBatch(
  q: Queryable,
  scan: { readonly table: string; readonly key: string; readonly where: string },
  after: string,
  limit: number,
  params: readonly unknown[] = [],
): Promise<KeysetBatch | undefined> {
  const { table, key, where } = scan;
  const { rows } = await q.query<{ n: string; last: string | null }>(
    `SELECT count(*) AS n, max(k)::text AS last FROM (
       SELECT ${key} AS k FROM ${table} WHERE ${key} > $1::bigint AND ${where}
        ORDER BY ${key} LIMIT $2) s`,
    [after, limit, ...params],
  );
  const last = rows[0]?.last;
  return last == null ? undefined : { lastKey: last, rows: Number(rows[0]?.n ?? 0) };
}
