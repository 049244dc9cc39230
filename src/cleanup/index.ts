export { BOSS_SCHEMA, bossDbAdapter, createBoss } from './boss.ts';
export {
  CANCEL_STATES,
  type CancelledJob,
  type CancelOutcome,
  type CancelRequest,
  type CancelState,
} from './cancel.ts';
export type { RetryDeadOutcome, RetryOutcome, SkippedDeadJob } from './dead-letter.ts';
export {
  InvalidJobIdError,
  InvalidPayloadError,
  JobNotCancellableError,
  JobNotFoundError,
  JobNotRetryableError,
  JobTimeoutError,
  UnknownJobTypeError,
  WorkerShutdownError,
} from './errors.ts';
export { builtinHandlers, type HandlerSettings } from './handlers.ts';
export type { HandlerRegistry, JobContext, JobHandler, JobResult } from './handlers-types.ts';
export type { JobEnvelope } from './job-envelope.ts';
export type {
  CascadePayload,
  JobPayloads,
  NoopPayload,
  RestoreCascadePayload,
  RetentionPayload,
} from './job-payloads.ts';
export { BUILTIN_JOB_TYPES, type BuiltinJobType, SCHEDULED_JOB_TYPES } from './job-types.ts';
export { parsePayload } from './payload-parsers.ts';
export { DEAD_LETTER_QUEUE, queueName } from './queue-names.ts';
export {
  CleanupQueue,
  type CleanupQueueOptions,
  DEFAULT_POLICY,
  type EnqueueOptions,
  type QueueStatusRow,
} from './queue.ts';
export { readQueueTruth } from './queue-truth.ts';
export { type CleanupRuntime, type RuntimeOptions, startCleanupRuntime, untilSignal } from './runtime.ts';
export type { CleanupSettings, QueuePolicy } from './settings.ts';
export { CleanupWorker, type StopResult, type WorkerOptions, type WorkerStats } from './worker.ts';
