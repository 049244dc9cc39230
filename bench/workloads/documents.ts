import pg from 'pg';

/** Extra documents a workload process spends, untimed, on warming its code paths up. */
export const WARMUP_IDS = 1000;

/**
 * Puts every document back to live and vacuums, so each workload run starts from identical data;
 * returns the document ids in order.
 */
export async function resetDocuments(url: string): Promise<string[]> {
  const raw = new pg.Client({ connectionString: url });
  await raw.connect();
  try {
    await raw.query(
      'UPDATE documents SET deleted_at = NULL, deleted_by = NULL, delete_reason = NULL, delete_op_id = NULL WHERE deleted_at IS NOT NULL',
    );
    await raw.query('VACUUM ANALYZE documents');
    const { rows } = await raw.query<{ id: string }>('SELECT id::text FROM documents ORDER BY id');
    return rows.map((r) => r.id);
  } finally {
    await raw.end();
  }
}
