export {
  InvalidMigrationParamError,
  RunLockedError,
  RunOverlapError,
  RunStateError,
  UnknownMigrationError,
} from './errors.ts';
export {
  assertLeaseOutlivesHeartbeats,
  backoffMs,
  type BatchFault,
  DEFAULT_RUNNER_OPTIONS,
  type RunnerOptions,
} from './options.ts';
export { expireLeasesOfGoneOwners, staleRunAges } from './lease-store.ts';
export { checkStart, getMigration, MIGRATIONS, migrationNames } from './registry.ts';
export { formatDuration, runStatus, type RunStatus } from './report.ts';
export { MigrationRunner, type RunHandle, type SessionOptions } from './runner.ts';
export { assertRunId } from './validate.ts';
export { RUN_STATES, type RunRecord, type RunState, type RunSummary } from './types.ts';
