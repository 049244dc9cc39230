import type { Queryable } from '../db/index.ts';
import { ConflictError } from '../errors.ts';
import { getEntity, opIdsOfRowsSql } from '../soft-delete/index.ts';
import { isIdText } from '../validation/index.ts';
import { BOSS_SCHEMA, noQueueYet } from './boss.ts';
import { queueName } from './queue-names.ts';

/**
 * The delete an undo takes back has not finished: its bulk_soft_delete job still waits or runs. A
 * restore by its op id then restored only the rows deleted so far (none, for a job still waiting),
 * and the job went on to delete the rest: both answered 202, and the caller believed the delete
 * undone. A restore of some of its rows by id was deleted again by the job's next attempt.
 */
class DeleteInProgressError extends ConflictError {
  constructor(opId: string, jobId: string) {
    super(
      'delete_in_progress',
      `the delete with op id ${opId} has not finished: its bulk_soft_delete job ${jobId} still waits or runs, ` +
        'and would delete again, or go on deleting, what a restore brings back now; restore once the job has ended (sdops queue show, GET /v1/queue/jobs/{id})',
    );
  }
}

/**
 * The op ids a restore target takes back: its filter's delete_op_id when it names one; for ids, the
 * op ids the rows carry (one statement). Other filters are not looked into.
 */
async function undoneOpIds(db: Queryable, entity: string, target: object): Promise<string[]> {
  const filter = 'filter' in target ? (target.filter as Readonly<Record<string, unknown>>) : undefined;
  if (filter) return typeof filter.delete_op_id === 'string' ? [filter.delete_op_id] : [];
  const given: readonly unknown[] =
    'ids' in target ? (target.ids as unknown[]) : 'id' in target ? [target.id] : [];
  // An id that is none (past int8, say) is for the restore's own check to refuse, not for SQL to fail on.
  const ids = given.filter(isIdText);
  if (ids.length === 0) return [];
  const { rows } = await db.query<{ op: string }>(opIdsOfRowsSql(getEntity(entity).table), [ids]);
  return rows.map((r) => r.op);
}

/**
 * Refuses (DeleteInProgressError) a restore that takes back rows of a delete (by its op id, or rows
 * it deleted, by id) while that delete's bulk_soft_delete job has not ended: waiting, retrying or
 * running. Any other target, and a database where no queue was ever set up, passes.
 */
export async function assertUndoAllowed(db: Queryable, entity: string, target: object): Promise<void> {
  const opIds = await undoneOpIds(db, entity, target);
  if (opIds.length === 0) return;
  let rows: { id: string; op: string }[];
  try {
    ({ rows } = await db.query<{ id: string; op: string }>(
      // A job enqueued by hand has no opId: it stamps its own id. Compared as text in either case
      // (a UUID is one in any case), since a malformed one is for the filter's own check to refuse.
      `SELECT id::text AS id, coalesce(data->'payload'->>'opId', id::text) AS op FROM ${BOSS_SCHEMA}.job
        WHERE name = $1 AND state < 'completed'
          AND lower(coalesce(data->'payload'->>'opId', id::text)) = ANY($2::text[])
        ORDER BY created_on LIMIT 1`,
      [queueName('bulk_soft_delete'), opIds.map((op) => op.toLowerCase())],
    ));
  } catch (error) {
    if (noQueueYet(error)) return;
    throw error;
  }
  const [pending] = rows;
  if (pending) throw new DeleteInProgressError(pending.op, pending.id);
}
