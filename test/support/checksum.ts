import pg from 'pg';

export const DEMO_TABLES = ['customers', 'orders', 'order_items', 'documents'] as const;

/**
 * A fingerprint of every demo table (row count + md5 of all rows in id order), so a test can prove
 * that a rejected command or request changed nothing at all.
 */
export async function tableChecksums(
  url: string,
  tables: readonly string[] = DEMO_TABLES,
): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const out: Record<string, string> = {};
    for (const table of tables) {
      const { rows } = await client.query<{ n: string; sum: string | null }>(
        `SELECT count(*)::text AS n, md5(string_agg(t::text, ',' ORDER BY t.id)) AS sum FROM ${table} t`,
      );
      out[table] = `${rows[0]!.n}:${rows[0]!.sum ?? ''}`;
    }
    return out;
  } finally {
    await client.end();
  }
}
