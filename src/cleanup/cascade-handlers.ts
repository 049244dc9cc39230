import { guardedDatabase, type Queryable } from '../db/index.ts';
import {
  type EntityDefinition,
  getEntity,
  isDeletedRow,
  type OperationResult,
  type SoftDeleteService,
} from '../soft-delete/index.ts';
import { changed, typed, unlessStopped } from './handler-support.ts';
import type { JobContext, JobHandler, JobResult } from './handlers-types.ts';
import { jobOutageGuard } from './job-outage.ts';
import { addRowsDone, forgetStaleProgress, progressEarlier } from './job-progress.ts';

type OutageGuard = ReturnType<typeof jobOutageGuard>;

/** What one child entity's call needs to go on where the job's earlier attempts got to. */
interface ChildResume {
  readonly resumeAfter?: string;
  readonly inBatch: (tx: Queryable, rows: number, at: string | undefined) => Promise<void>;
}

/** A child entity of the job's parent, by its foreign key to the parent (the registry's own). */
type ChildRelation = EntityDefinition['children'][number];

/**
 * A cascade job walks the parent's child entities one after another; its position (schema 033) is
 * `child:position`, the child's index among the parent's children and where that child's call got
 * to. Anything else (none recorded yet) starts at the first child's first row.
 */
function parsePosition(position: string | undefined): { child: number; after?: string } {
  const match = position === undefined ? null : /^(\d+):(\d+)$/.exec(position);
  return match ? { child: Number(match[1]), after: match[2] as string } : { child: 0 };
}

interface ChildrenOutcome {
  /** Rows this attempt changed. */
  readonly count: number;
  /** Rows the job's earlier attempts changed (a hand-back at a deploy, a failed attempt). */
  readonly earlier: number;
  /** The guard's parent changed under a call: the job stopped there. */
  readonly parentChanged: boolean;
}

/**
 * Runs `call` for each child entity of `parentEntity`, from where the job's earlier attempts got to:
 * a deploy in the middle of a large cascade neither walks the children it finished again nor counts
 * the rows deleted before the job as noop once more per attempt.
 */
async function eachChild(
  parentEntity: string,
  ctx: JobContext,
  outage: OutageGuard,
  call: (child: ChildRelation, resume: ChildResume) => Promise<OperationResult>,
): Promise<ChildrenOutcome> {
  const db = guardedDatabase(ctx.queue.db, outage);
  const { rows: earlier, position } = await progressEarlier(db, ctx.jobId);
  const from = parsePosition(position);
  let count = 0;
  const children = getEntity(parentEntity).children;
  for (const [index, child] of children.entries()) {
    if (index < from.child) continue;
    ctx.signal.throwIfAborted();
    const resume: ChildResume = {
      ...(index === from.child && from.after !== undefined ? { resumeAfter: from.after } : {}),
      inBatch: (tx, rows, at) =>
        addRowsDone(tx, ctx.jobId, rows, at === undefined ? undefined : `${index}:${at}`),
    };
    const result = unlessStopped(await call(child, resume), ctx.signal);
    count += changed(result);
    if (result.stopped === 'parent_changed') return { count, earlier, parentChanged: true };
  }
  await forgetStaleProgress(db);
  return { count, earlier, parentChanged: false };
}

function withEarlier(result: JobResult, earlier: number): JobResult {
  if (earlier === 0) return result;
  return { ...result, detail: { ...result.detail, earlier_attempts: earlier } };
}

/**
 * cascade_soft_delete: the API soft-deleted a parent without its children and left them to this
 * job. Idempotent and order-safe: children are deleted only while the parent is still deleted (by
 * the same operation when opId is given); already deleted children are untouched (noop).
 */
export function cascadeHandler(sd: SoftDeleteService): JobHandler {
  return typed('cascade_soft_delete', async (p, ctx) => {
    const outage = jobOutageGuard(ctx);
    const parent = await outage.run(() => sd.get(p.entity, p.id, { scope: 'all' }));
    const skip = (reason: string): JobResult => ({ count: 0, entity: p.entity, detail: { skipped: reason } });
    if (!parent) return skip('parent_missing');
    if (parent.deleted_at === null || parent.deleted_at === undefined) return skip('parent_live');
    if (p.opId !== undefined && parent.delete_op_id !== p.opId) return skip('parent_deleted_again');
    // The children belong to the delete that took the parent: its actor and reason, as its op id.
    const deletedBy = typeof parent.deleted_by === 'string' ? parent.deleted_by : p.deletedBy;
    const reason = typeof parent.delete_reason === 'string' ? parent.delete_reason : p.reason;
    // The parent's op id on the children: restoring the parent then restores exactly these.
    const opId = typeof parent.delete_op_id === 'string' ? parent.delete_op_id : p.opId;
    const done = await eachChild(p.entity, ctx, outage, (child, resume) =>
      sd.softDelete(
        child.entity,
        { filter: { [child.foreignKey]: p.id } },
        {
          ...resume,
          cascade: true,
          outageGuard: outage,
          signal: ctx.signal,
          // Checked again in every batch, under a lock: the parent may be restored while the job runs.
          ...(opId ? { opId, whileParent: { entity: p.entity, id: p.id, deletedByOp: opId } } : {}),
          ...(deletedBy ? { deletedBy } : {}),
          ...(reason ? { reason } : {}),
        },
      ),
    );
    const result = done.parentChanged
      ? { ...skip('parent_live'), count: done.count }
      : { count: done.count, entity: p.entity };
    return withEarlier(result, done.earlier);
  });
}

/**
 * restore_cascade (enqueued by hand, `sdops queue enqueue restore_cascade`: the API's restore brings
 * a parent's children back in its own request): restores the children the parent's deletion took
 * with it: those deleted at or after `deletedAt` (the parent's former deleted_at), each with its own
 * cascade. Without deletedAt every deleted child is restored. Idempotent: restored rows are noop;
 * nothing happens if the parent is deleted again meanwhile.
 */
export function restoreCascadeHandler(sd: SoftDeleteService): JobHandler {
  return typed('restore_cascade', async (p, ctx) => {
    const outage = jobOutageGuard(ctx);
    const parent = await outage.run(() => sd.get(p.entity, p.id, { scope: 'all' }));
    if (!parent) return { count: 0, entity: p.entity, detail: { skipped: 'parent_missing' } };
    // Also a parent only the legacy flag deletes: before, its children came back under it.
    if (isDeletedRow(parent)) return { count: 0, entity: p.entity, detail: { skipped: 'parent_deleted' } };
    const done = await eachChild(p.entity, ctx, outage, (child, resume) =>
      sd.restore(
        child.entity,
        { filter: { [child.foreignKey]: p.id, ...(p.deletedAt ? { deletedAfter: p.deletedAt } : {}) } },
        {
          ...resume,
          cascade: true,
          // Checked again in every batch, under a lock: the parent may be deleted again while the job runs.
          whileParent: { entity: p.entity, id: p.id },
          outageGuard: outage,
          signal: ctx.signal,
        },
      ),
    );
    const result: JobResult = done.parentChanged
      ? { count: done.count, entity: p.entity, detail: { skipped: 'parent_deleted' } }
      : { count: done.count, entity: p.entity };
    return withEarlier(result, done.earlier);
  });
}
