import type { OutageGuard, Queryable } from '../db/index.ts';

type ColumnType = 'text' | 'bigint' | 'boolean' | 'uuid';

/** A soft-deletable entity. Every table is keyed by a bigint `id`, which the SQL names as such. */
export interface EntityDefinition {
  name: string;
  table: string;
  /** Days a soft-deleted row is kept before purge may hard-delete it. */
  retentionDays: number;
  archiveTable: string;
  /** Child entities soft-deleted (and restored) with this one, by their foreign key to it. */
  children: readonly { entity: string; foreignKey: string }[];
  /**
   * The columns a Filter may name (besides the special keys in FILTER_KEYS), each with its SQL type,
   * so filter values are checked before any SQL runs.
   */
  columnTypes: Readonly<Record<string, ColumnType>>;
}

export type OperationName = 'delete' | 'restore' | 'purge' | 'archive';

/**
 * Rows to act on. A filter maps registry filter columns to values (null = IS NULL) and may add the
 * special time keys createdBefore / createdAfter / deletedBefore / deletedAfter (ISO 8601 timestamps,
 * before = strictly earlier, after = at or later). A filter needs at least one key.
 */
export type Target = { id: string } | { ids: readonly string[] } | { filter: Filter };

export interface Filter {
  [column: string]: string | number | boolean | null;
}

export type { Scope } from '../validation/index.ts';

export type EntityRow = Record<string, unknown> & { id: string };

/**
 * success: rows changed. noop: rows already in the requested state (or, for purge/archive,
 * candidates a child appeared under while the call ran; rows known to have children are `skipped`). failure: ids in a list that do not exist, and
 * rows a bulk restore could not bring back because a live row now holds their unique key.
 */
export interface OperationCounts {
  success: number;
  noop: number;
  failure: number;
}

export interface OperationResult {
  entity: string;
  operation: OperationName;
  counts: OperationCounts;
  /** Descendant rows changed by the cascade, by entity name. */
  cascaded: Record<string, number>;
  batches: number;
  durationMs: number;
  /**
   * Bulk, purge and archive calls: the run the call's spans and log lines carry as run_id (the
   * surrounding migration run, or an id of the call's own). Absent on single-row calls outside a run.
   */
  runId?: string;
  /**
   * delete: the delete_op_id given to every row this call deleted (parents and cascaded children);
   * absent when it deleted none (every row was already deleted, or missing). The API's repeated
   * DELETE that enqueues the cascade again answers the op id of the delete that job completes.
   */
  opId?: string;
  /** purge/archive: rows deleted before this instant (ISO 8601) were eligible. */
  cutoff?: string;
  /**
   * purge/archive: rows past the cutoff the call reached and left in place, by reason (a call that
   * stopped at its row budget did not reach the rows after its last candidate). `has_children`: a
   * child row is live or was deleted after the cutoff (or must stay itself), so the row must stay.
   */
  skipped?: Record<string, number>;
  /**
   * `parent_changed`: the call had a `whileParent` condition and the parent no longer met it (it was
   * restored, or deleted again, meanwhile); the call stopped there and changed nothing more.
   * `interrupted`: the caller's signal stopped it after a batch (BatchedCallOptions.signal).
   */
  stopped?: 'parent_changed' | 'interrupted';
  /**
   * Up to 100 ids that do not exist (counted as failure): named in an ids list, or selected by a
   * filter and purged or archived before their batch.
   */
  notFoundIds?: string[];
  /** Up to 100 ids a bulk restore left deleted because of a unique conflict (counted as failure). */
  conflictIds?: string[];
}

export interface OperationProgress {
  entity: string;
  operation: OperationName;
  /** Target rows handled so far (changed, noop or failed), cascaded children not included. */
  processed: number;
  total?: number;
  batch: number;
  /** Of `processed`, the rows the committed batches changed (the others were already so, or failed). */
  changed?: number;
  /** Children changed by cascade in the batches committed so far, by entity (cascading entities only). */
  cascaded?: Readonly<Record<string, number>>;
  /** A delete's op id once a committed batch stamped a row with it: what undoes the call so far. */
  opId?: string;
}

export type OperationProgressListener = (e: OperationProgress) => void;

