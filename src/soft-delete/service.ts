import { type Database, guardedDatabase, OutageGuard } from '../db/index.ts';
import { defineAttributeValues } from '../observability/index.ts';
import { InvalidArgumentError } from './errors.ts';
import { isIdText, isUuid, quoted } from '../validation/index.ts';
import { executeMutation } from './mutate.ts';
import type { Mode, MutationPlan, ParentGuard } from './mutation-plan.ts';
import { countRows, getRow, listRows } from './read.ts';
import { entityNames, getEntity } from './registry.ts';
import { outageTolerant } from './outage.ts';
import { BatchReceipts } from './batch-receipts.ts';
import { executeRetention, type RetentionPlan } from './retention.ts';
import { runOperation, type TargetKind } from './operation-telemetry.ts';
import type {
  ArchiveOptions,
  BatchedCallOptions,
  EntityDefinition,
  OperationResult,
  OperationProgressListener,
  ParentCondition,
  PurgeOptions,
  RestoreOptions,
  EntityRow,
  Scope,
  ServiceOptions,
  SoftDeleteOptions,
  Target,
} from './types.ts';
import {
  parseBatchSize,
  parseBoolean,
  parseCursor,
  parseId,
  parseLimit,
  parseMaxRows,
  parseOlderThanDays,
  parseScope,
  parseTarget,
  parseText,
} from './validate.ts';

/**
 * The checks softDelete/restore run on entity, target and texts, without a database: the CLI refuses
 * bad input with them before it opens anything. Throws the same InvalidInputError the call would.
 */
export function checkTarget(
  entity: string,
  target: Target,
  texts: { deletedBy?: string; reason?: string } = {},
  // What the caller calls them: the CLI's `--by` is the API's `deletedBy`.
  names: { deletedBy: string; reason: string } = { deletedBy: 'deletedBy', reason: 'reason' },
): void {
  parseTarget(getEntity(entity), target);
  parseText(names.deletedBy, texts.deletedBy);
  parseText(names.reason, texts.reason);
}

/** Rows per transaction of a batched call by filter or retention, and of one by a list of ids. */
export const DEFAULT_BATCH_SIZE = 1000;
export const DEFAULT_ID_BATCH_SIZE = 5000;

function targetKind(target: Target): TargetKind {
  if (typeof target === 'object' && target !== null) {
    if ('id' in target) return 'id';
    if ('filter' in target) return 'filter';
  }
  return 'ids';
}

function parseOpId(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!isUuid(raw)) {
    throw new InvalidArgumentError('invalid_op_id', `opId must be a UUID, got ${quoted(raw)}`);
  }
  // Lower case: delete_op_id is compared as uuid, but results and logs should show one spelling.
  return raw.toLowerCase();
}

/** A position a call gave its inBatch: a count of ids done or a row id, a positive int8 either way. */
function parseResumeAfter(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!isIdText(raw)) {
    throw new InvalidArgumentError(
      'invalid_argument',
      `resumeAfter must be a position a call gave, got ${quoted(String(raw))}`,
    );
  }
  return raw;
}

function parentGuard(condition: ParentCondition): ParentGuard {
  return {
    table: getEntity(condition.entity).table,
    id: parseId(condition.id),
    ...(condition.deletedByOp === undefined ? {} : { deletedByOp: parseOpId(condition.deletedByOp) }),
  };
}

/** SoftDeleteOptions.inTransaction: a function, and only for a single row. */
function singleRowHook(
  target: MutationPlan['target'],
  raw: SoftDeleteOptions['inTransaction'],
): SoftDeleteOptions['inTransaction'] {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'function' || target.kind !== 'id') {
    throw new InvalidArgumentError(
      'invalid_target',
      'inTransaction needs a function and a single-row target',
    );
  }
  return raw;
}

/** Runs the call, then removes its batch receipts, however it ended. */
async function releasing<T>(receipts: BatchReceipts | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    await receipts?.forget();
  }
}

function listener(raw: OperationProgressListener | undefined): OperationProgressListener | undefined {
  return typeof raw === 'function' ? raw : undefined;
}

function stopSignal(raw: AbortSignal | undefined): AbortSignal | undefined {
  return raw instanceof AbortSignal ? raw : undefined;
}

function outageGuardOf(raw: OutageGuard | undefined): OutageGuard | undefined {
  return raw instanceof OutageGuard ? raw : undefined;
}

function runRetention(def: EntityDefinition, mode: 'purge' | 'archive', plan: RetentionPlan) {
  return runOperation(
    def.name,
    mode,
    'retention',
    (op) => releasing(plan.receipts, () => executeRetention(plan, op)),
    plan.signal,
  );
}

/**
 * The soft-delete core. Every public method validates all of its input before the first write;
 * bad input raises an InvalidInputError subclass and changes nothing.
 */
export class SoftDeleteService {
  private readonly defaultBatchSize: number;
  private readonly defaultIdBatchSize: number;

  private readonly db: Database;
  private readonly outageBudgetMs: number;

  constructor(db: Database, options: ServiceOptions = {}) {
    this.db = db;
    this.outageBudgetMs = options.outageBudgetMs ?? 0;
    this.defaultBatchSize = parseBatchSize(options.defaultBatchSize, DEFAULT_BATCH_SIZE);
    this.defaultIdBatchSize = parseBatchSize(options.defaultIdBatchSize, DEFAULT_ID_BATCH_SIZE);
    // The registry is the closed set of entity label values: without this, a program that uses the
    // core without the CLI's start-up would record every operation under entity="other".
    defineAttributeValues({ entity: entityNames() });
  }

