export type { ArchiveRun } from './archive.ts';
export { archiveByKeyRange } from './archive.ts';
export { isDeletedRow } from './read.ts';
export { entityNames, getEntity } from './registry.ts';
export { daysAgoSql, liveRowSql, opIdsOfRowsSql, rowsOfOpSql } from './sql.ts';
export { cascadeAncestors, targetsMeet, targetUnderCascade } from './targets-meet.ts';
export { checkTarget, DEFAULT_BATCH_SIZE, DEFAULT_ID_BATCH_SIZE, SoftDeleteService } from './service.ts';
export type {
  EntityDefinition,
  Filter,
  OperationResult,
  OperationProgress,
  Target,
} from './types.ts';
export { assertFilter, isCalendarTimestamp, parseBatchSize, parseId, utcTimestamp } from './validate.ts';
