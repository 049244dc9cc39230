import { v5 as uuidv5 } from 'uuid';
import type { Queryable } from '../db/index.ts';

/**
 * What a job's attempts have committed (sdops_job_progress, schema 030), each batch adding to it in
 * its own transaction: a purge/archive job's candidate rows, so a retry takes only the rest of its
 * budget, and every row they changed (schema 034); a bulk delete/restore or cascade job's changed
 * rows and position, so a retry goes on from there and can say what the attempts before it did. One
 * statement per operation.
 */

export interface EarlierProgress {
  /** Rows the job's earlier attempts committed; 0 for a first attempt. */
  readonly rows: number;
  /** Where they got to (the core's position, schema 033); absent when none gave one. */
  readonly position: string | undefined;
  /**
   * A purge/archive job's rows changed, children included (schema 034); `rows` counts its own
   * entity's candidates (its budget). Absent when no batch recorded it.
   */
  readonly changed: number | undefined;
}

export async function progressEarlier(db: Queryable, jobId: string): Promise<EarlierProgress> {
  const { rows } = await db.query<{ done: string; position: string | null; changed: string | null }>(
    'SELECT rows::text AS done, position, changed::text AS changed FROM sdops_job_progress WHERE job_id = $1',
    [jobId],
  );
  const changed = rows[0]?.changed;
  return {
    rows: Number(rows[0]?.done ?? 0),
    position: rows[0]?.position ?? undefined,
    changed: changed == null ? undefined : Number(changed),
  };
}

/** Rows the job's earlier attempts committed; 0 for a first attempt. */
export async function rowsDoneEarlier(db: Queryable, jobId: string): Promise<number> {
  return (await progressEarlier(db, jobId)).rows;
}

/**
 * In a bulk or cascade job's batch's transaction: the batch changed `rows` rows and, given one, the
 * job got to `position` (its next attempt goes on from there). Purge/archive: addRetentionBatch.
 */
export async function addRowsDone(
  tx: Queryable,
  jobId: string,
  rows: number,
  position?: string,
): Promise<void> {
  await tx.query(
    `INSERT INTO sdops_job_progress (job_id, rows, position) VALUES ($1, $2, $3)
     ON CONFLICT (job_id) DO UPDATE SET rows = sdops_job_progress.rows + EXCLUDED.rows,
       position = coalesce(EXCLUDED.position, sdops_job_progress.position), updated_at = now()`,
    [jobId, rows, position ?? null],
  );
}

/** In a purge/archive batch's transaction: its candidates (the budget) and every row it changed. */
export async function addRetentionBatch(
  tx: Queryable,
  jobId: string,
  candidates: number,
  changed: number,
): Promise<void> {
  await tx.query(
    `INSERT INTO sdops_job_progress (job_id, rows, changed) VALUES ($1, $2, $3)
     ON CONFLICT (job_id) DO UPDATE SET rows = sdops_job_progress.rows + EXCLUDED.rows,
       changed = coalesce(sdops_job_progress.changed, 0) + EXCLUDED.changed, updated_at = now()`,
    [jobId, candidates, changed],
  );
}

/**
 * Forgets jobs whose progress has not moved for 400 days: longer than pg-boss keeps a dead job's copy
 * (365 days), which `queue retry` may bring back until then; at 14 days a retry took a purge's whole
 * budget again, and a delete undone since was no longer known as one (undone-deletes.ts). A job's own
 * row stays when it succeeds: deleted before its completion was recorded, a crash in between gave
 * the retry the whole budget again.
 */
export async function forgetStaleProgress(db: Queryable): Promise<void> {
  await db.query(`DELETE FROM sdops_job_progress WHERE updated_at < now() - interval '400 days'`);
}

/**
 * The id of a job that job `parentId` enqueues as its `what` (a fan-out child, a follow-up): the
 * same on every attempt of the parent, so a retry enqueues nothing twice.
 */
export function derivedJobId(parentId: string, what: string): string {
  return uuidv5(`${parentId}:${what}`, DERIVED_JOB_NAMESPACE);
}

/** Fixed: the UUIDv5 namespace of derived job ids. */
const DERIVED_JOB_NAMESPACE = '5f0b7e0e-2c53-4c58-9d0f-6a1f3b1f9a57';
