import type { TraceCarrier } from '../observability/index.ts';
import { assertFilter, getEntity, isCalendarTimestamp, isPlainText } from '../soft-delete/index.ts';
import { isIdText, isUuid, MAX_BATCH_SIZE, MAX_OLDER_THAN_DAYS } from '../validation/index.ts';
import type { ClaimClassName } from './claim-plan.ts';
import { InvalidPayloadError, UnknownJobTypeError } from './errors.ts';

/**
 * Job types and their payloads. Payloads are checked when a job is enqueued (a bad one is refused
 * with InvalidPayloadError, exit code 2 / HTTP 400) and again when it runs, because a job row can
 * also come from an operator's `sdops queue enqueue` or an older version of the product.
 */
export const BUILTIN_JOB_TYPES = [
  'purge_expired',
  'archive_entity',
  'cascade_soft_delete',
  'restore_cascade',
  'bulk_soft_delete',
  'bulk_restore',
  'noop',
] as const;
export type BuiltinJobType = (typeof BUILTIN_JOB_TYPES)[number];

/** The types the scheduler enqueues on a cron; without an entity they fan out to every entity. */
export const SCHEDULED_JOB_TYPES = ['purge_expired', 'archive_entity'] as const;

/**
 * Work a person triggered and is waiting for (an API delete's cascade, a restore, a bulk request):
 * the `user` claim class, which gets 3 of every 4 slots while maintenance also waits (claim-plan.ts).
 * Every other type, scheduled purge/archive, noop and extension types, is `maintenance`.
 */
export const USER_TRIGGERED_JOB_TYPES = [
  'cascade_soft_delete',
  'restore_cascade',
  'bulk_soft_delete',
  'bulk_restore',
] as const;

export function claimClassOf(jobType: string): ClaimClassName {
  return (USER_TRIGGERED_JOB_TYPES as readonly string[]).includes(jobType) ? 'user' : 'maintenance';
}

