import { entityNames, type SoftDeleteService, type Target } from '../soft-delete/index.ts';
import type { HandlerRegistry, JobHandler, JobResult } from './handlers-types.ts';
import type { BulkPayload, RetentionPayload } from './job-payloads.ts';
import { guardedDatabase, type Queryable } from '../db/index.ts';
import {
  addRetentionBatch,
  addRowsDone,
  derivedJobId,
  forgetStaleProgress,
  progressEarlier,
} from './job-progress.ts';
import { jobOutageGuard } from './job-outage.ts';
import { cascadeHandler, restoreCascadeHandler } from './cascade-handlers.ts';
import { changed, typed, unlessStopped } from './handler-support.ts';

export interface HandlerSettings {
  /** archive_entity without olderThanDays. */
  readonly archiveAfterDays: number;
  readonly batchSize: number;
  /** Rows one purge/archive job handles before it hands the rest to a follow-up job. */
  readonly maxRowsPerJob: number;
}

/**
 * purge_expired / archive_entity. Without an entity the job fans out one job per entity. A job that
 * used its whole row budget and changed rows enqueues a follow-up with the same payload, so a large
 * backlog is worked through in lease-sized pieces instead of one job that outlives its lease; rows
 * that must stay (they still have children) do not use the budget and are reported as skipped, so
 * the chain ends. Idempotent: a second run finds no rows past the cutoff that the first run left.
 */
function retentionHandler(
  jobType: 'purge_expired' | 'archive_entity',
  sd: SoftDeleteService,
  settings: HandlerSettings,
): JobHandler {
  return typed(jobType, async (payload: RetentionPayload, ctx): Promise<JobResult> => {
    const outage = jobOutageGuard(ctx);
    if (payload.entity === undefined) {
      const entities = entityNames();
      // The children's ids are derived from this job's: enqueued again after an outage, none twice.
      const ids = await outage.run(() =>
        ctx.queue.enqueueMany(
          jobType,
          entities.map((entity) => ({ ...payload, entity })),
          { ids: entities.map((entity) => derivedJobId(ctx.jobId, `fan-out:${entity}`)) },
        ),
      );
      return { count: ids.length, detail: { fanned_out: ids.length } };
    }
    const batchSize = payload.batchSize ?? settings.batchSize;
    const budget = payload.maxRows ?? settings.maxRowsPerJob;
    // A retry takes only what its failed attempts left of the budget: they committed batches. Read on
    // every attempt: a job handed back at shutdown runs again as the same attempt.
    const db = guardedDatabase(ctx.queue.db, outage);
    const progress = await progressEarlier(db, ctx.jobId);
    const maxRows = Math.max(0, budget - progress.rows);
    // What the output reports: every row the earlier attempts changed, children included.
    const earlier = progress.changed ?? progress.rows;
    const followUp = () =>
      outage.run(() => ctx.queue.enqueue(jobType, payload, { id: derivedJobId(ctx.jobId, 'follow-up') }));
    if (maxRows === 0) {
      // The failed attempts used the whole budget, and may have died before their follow-up.
      const chained = payload.maxRows === undefined;
      if (chained) await followUp();
      return { count: 0, entity: payload.entity, detail: { earlier_attempts: earlier, follow_up: chained } };
    }
    const opts = {
      batchSize,
      maxRows,
      signal: ctx.signal,
      inBatch: (tx: Queryable, candidates: number, rows: number) =>
        addRetentionBatch(tx, ctx.jobId, candidates, rows),
      outageGuard: outage,
    };
    const called =
      jobType === 'purge_expired'
        ? await sd.purge(payload.entity, {
            ...opts,
            ...(payload.olderThanDays === undefined ? {} : { olderThanDays: payload.olderThanDays }),
          })
        : await sd.archive(payload.entity, {
            ...opts,
            olderThanDays: payload.olderThanDays ?? settings.archiveAfterDays,
          });
    const result = unlessStopped(called, ctx.signal);
    const seen = result.counts.success + result.counts.noop + result.counts.failure;
    const skipped = result.skipped?.has_children ?? 0;
    // Only a job that used its whole budget may have left rows behind, and only one that changed rows
    // made progress: a follow-up of a job that changed nothing would do the same nothing again. An
    // explicit maxRows is the caller's bound for this job: only the default budget chains.
    const chained = payload.maxRows === undefined && seen >= maxRows && changed(result) > 0;
    if (chained) await followUp();
    await forgetStaleProgress(db);
    if (skipped > 0) {
      ctx.log.info(`${jobType} left rows that still have children`, {
        entity: payload.entity,
        count: skipped,
        reason: 'has_children',
      });
    }
    return {
      count: changed(result),
      entity: payload.entity,
      detail: {
        success: result.counts.success,
        noop: result.counts.noop,
        skipped,
        skipped_reason: skipped > 0 ? 'has_children' : null,
        batches: result.batches,
        follow_up: chained,
        ...(earlier > 0 ? { earlier_attempts: earlier } : {}),
      },
    };
  });
}

