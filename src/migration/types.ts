import type { Queryable } from '../db/index.ts';

/**
 * A data migration: a named, versioned unit that walks one or more entity tables in keyset order.
 * The runner owns transactions, checkpoints, retries and telemetry; a migration only says which rows
 * a batch covers (plan) and how to change them (apply). Planning and applying are separate so the
 * runner knows a batch's key range before applying it, and can record that range when applying fails.
 */
export interface Migration<P extends object = object> {
  readonly name: string;
  /** Bump when the change a migration makes is altered; stored on every run. */
  readonly version: number;
  readonly description: string;
  /** Names of the parameters parseParams accepts (for help texts and unknown-option errors). */
  readonly paramNames: readonly string[];
  /** Validates caller parameters (CLI/API); throws InvalidInputError. Output is stored on the run. */
  parseParams(raw: Readonly<Record<string, unknown>>): P;
  /** Registry entity names this migration walks, in order. */
  entities(params: P): readonly string[];
  /** Rows of one entity that would change now: the progress total and the dry-run answer. */
  count(q: Queryable, entity: string, params: P): Promise<number>;
  /** The next batch after `after` (exclusive; null = from the start): at most `limit` rows that need the change. */
  plan(
    q: Queryable,
    entity: string,
    after: string | null,
    limit: number,
    params: P,
  ): Promise<BatchPlan | undefined>;
  /** Changes the rows that need it with keys in range; returns how many changed. Must be idempotent. */
  apply(tx: Queryable, entity: string, range: KeyRange, params: P): Promise<number>;
}

/** Keys (key_from, key_to]: from is exclusive (null = start of table), to is inclusive. */
export interface KeyRange {
  readonly from: string | null;
  readonly to: string;
}

export interface BatchPlan {
  /** Inclusive upper key of the batch. */
  readonly lastKey: string;
  /** Rows in the batch that need the change. */
  readonly rows: number;
}

export type RunState = 'running' | 'stopping' | 'stopped' | 'succeeded' | 'failed' | 'partially_failed';
export const RUN_STATES: readonly RunState[] = [
  'running',
  'stopping',
  'stopped',
  'succeeded',
  'failed',
  'partially_failed',
];

/** Options every run has, whatever the migration. */
export interface RunSettings {
  readonly batchSize: number;
  /** null: unthrottled. */
  readonly maxRowsPerSecond: number | null;
  readonly dryRun: boolean;
  /** More failed batches than this and the run ends `failed`. */
  readonly maxFailedBatches: number;
}

export interface RunRecord {
  readonly runId: string;
  readonly migration: string;
  readonly migrationVersion: number;
  readonly state: RunState;
  readonly dryRun: boolean;
  readonly params: Record<string, unknown>;
  readonly batchSize: number;
  readonly maxRowsPerSecond: number | null;
  readonly maxFailedBatches: number;
  readonly cursorEntity: string | null;
  readonly cursorKey: string | null;
  readonly scanComplete: boolean;
  readonly totalEstimate: number | null;
  readonly rowsProcessed: number;
  readonly rowsFailed: number;
  readonly batchesDone: number;
  readonly batchesFailed: number;
  readonly owner: string | null;
  readonly heartbeatAt: Date | null;
  readonly leaseTimeoutMs: number;
  /** owner set and heartbeat younger than its lease (judged by the database clock). */
  readonly ownerAlive: boolean;
  readonly sessions: number;
  readonly sessionStartedAt: Date;
  readonly sessionStartRows: number;
  /**
   * Read for a report only (store.ts, getRun and listRuns): the rows the current session's batches
   * ended in the last minute, and the seconds of that minute the session covers.
   */
  readonly recent?: { readonly rows: number; readonly seconds: number };
  readonly traceId: string | null;
  readonly spanId: string | null;
  readonly lastError: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly finishedAt: Date | null;
}

export type BatchStatus = 'succeeded' | 'failed';

export interface BatchRecord {
  readonly runId: string;
  readonly batchNo: number;
  readonly entity: string;
  readonly keyFrom: string | null;
  readonly keyTo: string;
  readonly status: BatchStatus;
  readonly rows: number;
  readonly attempts: number;
  readonly durationMs: number;
  readonly error: string | null;
  readonly session: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface RunProgress {
  readonly runId: string;
  readonly processed: number;
  readonly failed: number;
  readonly total: number | undefined;
}

/** What a runner session returns when it ends (stopped, finished or lost its lease). */
export interface RunSummary {
  readonly runId: string;
  readonly migration: string;
  readonly state: RunState;
  readonly dryRun: boolean;
  readonly rowsProcessed: number;
  readonly rowsFailed: number;
  /**
   * Rows this session changed (rowsProcessed is the whole run's): for retry-failed, the rows of the
   * failed batches it repaired; for a resume, what it added.
   */
  readonly sessionRows: number;
  readonly batchesDone: number;
  readonly batchesFailed: number;
  /** This session only. */
  readonly durationMs: number;
  readonly traceId: string | null;
  /**
   * True when the session lost its run mid-way; the state and counts above are then the run's as
   * stored now.
   */
  readonly leaseLost: boolean;
  /** With leaseLost: a stop parked the run (no other session began since this one), or undefined. */
  readonly parkedByStop?: boolean;
  /**
   * False when the database stayed unreachable at the end, so the run record could not be updated:
   * it still says `running` and is taken over by `resume` once its lease expired.
   */
  readonly recorded: boolean;
  /** Why the session ended failed (or null). */
  readonly error: string | null;
  /**
   * retry-failed only: it went through every failed batch, and the run is `stopped` because its
   * scan was not complete (it had failed before the end): `resume` continues the scan. Not a stop
   * anyone asked for.
   */
  readonly scanLeft: boolean;
}