export interface RetentionPayload {
  /** Omitted: one job per registered entity is enqueued (fan-out). */
  readonly entity?: string;
  /** purge: default the entity's retentionDays; archive: default SDOPS_ARCHIVE_AFTER_DAYS. */
  readonly olderThanDays?: number;
  readonly batchSize?: number;
  /** Rows one job handles at most; the rest goes to a follow-up job. */
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

export interface RestoreCascadePayload {
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

export interface NoopPayload {
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

/** What travels in pg-boss's `data` column: the payload plus where and when it came from. */
export interface JobEnvelope {
  readonly jobType: string;
  readonly payload: Record<string, unknown>;
  readonly meta: {
    /** The job id we chose at enqueue; dead-letter copies keep it, so a dead job finds its original. */
    readonly jobId?: string;
    readonly enqueuedAt?: string;
    /** W3C context of whoever enqueued the job; the job's span links to it. */
    readonly trace?: TraceCarrier;
  };
}

export const QUEUE_PREFIX = 'cleanup.';
export const DEAD_LETTER_QUEUE = 'cleanup.dead_letter';

export function queueName(jobType: string): string {
  return `${QUEUE_PREFIX}${jobType}`;
}

export function assertJobType(name: string, known: readonly string[]): void {
  if (!known.includes(name)) throw new UnknownJobTypeError(name, known);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseEnvelope(data: unknown): JobEnvelope | undefined {
  if (!isRecord(data) || typeof data.jobType !== 'string' || !isRecord(data.payload)) return undefined;
  const meta = isRecord(data.meta) ? data.meta : {};
  const trace = isRecord(meta.trace) && typeof meta.trace.traceparent === 'string' ? meta.trace : undefined;
  return {
    jobType: data.jobType,
    payload: data.payload,
    meta: {
      ...(typeof meta.jobId === 'string' ? { jobId: meta.jobId } : {}),
      ...(typeof meta.enqueuedAt === 'string' ? { enqueuedAt: meta.enqueuedAt } : {}),
      ...(trace ? { trace: trace as unknown as TraceCarrier } : {}),
    },
  };
}

/** Field readers that name the job type and field in their error. */
class Fields {
  private readonly jobType: string;
  private readonly raw: Record<string, unknown>;

  constructor(jobType: string, raw: Record<string, unknown>, allowed: readonly string[]) {
    this.jobType = jobType;
    this.raw = raw;
    for (const key of Object.keys(raw)) {
      if (!allowed.includes(key)) throw new InvalidPayloadError(jobType, `unknown field "${key}"`);
    }
  }

  private fail(key: string, expected: string): never {
    throw new InvalidPayloadError(
      this.jobType,
      `${key} must be ${expected}, got ${JSON.stringify(this.raw[key])}`,
    );
  }

  optString(key: string, maxLength = 500): string | undefined {
    const v = this.raw[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > maxLength || !isPlainText(v)) {
      this.fail(key, `non-empty text of at most ${maxLength} characters (no NUL, no unpaired surrogate)`);
    }
    return v;
  }

  entity(key: string, required: boolean): string | undefined {
    const v = required ? this.string(key) : this.optString(key, 100);
    if (v !== undefined) getEntity(v);
    return v;
  }

  string(key: string): string {
    const v = this.optString(key);
    if (v === undefined) this.fail(key, 'present');
    return v;
  }

  id(key: string): string {
    const v = this.raw[key];
    const s = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v;
    if (!isIdText(s)) this.fail(key, 'a positive integer id');
    return s;
  }

  optUuid(key: string): string | undefined {
    const v = this.optString(key, 36);
    if (v !== undefined && !isUuid(v)) this.fail(key, 'a UUID');
    return v;
  }

  optBoolean(key: string): boolean | undefined {
    const v = this.raw[key];
    if (v !== undefined && typeof v !== 'boolean') this.fail(key, 'a boolean');
    return v;
  }

  optIds(key: string, max: number): string[] | undefined {
    const v = this.raw[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length === 0 || v.length > max) this.fail(key, `an array of 1 to ${max} ids`);
    return v.map((id: unknown) => {
      const s = typeof id === 'number' && Number.isSafeInteger(id) ? String(id) : id;
      if (!isIdText(s)) this.fail(key, 'an array of positive integer ids');
      return s;
    });
  }

  optFilter(key: string): Record<string, string | number | boolean | null> | undefined {
    const v = this.raw[key];
    if (v === undefined) return undefined;
    const scalar = (x: unknown) => x === null || ['string', 'number', 'boolean'].includes(typeof x);
    if (!isRecord(v) || Object.keys(v).length === 0 || !Object.values(v).every(scalar)) {
      this.fail(key, 'a non-empty object of string, number, boolean or null values');
    }
    return v as Record<string, string | number | boolean | null>;
  }

  optTimestamp(key: string): string | undefined {
    const v = this.optString(key, 40);
    if (v !== undefined && !isCalendarTimestamp(v)) this.fail(key, 'an ISO 8601 timestamp that exists');
    return v;
  }

  optInt(key: string, min: number, max: number): number | undefined {
    const v = this.raw[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(key, `an integer from ${min} to ${max}`);
    }
    return v;
  }
}

function retention(jobType: string, raw: Record<string, unknown>): RetentionPayload {
  const f = new Fields(jobType, raw, ['entity', 'olderThanDays', 'batchSize', 'maxRows']);
  const out: { -readonly [K in keyof RetentionPayload]: RetentionPayload[K] } = {};
  const entity = f.entity('entity', false);
  const olderThanDays = f.optInt('olderThanDays', 0, MAX_OLDER_THAN_DAYS);
  const batchSize = f.optInt('batchSize', 1, MAX_BATCH_SIZE);
  const maxRows = f.optInt('maxRows', 1, 100_000_000);
  if (entity !== undefined) out.entity = entity;
  if (olderThanDays !== undefined) out.olderThanDays = olderThanDays;
  if (batchSize !== undefined) out.batchSize = batchSize;
  if (maxRows !== undefined) out.maxRows = maxRows;
  return out;
}

function bulk(jobType: 'bulk_soft_delete' | 'bulk_restore', raw: Record<string, unknown>): BulkPayload {
  const isDelete = jobType === 'bulk_soft_delete';
  const allowed = [
    'entity',
    'ids',
    'filter',
    'cascade',
    ...(isDelete ? ['opId', 'deletedBy', 'reason'] : []),
  ];
  const f = new Fields(jobType, raw, allowed);
  const entity = f.entity('entity', true) as string;
  const ids = f.optIds('ids', MAX_BULK_JOB_IDS);
  const filter = f.optFilter('filter');
  if ((ids === undefined) === (filter === undefined)) {
    throw new InvalidPayloadError(jobType, 'give exactly one of ids and filter');
  }
  // Refused now, not as a job that fails until it is dead.
  if (filter) assertFilter(getEntity(entity), filter);
  const cascade = f.optBoolean('cascade');
  const opId = f.optUuid('opId');
  const deletedBy = f.optString('deletedBy');
  const reason = f.optString('reason');
  return {
    entity,
    ...(ids ? { ids } : {}),
    ...(filter ? { filter } : {}),
    ...(cascade === undefined ? {} : { cascade }),
    ...(opId ? { opId } : {}),
    ...(deletedBy ? { deletedBy } : {}),
    ...(reason ? { reason } : {}),
  };
}

type Parsers = { [K in BuiltinJobType]: (raw: Record<string, unknown>) => JobPayloads[K] };

const PARSERS: Parsers = {
  purge_expired: (raw) => retention('purge_expired', raw),
  archive_entity: (raw) => retention('archive_entity', raw),
  cascade_soft_delete(raw) {
    const f = new Fields('cascade_soft_delete', raw, ['entity', 'id', 'opId', 'deletedBy', 'reason']);
    const out: CascadePayload = { entity: f.entity('entity', true) as string, id: f.id('id') };
    const opId = f.optUuid('opId');
    const deletedBy = f.optString('deletedBy');
    const reason = f.optString('reason');
    return {
      ...out,
      ...(opId ? { opId } : {}),
      ...(deletedBy ? { deletedBy } : {}),
      ...(reason ? { reason } : {}),
    };
  },
  restore_cascade(raw) {
    const f = new Fields('restore_cascade', raw, ['entity', 'id', 'deletedAt']);
    const entity = f.entity('entity', true) as string;
    const id = f.id('id');
    const deletedAt = f.optTimestamp('deletedAt');
    return deletedAt ? { entity, id, deletedAt } : { entity, id };
  },
  bulk_soft_delete: (raw) => bulk('bulk_soft_delete', raw),
  bulk_restore: (raw) => bulk('bulk_restore', raw),
  noop(raw) {
    const f = new Fields('noop', raw, ['sleepMs']);
    const sleepMs = f.optInt('sleepMs', 0, 600_000);
    return sleepMs === undefined ? {} : { sleepMs };
  },
};

export function isBuiltinJobType(name: string): name is BuiltinJobType {
  return (BUILTIN_JOB_TYPES as readonly string[]).includes(name);
}

/** Validates and normalises a built-in job's payload (unknown fields are refused, ids become strings). */
export function parsePayload<K extends BuiltinJobType>(jobType: K, raw: unknown): JobPayloads[K] {
  if (!isRecord(raw)) throw new InvalidPayloadError(jobType, 'must be a JSON object');
  return PARSERS[jobType](raw) as JobPayloads[K];
}
