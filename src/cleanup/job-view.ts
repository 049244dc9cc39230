import type { Queryable } from '../db/index.ts';
import { BOSS_SCHEMA } from './boss.ts';
import { JobNotFoundError, stateName } from './errors.ts';
import { DEAD_LETTER_QUEUE, QUEUE_PREFIX } from './queue-names.ts';

/**
 * One job as a caller that got its id (a 202 of the API, `sdops queue enqueue`) follows it: waiting,
 * retrying, active, then completed, failed or cancelled. A bulk delete's job must have ended before
 * its op id can undo it (pending-deletes.ts).
 */
export interface JobView {
  readonly jobId: string;
  readonly jobType: string;
  /** waiting, retrying, active, completed, failed (retries exhausted: also in the dead-letter queue) or cancelled. */
  readonly state: string;
  /** Attempts that failed so far (a retry is the attempt after one). */
  readonly retryCount: number;
  readonly retryLimit: number;
  readonly createdAt: string;
  readonly startedAt: string | null;
  /** When it ended: completed, failed or cancelled. */
  readonly endedAt: string | null;
  /** A completed job's outcome (`count` and what its type adds). */
  readonly result?: Readonly<Record<string, unknown>>;
  /** The last failed attempt's error: its code (a stable code or SQLSTATE), class and message. */
  readonly error?: { readonly code?: string; readonly name?: string; readonly message?: string };
}

type Row = {
  name: string;
  state: string;
  retry_count: number;
  retry_limit: number;
  created_on: Date;
  started_on: Date | null;
  completed_on: Date | null;
  output: Record<string, unknown> | null;
};

/** The job with this id in a cleanup queue (not a dead-letter copy); JobNotFoundError when there is none. */
export async function readJob(db: Queryable, jobId: string): Promise<JobView> {
  const { rows } = await db.query<Row>(
    `SELECT name, state::text AS state, retry_count, retry_limit, created_on, started_on, completed_on, output
       FROM ${BOSS_SCHEMA}.job WHERE id = $1::uuid AND name LIKE $2 AND name <> $3`,
    [jobId, `${QUEUE_PREFIX}%`, DEAD_LETTER_QUEUE],
  );
  const row = rows[0];
  if (!row) throw new JobNotFoundError(jobId);
  const ended = ['completed', 'failed', 'cancelled'].includes(row.state);
  const output = row.output ?? undefined;
  const failedOutput = output && typeof output.message === 'string' && row.state !== 'completed';
  return {
    jobId,
    jobType: row.name.slice(QUEUE_PREFIX.length),
    state: stateName(row.state),
    retryCount: row.retry_count,
    retryLimit: row.retry_limit,
    createdAt: row.created_on.toISOString(),
    startedAt: row.started_on?.toISOString() ?? null,
    endedAt: ended ? (row.completed_on?.toISOString() ?? null) : null,
    ...(row.state === 'completed' && output ? { result: output } : {}),
    ...(failedOutput ? { error: output as JobView['error'] } : {}),
  };
}