/**
 * bulk_soft_delete / bulk_restore: a bulk API request too large to run in the request. Idempotent:
 * rows already in the requested state are noop, so a re-run changes nothing; a delete re-run stamps
 * the same opId the payload carries, so a partly done first attempt and its retry are one operation.
 * A job enqueued without one (`sdops queue enqueue`) uses its own job id, which every attempt shares.
 */
function bulkHandler(jobType: 'bulk_soft_delete' | 'bulk_restore', sd: SoftDeleteService): JobHandler {
  return typed(jobType, async (p: BulkPayload, ctx): Promise<JobResult> => {
    const target: Target = p.ids ? { ids: p.ids } : { filter: p.filter ?? {} };
    // Rows an earlier attempt changed are not this attempt's to find again (a restore by op id no
    // longer matches them): the job's output names them, or the job looks as if it did less.
    const outage = jobOutageGuard(ctx);
    const db = guardedDatabase(ctx.queue.db, outage);
    const { rows: earlier, position } = await progressEarlier(db, ctx.jobId);
    const common = {
      cascade: p.cascade ?? true,
      outageGuard: outage,
      signal: ctx.signal,
      // Where the earlier attempts got to: this one goes on from there, not from the first row.
      ...(position === undefined ? {} : { resumeAfter: position }),
      inBatch: (tx: Queryable, rows: number, at: string | undefined) => addRowsDone(tx, ctx.jobId, rows, at),
    };
    const called =
      jobType === 'bulk_soft_delete'
        ? await sd.softDelete(p.entity, target, {
            ...common,
            opId: p.opId ?? ctx.jobId,
            ...(p.deletedBy ? { deletedBy: p.deletedBy } : {}),
            ...(p.reason ? { reason: p.reason } : {}),
          })
        : await sd.restore(p.entity, target, common);
    const result = unlessStopped(called, ctx.signal);
    await forgetStaleProgress(db);
    return {
      count: changed(result),
      entity: p.entity,
      detail: {
        success: result.counts.success,
        noop: result.counts.noop,
        failure: result.counts.failure,
        batches: result.batches,
        ...(earlier > 0 ? { earlier_attempts: earlier } : {}),
      },
    };
  });
}

const noopHandler: JobHandler = typed('noop', async (p, ctx) => {
  if (p.sleepMs) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, p.sleepMs);
      ctx.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(ctx.signal.reason);
        },
        { once: true },
      );
    });
  }
  return { count: 0 };
});

/** Handlers of the built-in job types over the soft-delete core. */
export function builtinHandlers(sd: SoftDeleteService, settings: HandlerSettings): HandlerRegistry {
  return {
    purge_expired: retentionHandler('purge_expired', sd, settings),
    archive_entity: retentionHandler('archive_entity', sd, settings),
    cascade_soft_delete: cascadeHandler(sd),
    restore_cascade: restoreCascadeHandler(sd),
    bulk_soft_delete: bulkHandler('bulk_soft_delete', sd),
    bulk_restore: bulkHandler('bulk_restore', sd),
    noop: noopHandler,
  };
}
