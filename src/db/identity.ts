import type { Queryable } from './database.ts';

/**
 * The database's identity for the telemetry every process reports about it: its name and the id
 * schema 032 gave it (`name@uuid`), the same by whichever URL a process reached it. Undefined before
 * that schema is applied.
 */
export async function databaseIdentity(q: Queryable): Promise<string | undefined> {
  try {
    const { rows } = await q.query<{ identity: string }>(
      `SELECT current_database() || '@' || id::text AS identity FROM sdops_database`,
    );
    return rows[0]?.identity;
  } catch {
    return undefined;
  }
}
