import type { Queryable } from '../db/index.ts';
import { ConflictError } from '../errors.ts';
import { BOSS_SCHEMA, noQueueYet } from './boss.ts';
import { queueName } from './queue-names.ts';

/**
 * The delete an undo names by its op id has not finished: its bulk_soft_delete job still waits or
 * runs. A restore by that op id then restored only the rows deleted so far (none, for a job still
 * waiting), and the job went on to delete the rest: both answered 202, and the caller believed the
 * delete undone.
 */
class DeleteInProgressError extends ConflictError {
  constructor(opId: string, jobId: string) {
    super(
      'delete_in_progress',
      `the delete with op id ${opId} has not finished: its bulk_soft_delete job ${jobId} still waits or runs, ` +
        'and a restore now would leave the rows it deletes after it deleted; restore once the job has ended (sdops queue show, GET /v1/queue/jobs/{id})',
    );
  }
}

/** The op id a restore target undoes: its filter's delete_op_id, when it names one. */
function undoneOpId(target: object): string | undefined {
  const filter = 'filter' in target ? (target.filter as Readonly<Record<string, unknown>>) : undefined;
  const opId = filter?.delete_op_id;
  return typeof opId === 'string' ? opId : undefined;
}

/**
 * Refuses (DeleteInProgressError) a restore target that undoes a delete by its op id while that
 * delete's bulk_soft_delete job has not ended: waiting, retrying or running. Any other target, and a
 * database where no queue was ever set up, passes.
 */
export async function assertUndoAllowed(db: Queryable, target: object): Promise<void> {
  const opId = undoneOpId(target);
  if (opId === undefined) return;
  let rows: { id: string }[];
  try {
    ({ rows } = await db.query<{ id: string }>(
      // A job enqueued by hand has no opId: it stamps its own id. Compared as text in either case
      // (a UUID is one in any case), since a malformed one is for the filter's own check to refuse.
      `SELECT id::text AS id FROM ${BOSS_SCHEMA}.job
        WHERE name = $1 AND state < 'completed'
          AND lower(coalesce(data->'payload'->>'opId', id::text)) = lower($2)
        ORDER BY created_on LIMIT 1`,
      [queueName('bulk_soft_delete'), opId],
    ));
  } catch (error) {
    if (noQueueYet(error)) return;
    throw error;
  }
  const [pending] = rows;
  if (pending) throw new DeleteInProgressError(opId, pending.id);
}
