import type { Queryable } from '../db/index.ts';

/**
 * What a purge/archive job's attempts have committed (sdops_job_progress, schema 030): each batch
 * adds its candidate rows in its own transaction, so a retry takes only the rest of the job's budget.
 * One statement per operation.
 */

/** Rows the job's earlier attempts committed; 0 for a first attempt. */
export async function rowsDoneEarlier(db: Queryable, jobId: string): Promise<number> {
  const { rows } = await db.query<{ done: string }>(
    'SELECT rows::text AS done FROM sdops_job_progress WHERE job_id = $1',
    [jobId],
  );
  return Number(rows[0]?.done ?? 0);
}

/** In a batch's transaction: the batch took `candidates` rows of the job's budget. */
export async function addRowsDone(tx: Queryable, jobId: string, candidates: number): Promise<void> {
  await tx.query(
    `INSERT INTO sdops_job_progress (job_id, rows) VALUES ($1, $2)
     ON CONFLICT (job_id) DO UPDATE SET rows = sdops_job_progress.rows + EXCLUDED.rows, updated_at = now()`,
    [jobId, candidates],
  );
}

/** The job succeeded: its budget is settled. Jobs that never did are forgotten after 14 days. */
export async function forgetJob(db: Queryable, jobId: string): Promise<void> {
  await db.query(
    `DELETE FROM sdops_job_progress WHERE job_id = $1 OR updated_at < now() - interval '14 days'`,
    [jobId],
  );
}
