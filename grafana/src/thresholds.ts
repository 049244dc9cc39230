/**
 * Alert thresholds, shared by the alert rules and the panels that show the same quantity, so a
 * panel turns red exactly where its alert starts counting.
 */

/** CleanupJobFailureRatioHigh: failed / processed cleanup jobs over one hour, per job type. */
export const FAILURE_RATIO_THRESHOLD = 0.05;
export const FAILURE_RATIO_WINDOW = '1h';
/** Below this many finished jobs in the hour a ratio is noise (1 failure of 3 jobs is 33%). */
export const MIN_JOBS_PER_HOUR = 20;

/** CleanupQueueBacklog: pending jobs per job type, sustained for QUEUE_BACKLOG_FOR. */
export const QUEUE_LENGTH_THRESHOLD = 100;
export const QUEUE_BACKLOG_FOR = '10m';

/** MigrationRunFailed: failed runs are looked for in this trailing window. */
export const MIGRATION_FAILURE_WINDOW = '15m';
