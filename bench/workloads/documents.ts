import pg from 'pg';

/** Extra documents a workload process spends, untimed, on warming its code paths up. */
export const WARMUP_IDS = 1000;

/** Puts soft-deleted documents back to live; callers add the WHERE clause. */
export const UNDELETE_DOCUMENTS =
  'UPDATE documents SET deleted_at = NULL, deleted_by = NULL, delete_reason = NULL, delete_op_id = NULL, is_deleted = false';

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function idsInOrder(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ id: string }>('SELECT id::text FROM documents ORDER BY id');
  return rows.map((r) => r.id);
}

/** Every document id, in order. */
export function documentIds(url: string): Promise<string[]> {
  return withClient(url, idsInOrder);
}

/**
 * Puts every document back to live and vacuums, so each workload run starts from identical data;
 * returns the document ids in order.
 */
export function resetDocuments(url: string): Promise<string[]> {
  return withClient(url, async (client) => {
    await client.query(`${UNDELETE_DOCUMENTS} WHERE deleted_at IS NOT NULL OR is_deleted`);
    await client.query('VACUUM ANALYZE documents');
    return idsInOrder(client);
  });
}
