import type { Queryable } from '../db/index.ts';
import { ConflictError, SdopsError } from '../errors.ts';
import {
  cascadeAncestors,
  type Filter,
  getEntity,
  opIdsOfRowsSql,
  type Target,
  targetsMeet,
  targetUnderCascade,
} from '../soft-delete/index.ts';
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
        'and would delete again, or go on deleting, what a restore brings back now; restore once the job has ended ' +
        `(sdops queue show ${jobId}), or, while it waits, cancel it so it deletes no more (sdops queue cancel ${jobId}, POST /v1/queue/jobs/${jobId}/cancel) and then restore by this op id what an earlier attempt of it had deleted, if anything`,
    );
  }
}

/**
 * The rows a restore's target or a delete job's payload selects, as a target alone (a job's payload
 * carries its entity and options beside it); none when it names none.
 */
function selection(of: {
  readonly id?: unknown;
  readonly ids?: unknown;
  readonly filter?: unknown;
}): Target | undefined {
  const { id, ids, filter } = of;
  if (typeof filter === 'object' && filter !== null) return { filter: filter as Filter };
  if (Array.isArray(ids)) return { ids: ids as string[] };
  if (typeof id === 'string') return { id };
  return undefined;
}

/**
 * The op ids a restore takes back: its filter's delete_op_id when it names one; for ids, the op ids
 * the rows carry (one statement). Other filters are not looked into.
 */
async function undoneOpIds(db: Queryable, entity: string, restored: Target): Promise<string[]> {
  if ('filter' in restored) {
    const op = (restored.filter as Readonly<Record<string, unknown>>).delete_op_id;
    return typeof op === 'string' ? [op] : [];
  }
  // An id that is none (past int8, say) is for the restore's own check to refuse, not for SQL to fail on.
  const ids = ('ids' in restored ? restored.ids : [restored.id]).filter(isIdText);
  if (ids.length === 0) return [];
  const { rows } = await db.query<{ op: string }>(opIdsOfRowsSql(getEntity(entity).table), [ids]);
  return rows.map((r) => r.op);
}

/**
 * A bulk delete that has not run (or finished) yet selects rows the restore brings back: the restore
 * ran first, and the delete then took them back. Asked to delete and then to restore the same
 * filter, a caller got 202 twice and the rows ended deleted.
 */
class DeleteWouldUndoError extends ConflictError {
  constructor(entity: string, job: PendingJob) {
    const deleted = job.payload?.entity ?? entity;
    const how =
      deleted === entity
        ? 'selects rows this restore brings back, and would delete them again'
        : `selects rows whose cascade reaches rows of ${entity} this restore brings back, and would delete those again`;
    super(
      'delete_in_progress',
      `a bulk delete of ${deleted} that has not finished (its bulk_soft_delete job ${job.id}, op id ${job.op}) ${how} ` +
        'when it runs on; restore once the job has ended ' +
        `(sdops queue show ${job.id}), or cancel it first if it is not wanted (sdops queue cancel ${job.id})`,
    );
  }
}

/** How many unended bulk deletes a restore is checked against; past it the restore is refused. */
const PENDING_DELETES_CHECKED = 100;

/**
 * More unended bulk deletes reach the restore's rows than it is checked against: one past the limit
 * went unchecked, and a restore it would undo got 202 (probe K).
 */
class TooManyPendingDeletesError extends ConflictError {
  constructor(entity: string) {
    super(
      'delete_in_progress',
      `more than ${PENDING_DELETES_CHECKED} bulk deletes that reach ${entity} have not finished (bulk_soft_delete jobs ` +
        'waiting or running), too many to check whether one would delete again what this restore brings back; ' +
        'restore once fewer wait (sdops queue status), or cancel those not wanted',
    );
  }
}

type PendingJob = {
  readonly id: string;
  readonly op: string;
  /** The job deletes rows of an op id the restore takes back. */
  readonly undone: boolean;
  readonly payload?: {
    readonly entity?: string;
    readonly ids?: unknown;
    readonly filter?: unknown;
    readonly cascade?: unknown;
  };
};

/**
 * The unended bulk_soft_delete jobs that delete rows of the op ids $2 (any entity: a cascade stamps
 * its children with its op id) or rows of the entities $3 (the restore's and those whose cascade
 * reaches it), those of the op ids first, then oldest first, one more than are checked: one
 * statement; none without a queue.
 */
async function pendingDeletes(
  db: Queryable,
  opIds: readonly string[],
  entities: readonly string[],
): Promise<PendingJob[]> {
  // A job enqueued by hand has no opId: it stamps its own id. Compared as text in either case (a UUID
  // is one in any case), since a malformed one is for the filter's own check to refuse.
  const op = `coalesce(data->'payload'->>'opId', id::text)`;
  try {
    const { rows } = await db.query<PendingJob>(
      `SELECT id::text AS id, ${op} AS op, lower(${op}) = ANY($2::text[]) AS undone, data->'payload' AS payload
         FROM ${BOSS_SCHEMA}.job
        WHERE name = $1 AND state < 'completed'
          AND (lower(${op}) = ANY($2::text[]) OR data->'payload'->>'entity' = ANY($3::text[]))
        ORDER BY undone DESC, created_on LIMIT ${PENDING_DELETES_CHECKED + 1}`,
      [queueName('bulk_soft_delete'), opIds.map((id) => id.toLowerCase()), entities],
    );
    return rows;
  } catch (error) {
    if (noQueueYet(error)) return [];
    throw error;
  }
}

/**
 * Whether the job would delete again rows the restore brings back: rows of its own entity that both
 * select, or rows its cascade reaches. A target that is no valid one meets nothing here (its own
 * check refuses it).
 */
async function wouldDeleteAgain(
  db: Queryable,
  entity: string,
  restored: Target,
  job: PendingJob,
): Promise<boolean> {
  const selected = selection(job.payload ?? {});
  const deleted = job.payload?.entity;
  if (!selected || deleted === undefined) return false;
  try {
    if (deleted === entity) return await targetsMeet(db, entity, restored, selected);
    if (job.payload?.cascade === false) return false;
    return await targetUnderCascade(db, entity, restored, deleted, selected);
  } catch (error) {
    if (error instanceof SdopsError && error.kind === 'invalid_input') return false;
    throw error;
  }
}

/**
 * Refuses (409 delete_in_progress) a restore that a bulk delete which has not ended would undo or be
 * undone by: one taking back rows of that delete (by its op id, or rows it deleted, by id), one
 * whose rows (by ids or filter, whatever their deleted state now) that delete selects, and one whose
 * rows lie under rows a delete of a parent entity selects, which its cascade would reach. Any other
 * target, and a database where no queue was ever set up, passes.
 */
export async function assertUndoAllowed(db: Queryable, entity: string, target: object): Promise<void> {
  const restored = selection(target);
  if (!restored) return;
  const entities = [entity, ...cascadeAncestors(entity)];
  const pending = await pendingDeletes(db, await undoneOpIds(db, entity, restored), entities);
  const [first] = pending;
  if (first?.undone) throw new DeleteInProgressError(first.op, first.id);
  if (pending.length > PENDING_DELETES_CHECKED) throw new TooManyPendingDeletesError(entity);
  for (const job of pending) {
    if (await wouldDeleteAgain(db, entity, restored, job)) throw new DeleteWouldUndoError(entity, job);
  }
}
