export {
  InjectedBatchFault,
  InvalidMigrationParamError,
  LeaseLostError,
  RunLockedError,
  RunNotFoundError,
  RunOverlapError,
  RunStateError,
  StopTimeoutError,
  UnknownMigrationError,
} from './errors.ts';
export { DatabaseOutageError } from './outage.ts';
export {
  assertLeaseOutlivesHeartbeats,
  backoffMs,
  type BatchFault,
  DEFAULT_RUNNER_OPTIONS,
  type RetryPolicy,
  type RunnerOptions,
} from './options.ts';
export { staleRunAges } from './lease-store.ts';
export { getMigration, MIGRATIONS, migrationNames } from './registry.ts';
export { formatDuration, runStatus, type RunStatus } from './report.ts';
export {
  MigrationRunner,
  type ResumeOptions,
  type RunHandle,
  type SessionOptions,
  type StartRequest,
  type StopWaitOptions,
} from './runner.ts';
export { getRun, listBatches, listRuns } from './store.ts';
export {
  type BatchPlan,
  type BatchRecord,
  type BatchStatus,
  type KeyRange,
  type Migration,
  type RunProgress,
  RUN_STATES,
  type RunRecord,
  type RunSettings,
  type RunState,
  type RunSummary,
  TERMINAL_STATES,
} from './types.ts';