/**
 * The parent a cascade job acts for (cleanup/handlers.ts). Each batch locks that row first (FOR
 * SHARE) and goes on only while it is as the job found it: deleted by `deletedByOp` (a delete of its
 * children), or live (a restore of them, `deletedByOp` absent). A concurrent restore or delete of the
 * parent then either waits for the batch, and sees its rows, or commits first and the call stops:
 * no child is ever deleted under a live parent, or restored under a deleted one.
 */
export interface ParentCondition {
  readonly entity: string;
  readonly id: string;
  readonly deletedByOp?: string;
}

/** What every call that works in batches takes. */
export interface BatchedCallOptions {
  batchSize?: number;
  onProgress?: OperationProgressListener;
  /**
   * Once aborted, the call stops after the batch in flight, as if it had finished there (result
   * `stopped: interrupted`): the batches committed stay, and are counted. The CLI's Ctrl-C/SIGTERM.
   */
  signal?: AbortSignal;
  /**
   * Waits out an unreachable database through this guard (its budget, its interruption), instead of
   * the service's `outageBudgetMs`: every statement and batch of the call runs again once the
   * database is back. A cleanup job passes one that its lease and the worker's shutdown end.
   */
  outageGuard?: OutageGuard;
}

/** delete / restore, besides the batch options. */
interface MutationOptions extends BatchedCallOptions {
  /**
   * Runs in each batch's transaction of an id list or filter (and any other batch that changed
   * rows), with the rows it changed (cascaded children included) and where the call got to once it
   * commits (`position`, for resumeAfter; each row of a batch redone row by row has its own). Whatever
   * it writes commits with the batch. A bulk job records its progress here, so a retry can say what
   * its earlier attempts changed and go on where they stopped.
   */
  inBatch?: (tx: Queryable, changed: number, position: string | undefined) => Promise<void>;
  /**
   * Where an earlier call on the same target got to: the `position` its last committed batch gave
   * inBatch. The call goes on after it (a cleanup job's next attempt), so the rows before it are
   * neither handled nor counted again (an opaque value of the core's: how many ids of the list were
   * done, or the last id of a filter's last page).
   */
  resumeAfter?: string;
}

export interface SoftDeleteOptions extends MutationOptions {
  /** Go on only while this parent is still deleted by this op (ParentCondition). */
  whileParent?: ParentCondition;
  deletedBy?: string;
  reason?: string;
  /** Default true. */
  cascade?: boolean;
  /**
   * delete_op_id to stamp on the rows this call deletes (a UUID). Default: a new one. A cascade job
   * passes its parent's so a later restore of the parent brings back exactly these children, and a
   * retried bulk job passes the same one on every attempt.
   */
  opId?: string;
  /**
   * A single-row delete (`{ id }`) only: runs in the transaction that deletes the row, once the row
   * changed (not for a noop), with the delete's op id. Whatever it writes commits with the delete,
   * and its failure undoes the delete. The API enqueues the row's cascade job here, so a row is
   * never deleted without the job that deletes its children.
   */
  inTransaction?: (tx: Queryable, opId: string) => Promise<void>;
}

export interface RestoreOptions extends MutationOptions {
  /** Go on only while this parent is live (ParentCondition without deletedByOp). */
  whileParent?: ParentCondition;
  /** Default true: restore the children deleted by the same operation. */
  cascade?: boolean;
}

/** purge / archive, besides the batch options. */
interface RetentionOptions extends BatchedCallOptions {
  maxRows?: number;
  /**
   * Runs in each batch's transaction, after its rows are removed, with the number of candidate rows
   * the batch took (what maxRows counts) and the rows it removed or moved, its children included.
   * Whatever it writes commits with the batch. A cleanup job records its progress here, so a retry
   * knows what its failed attempts removed.
   */
  inBatch?: (tx: Queryable, candidates: number, changed: number) => Promise<void>;
}

export interface PurgeOptions extends RetentionOptions {
  /** Default: the entity's retentionDays. */
  olderThanDays?: number;
}

export interface ArchiveOptions extends RetentionOptions {
  olderThanDays: number;
}

export interface ServiceOptions {
  /** Batch size for filters, purge and archive. Default 1000. */
  defaultBatchSize?: number;
  /** Batch size for id lists (cheap primary-key batches, so larger). Default 5000. */
  defaultIdBatchSize?: number;
  /**
   * How long a delete, restore, purge or archive waits out an unreachable database mid-operation,
   * running the failed statement or batch again (every batch is its own transaction, and running one
   * again changes no row twice). Default 0: fail at once (the API answers 503, a job is retried).
   */
  outageBudgetMs?: number;
}
