export { assertLeaseOutlivesHeartbeats, type BatchFault, type RunnerOptions } from './options.ts';
export { expireLeasesOfGoneOwners, staleRunAges } from './lease-store.ts';
export { checkStart, getMigration, MIGRATIONS, migrationNames } from './registry.ts';
export { formatDuration, runStatus, type RunStatus } from './report.ts';
export { lastFailedRunEnds } from './store.ts';
export { MigrationRunner, type RunHandle, type SessionOptions } from './runner.ts';
export { assertRunId } from './validate.ts';
export { RUN_STATES, type RunRecord, type RunState, type RunSummary } from './types.ts';
