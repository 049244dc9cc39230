import type { Queryable } from '../db/index.ts';
import { ConflictError } from '../errors.ts';
import { rowsOfOpSql } from '../soft-delete/index.ts';
import { rowsDoneEarlier } from './job-progress.ts';
import { parsePayload } from './payload-parsers.ts';

/**
 * A failed bulk_soft_delete some of whose deleted rows are deleted no more: restored by its op id or
 * by id, as the runbook's undo says to, or purged or archived since. Retried, it deleted the restored
 * ones again: a probe following the CleanupJobFailureRatioHigh steps saw 3,602 restored order items go.
 */
class DeleteUndoneError extends ConflictError {
  constructor(jobId: string, opId: string, done: number, carried: number) {
    super(
      'delete_undone',
      `job ${jobId} deleted ${done} rows (its cascade included) under op id ${opId} before it failed, and ` +
        `${carried === 0 ? 'none' : `only ${carried}`} of them carry that op id now: ${carried === 0 ? 'they were' : 'the others were'} restored (an undo), ` +
        'or purged or archived since, and a retry would delete the restored ones again. Cancel its dead copy (sdops queue cancel <id>, while it waits in the dead-letter queue); ' +
        'to delete what is still to delete, enqueue a new bulk_soft_delete',
    );
  }
}

/**
 * Refuses (DeleteUndoneError) to run a failed bulk_soft_delete again once rows it deleted are deleted
 * no more: its attempts counted the rows they changed (job-progress.ts; each row once, since a row
 * already deleted is no change), and fewer rows carry its op id now. Every other job passes, as
 * does a delete whose attempts changed nothing.
 */
export async function assertRedoAllowed(
  db: Queryable,
  jobType: string,
  jobId: string,
  payload: unknown,
): Promise<void> {
  if (jobType !== 'bulk_soft_delete') return;
  const done = await rowsDoneEarlier(db, jobId);
  if (done === 0) return;
  const { entity, opId = jobId } = parsePayload('bulk_soft_delete', payload);
  const { rows } = await db.query<{ n: string }>(rowsOfOpSql(entity), [opId]);
  const carried = Number(rows[0]?.n ?? 0);
  if (carried < done) throw new DeleteUndoneError(jobId, opId, done, carried);
}