  // async everywhere: even a bad entity name is a rejected promise, never a synchronous throw. Every
  // input is checked before runOperation: refused input is not an operation (no span, no metric, no
  // line), since nothing was attempted.
  async softDelete(entity: string, target: Target, opts: SoftDeleteOptions = {}): Promise<OperationResult> {
    const def = getEntity(entity);
    const plan = this.mutation(
      def,
      'delete',
      target,
      opts,
      parseText('deletedBy', opts.deletedBy),
      parseText('reason', opts.reason),
      parseOpId(opts.opId),
    );
    const inTransaction = singleRowHook(plan.target, opts.inTransaction);
    return runOperation(
      def.name,
      'delete',
      targetKind(target),
      (op) =>
        releasing(plan.receipts, () =>
          executeMutation(inTransaction ? { ...plan, inTransaction } : plan, op),
        ),
      plan.signal,
    );
  }

  async restore(entity: string, target: Target, opts: RestoreOptions = {}): Promise<OperationResult> {
    const def = getEntity(entity);
    const plan = this.mutation(def, 'restore', target, opts, null, null);
    return runOperation(
      def.name,
      'restore',
      targetKind(target),
      (op) => releasing(plan.receipts, () => executeMutation(plan, op)),
      plan.signal,
    );
  }

  async purge(entity: string, opts: PurgeOptions = {}): Promise<OperationResult> {
    const def = getEntity(entity);
    const plan = this.retention(
      def,
      'purge',
      parseOlderThanDays(opts.olderThanDays, def.retentionDays),
      opts,
    );
    return runRetention(def, 'purge', plan);
  }

  async archive(entity: string, opts: ArchiveOptions): Promise<OperationResult> {
    const def = getEntity(entity);
    const plan = this.retention(
      def,
      'archive',
      parseOlderThanDays(opts?.olderThanDays, undefined),
      opts ?? {},
    );
    return runRetention(def, 'archive', plan);
  }

  /** Validates a target without touching any row: callers that queue the work refuse bad input first. */
  async checkTarget(entity: string, target: Target): Promise<void> {
    checkTarget(entity, target);
  }

  async get(entity: string, id: string, opts: { scope?: Scope } = {}): Promise<EntityRow | undefined> {
    const def = getEntity(entity);
    return getRow(this.db, def, parseId(id), parseScope(opts.scope));
  }

  async list(
    entity: string,
    opts: { scope?: Scope; after?: string; limit?: number } = {},
  ): Promise<{ rows: EntityRow[]; nextCursor?: string }> {
    const def = getEntity(entity);
    return listRows(this.db, def, parseScope(opts.scope), parseCursor(opts.after), parseLimit(opts.limit));
  }

  async count(entity: string, opts: { scope?: Scope } = {}): Promise<number> {
    const def = getEntity(entity);
    return countRows(this.db, def, parseScope(opts.scope));
  }

  /**
   * The database a call's batches run on: waiting out an outage through the caller's guard, or for
   * the service's budget. Only a call that runs batches again after an outage needs receipts to know
   * which of them landed.
   */
  private outageWaits(
    def: EntityDefinition,
    mode: Mode | 'purge' | 'archive',
    opts: BatchedCallOptions,
  ): { readonly db: Database; readonly receipts: BatchReceipts | undefined } {
    const guard = outageGuardOf(opts.outageGuard);
    const waits = guard !== undefined || this.outageBudgetMs > 0;
    return {
      db: guard
        ? guardedDatabase(this.db, guard)
        : outageTolerant(this.db, this.outageBudgetMs, def.name, mode),
      receipts: waits ? new BatchReceipts(this.db) : undefined,
    };
  }

  private mutation(
    def: EntityDefinition,
    mode: Mode,
    target: Target,
    opts: RestoreOptions,
    deletedBy: string | null,
    reason: string | null,
    opId?: string,
  ): MutationPlan {
    const parsed = parseTarget(def, target);
    const fallback = parsed.kind === 'filter' ? this.defaultBatchSize : this.defaultIdBatchSize;
    return {
      ...this.outageWaits(def, mode, opts),
      entity: def,
      mode,
      target: parsed,
      batchSize: parseBatchSize(opts.batchSize, fallback),
      cascade: parseBoolean('cascade', opts.cascade, true),
      deletedBy,
      reason,
      opId,
      onProgress: listener(opts.onProgress),
      signal: stopSignal(opts.signal),
      inBatch: typeof opts.inBatch === 'function' ? opts.inBatch : undefined,
      resumeAfter: parseResumeAfter(opts.resumeAfter),
      ...(opts.whileParent === undefined ? {} : { guard: parentGuard(opts.whileParent) }),
    };
  }

  private retention(
    def: EntityDefinition,
    mode: 'purge' | 'archive',
    olderThanDays: number,
    opts: BatchedCallOptions & Pick<PurgeOptions, 'maxRows' | 'inBatch'>,
  ): RetentionPlan {
    return {
      ...this.outageWaits(def, mode, opts),
      entity: def,
      mode,
      olderThanDays,
      batchSize: parseBatchSize(opts.batchSize, this.defaultBatchSize),
      maxRows: parseMaxRows(opts.maxRows),
      onProgress: listener(opts.onProgress),
      signal: stopSignal(opts.signal),
      inBatch: typeof opts.inBatch === 'function' ? opts.inBatch : undefined,
    };
  }
}
