export {
  CANCEL_STATES,
  type CancelledJob,
  type CancelOutcome,
  type CancelRequest,
  type CancelState,
} from './cancel.ts';
export type { RetryDeadOutcome, RetryOutcome } from './dead-letter.ts';
export { canonicalJobId } from './errors.ts';
export { expireJobsOfGoneWorkers } from './gone-workers.ts';
export { assertUndoAllowed } from './pending-deletes.ts';
export { builtinHandlers } from './handlers.ts';
export { assertJobType, BUILTIN_JOB_TYPES, type BuiltinJobType } from './job-types.ts';
export { type JobView, readJob } from './job-view.ts';
export { parsePayload } from './payload-parsers.ts';
export { queueName } from './queue-names.ts';
export { CleanupQueue, type QueueStatusRow } from './queue.ts';
export { readQueueTruth } from './queue-truth.ts';
export { type CleanupRuntime, startCleanupRuntime } from './runtime.ts';
export type { CleanupSettings } from './settings.ts';
export { CleanupWorker, type WorkerStats } from './worker.ts';
