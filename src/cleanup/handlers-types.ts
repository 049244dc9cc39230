import type { Logger } from '../observability/index.ts';
import type { CleanupQueue } from './queue.ts';

/** What a handler gets besides its payload. */
export interface JobContext {
  readonly jobId: string;
  readonly jobType: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Aborted when the lease runs out or the worker hands the job back at shutdown: stop between batches. */
  readonly signal: AbortSignal;
  /** For fan-out and follow-up jobs (enqueued inside the job span, so they link to it). */
  readonly queue: CleanupQueue;
  readonly log: Logger;
}

export interface JobResult {
  /** Rows (or jobs, for a fan-out) the attempt changed; 0 for a no-op. */
  readonly count: number;
  readonly entity?: string;
  /** Small JSON summary stored as the job's output. */
  readonly detail?: Readonly<Record<string, string | number | boolean | null>>;
}

/**
 * Handlers must be idempotent: a job can run more than once (a worker dies after the effect but
 * before it marks the job complete; a lease expires), and running it twice must equal running it once.
 */
export type JobHandler = (payload: Record<string, unknown>, ctx: JobContext) => Promise<JobResult>;

export type HandlerRegistry = Readonly<Record<string, JobHandler>>;
