import type { Database, Queryable } from '../db/index.ts';
import type { MigrationRunner } from '../migration/index.ts';
import type { SoftDeleteService } from '../soft-delete/index.ts';
import type {
  CancelOutcome,
  CancelRequest,
  JobView,
  QueueStatusRow,
  RetryDeadOutcome,
  RetryOutcome,
} from '../cleanup/index.ts';

/**
 * What the API needs from the cleanup queue: CleanupQueue satisfies it; tests may pass a stub.
 * enqueue captures the active trace context into the job, so calling it inside the request's server
 * span is what links the job to the request.
 */
export interface ApiQueue {
  readonly jobTypes: readonly string[];
  /**
   * With `transaction`, the job is inserted in the caller's transaction (it commits with it); with
   * `id`, a job of that id that exists already is left as it is (a keyed request's retry).
   */
  enqueue(
    jobType: string,
    payload: Record<string, unknown>,
    options?: { readonly transaction?: Queryable; readonly id?: string },
  ): Promise<string>;
  /** The stored payload of a job, or undefined when it is gone. */
  queuedPayload(jobType: string, id: string): Promise<unknown>;
  /** A payload as enqueue stores it (validated, normalised). */
  normalisedPayload(jobType: string, payload: unknown): unknown;
  status(): Promise<readonly QueueStatusRow[]>;
  job(jobId: string): Promise<JobView>;
  retry(jobId: string): Promise<RetryOutcome>;
  retryDead(): Promise<RetryDeadOutcome>;
  cancel(request: CancelRequest): Promise<CancelOutcome>;
}

/** What the API needs from the migration runner: MigrationRunner satisfies it. */
export type ApiMigrations = Pick<
  MigrationRunner,
  'start' | 'resume' | 'retryFailed' | 'stop' | 'get' | 'list' | 'batches'
>;

export interface BulkLimits {
  /** Most ids one bulk request may name (larger bodies are refused with invalid_body). */
  readonly maxIds: number;
  /** Up to this many ids run in the request; more (or any filter) become a job when a queue exists. */
  readonly syncIds: number;
}

/** What route modules receive. */
export interface RouteContext {
  readonly db: Database;
  readonly softDelete: SoftDeleteService;
  readonly queue: ApiQueue | undefined;
  readonly migrations: ApiMigrations | undefined;
  readonly bulk: BulkLimits;
  readonly actor: string;
}
