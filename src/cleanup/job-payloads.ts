/**
 * What each built-in job type carries. Payloads are checked when a job is enqueued (a bad one is
 * refused with InvalidPayloadError, exit code 2 / HTTP 400) and again when it runs, because a job row
 * can also come from an operator's `sdops queue enqueue` or an older version of the product
 * (payload-parsers.ts).
 */
export interface RetentionPayload {
  /** Omitted: one job per registered entity is enqueued (fan-out). */
  readonly entity?: string;
  /** purge: default the entity's retentionDays; archive: default SDOPS_ARCHIVE_AFTER_DAYS. */
  readonly olderThanDays?: number;
  readonly batchSize?: number;
  /**
   * Rows this job handles at most: the caller's bound, the rest stays. Without it the job takes
   * SDOPS_CLEANUP_MAX_ROWS_PER_JOB and the rest goes to a follow-up job.
   */
  readonly maxRows?: number;
}

export interface CascadePayload {
  readonly entity: string;
  readonly id: string;
  /** delete_op_id of the parent's delete; the job does nothing if the parent was deleted again since. */
  readonly opId?: string;
  readonly deletedBy?: string;
  readonly reason?: string;
}

interface RestoreCascadePayload {
  readonly entity: string;
  readonly id: string;
  /** The parent's deleted_at before it was restored (ISO 8601): children deleted since are restored. */
  readonly deletedAt?: string;
}

/** Most ids one bulk job may carry (the API's own cap, bulk.maxIds, is usually far lower). */
export const MAX_BULK_JOB_IDS = 100_000;

/** bulk_soft_delete / bulk_restore: exactly one of ids and filter. */
export interface BulkPayload {
  readonly entity: string;
  readonly ids?: readonly string[];
  /** Registry filter columns and time keys; checked against the entity by the core when the job runs. */
  readonly filter?: Readonly<Record<string, string | number | boolean | null>>;
  /** Default true. */
  readonly cascade?: boolean;
  /** bulk_soft_delete only: the delete_op_id every attempt stamps (the API picks it at enqueue). */
  readonly opId?: string;
  readonly deletedBy?: string;
  readonly reason?: string;
}

interface NoopPayload {
  /** Pretend work (tests, smoke checks). */
  readonly sleepMs?: number;
}

export interface JobPayloads {
  purge_expired: RetentionPayload;
  archive_entity: RetentionPayload;
  cascade_soft_delete: CascadePayload;
  restore_cascade: RestoreCascadePayload;
  bulk_soft_delete: BulkPayload;
  bulk_restore: BulkPayload;
  noop: NoopPayload;
}
