import { ident, type Queryable } from '../db/index.ts';
import { ConflictError } from '../errors.ts';
import { getEntity } from '../soft-delete/index.ts';
import { rowsDoneEarlier } from './job-progress.ts';
import { parsePayload } from './payload-parsers.ts';

/**
 * A failed bulk_soft_delete whose delete was undone since: the rows it deleted were restored by its
 * op id, as the runbook's undo says to. Retried, it deleted them again: a probe following the
 * CleanupJobFailureRatioHigh steps saw 3,602 restored order items go.
 */
class DeleteUndoneError extends ConflictError {
  constructor(jobId: string, opId: string, rows: number) {
    super(
      'delete_undone',
      `job ${jobId} deleted ${rows} rows under op id ${opId} before it failed, and no row carries that op id any more ` +
        '(restored by it, or purged): a retry would delete them again. Cancel it (sdops queue cancel <id>); to delete ' +
        'them after all, enqueue a new bulk_soft_delete',
    );
  }
}

/**
 * Refuses (DeleteUndoneError) to run a failed bulk_soft_delete again once its delete was undone: its
 * attempts changed rows (job-progress.ts) and none of its entity's rows still carries its op id.
 * Every other job passes, as does a delete whose attempts changed nothing.
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
  const table = ident(getEntity(entity).table);
  const { rows } = await db.query<{ carried: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM ${table} WHERE delete_op_id = $1::uuid) AS carried`,
    [opId],
  );
  if (rows[0]?.carried !== true) throw new DeleteUndoneError(jobId, opId, done);
}
