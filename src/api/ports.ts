import type { MigrationRunner } from '../migration/index.ts';
import type { QueueStatusRow, RetryDeadOutcome, RetryOutcome } from '../cleanup/index.ts';

/**
 * What the API needs from the cleanup queue: CleanupQueue satisfies it; tests may pass a stub.
 * enqueue captures the active trace context into the job, so calling it inside the request's server
 * span is what links the job to the request.
 */
export interface ApiQueue {
  readonly jobTypes: readonly string[];
  enqueue(jobType: string, payload: Record<string, unknown>): Promise<string>;
  /** Whether such a job (payload containing `payload`) is still waiting, retrying or running. */
  hasPending(jobType: string, payload: Record<string, string>): Promise<boolean>;
  status(): Promise<readonly QueueStatusRow[]>;
  retry(jobId: string): Promise<RetryOutcome>;
  retryDead(): Promise<RetryDeadOutcome>;
}

/** What the API needs from the migration runner: MigrationRunner satisfies it. */
export type ApiMigrations = Pick<
  MigrationRunner,
  'start' | 'resume' | 'retryFailed' | 'stop' | 'get' | 'list' | 'batches'
>;
