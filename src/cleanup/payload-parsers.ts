import { assertFilter, getEntity } from '../soft-delete/index.ts';
import { MAX_BATCH_SIZE, MAX_OLDER_THAN_DAYS, MAX_ROWS_PER_CALL } from '../validation/index.ts';
import { InvalidPayloadError } from './errors.ts';
import {
  type BulkPayload,
  type CascadePayload,
  type JobPayloads,
  MAX_BULK_JOB_IDS,
  type RetentionPayload,
} from './job-payloads.ts';
import type { BuiltinJobType } from './job-types.ts';
import { PayloadFields, isRecord } from './payload-fields.ts';

function retention(jobType: string, raw: Record<string, unknown>): RetentionPayload {
  const f = new PayloadFields(jobType, raw, ['entity', 'olderThanDays', 'batchSize', 'maxRows']);
  const out: { -readonly [K in keyof RetentionPayload]: RetentionPayload[K] } = {};
  const entity = f.entity('entity', false);
  // As `sdops purge|archive --older-than-days` and a migration's olderThanDays take it.
  const olderThanDays = f.optNumber('olderThanDays', 0, MAX_OLDER_THAN_DAYS);
  const batchSize = f.optInt('batchSize', 1, MAX_BATCH_SIZE);
  const maxRows = f.optInt('maxRows', 1, MAX_ROWS_PER_CALL);
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
  const f = new PayloadFields(jobType, raw, allowed);
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
    const f = new PayloadFields('cascade_soft_delete', raw, ['entity', 'id', 'opId', 'deletedBy', 'reason']);
    const out: CascadePayload = { entity: f.parentEntity('entity'), id: f.id('id') };
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
    const f = new PayloadFields('restore_cascade', raw, ['entity', 'id', 'deletedAt']);
    const entity = f.parentEntity('entity');
    const id = f.id('id');
    const deletedAt = f.optTimestamp('deletedAt');
    return deletedAt ? { entity, id, deletedAt } : { entity, id };
  },
  bulk_soft_delete: (raw) => bulk('bulk_soft_delete', raw),
  bulk_restore: (raw) => bulk('bulk_restore', raw),
  noop(raw) {
    const f = new PayloadFields('noop', raw, ['sleepMs']);
    const sleepMs = f.optInt('sleepMs', 0, 600_000);
    return sleepMs === undefined ? {} : { sleepMs };
  },
};

/** Validates and normalises a built-in job's payload (unknown fields are refused, ids become strings). */
export function parsePayload<K extends BuiltinJobType>(jobType: K, raw: unknown): JobPayloads[K] {
  if (!isRecord(raw)) throw new InvalidPayloadError(jobType, 'must be a JSON object');
  return PARSERS[jobType](raw) as JobPayloads[K];
}
