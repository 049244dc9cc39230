export type { ArchiveRun } from './archive.ts';
export { archiveByKeyRange } from './archive.ts';
export {
  InvalidArgumentError,
  InvalidBatchSizeError,
  InvalidFilterError,
  InvalidIdError,
  RestoreConflictError,
  RowNotFoundError,
  UnknownEntityError,
} from './errors.ts';
export type { CascadeNode } from './registry.ts';
export { cascadeTree, ENTITIES, entityNames, getEntity } from './registry.ts';
export type { BatchInfo, OperationContext, OperationOutcome, TargetKind } from './operation-telemetry.ts';
export { runBatch, runOperation } from './operation-telemetry.ts';
export { checkTarget, DEFAULT_BATCH_SIZE, DEFAULT_ID_BATCH_SIZE, SoftDeleteService } from './service.ts';
export type {
  ArchiveOptions,
  ColumnType,
  EntityDefinition,
  Filter,
  OperationCounts,
  OperationName,
  OperationResult,
  OperationProgress,
  OperationProgressListener,
  PurgeOptions,
  RestoreOptions,
  EntityRow,
  Scope,
  ServiceOptions,
  SoftDeleteOptions,
  Target,
} from './types.ts';
export {
  assertFilter,
  FILTER_KEYS,
  isCalendarTimestamp,
  isPlainText,
  parseId,
} from './validate.ts';
