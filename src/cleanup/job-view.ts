import type { Queryable } from '../db/index.ts';
import type { ErrorCode } from '../errors.ts';
import { BOSS_SCHEMA, noQueueYet } from './boss.ts';
import { canonicalJobId, JobNotFoundError, stateName } from './errors.ts';
import { DEAD_LETTER_QUEUE, QUEUE_PREFIX } from './queue-names.ts';
import { REAL_START_KEY } from './gone-workers.ts';

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
  /** Retries used so far: attempts that failed, less the one a failed job ended with. */
  readonly retryCount: number;
  readonly retryLimit: number;
  readonly createdAt: string;
  /** When its attempt started (also of a job whose process was killed: gone-workers.ts). */
  readonly startedAt: string | null;
  /** When it ended: completed, failed or cancelled. */
  readonly endedAt: string | null;
  /**
   * An active job's lease end: a job whose worker was killed stays active until then, and until a
   * worker's maintenance pass fails it (SDOPS_JOB_EXPIRE_SECONDS, SDOPS_QUEUE_MAINTENANCE_INTERVAL_SECONDS).
   */
  readonly leaseEndsAt?: string;
  /**
   * An active job's last heartbeat (PostgreSQL, SDOPS_JOB_HEARTBEAT_SECONDS): a job not stamped
   * again within heartbeatSeconds is failed by a worker's maintenance and runs again, long before its
   * lease ends (pg-boss's claim is the first stamp). None with heartbeats off.
   */
  readonly heartbeatAt?: string;
  readonly heartbeatSeconds?: number;
  /**
   * Rows the job's attempts changed in batches committed so far (sdops_job_progress), while it has
   * not completed: a long bulk delete's progress, or what a failed or retrying one did and keeps.
   * Absent before its first committed batch and once it completed (its result counts them).
   */
  readonly rowsCommitted?: number;
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
  expire_seconds: number;
  heartbeat_on: Date | null;
  heartbeat_seconds: number | null;
  output: Record<string, unknown> | null;
  committed: string | null;
};

/**
 * Our attempts write `{ code, name, message }`; pg-boss writes the expiry of a killed worker's lease
 * as `{ value: { message: 'job timed out' } }`, which is our `job_timeout`, and the failure of its
 * stale heartbeat as 'job heartbeat timeout', our `job_claim_lost` (as the runbook's job SQL reads them).
 */
const PG_BOSS_FAILURES: Readonly<Record<string, ErrorCode>> = {
  'job timed out': 'job_timeout',
  'job heartbeat timeout': 'job_claim_lost',
};

/**
 * The start of the job's attempt: on the embedded database a killed process's job has its start
 * moved back a lease to end the lease at once, and its output keeps the real one (gone-workers.ts).
 */
function attemptStart(row: Row): string | null {
  const kept = row.state === 'active' ? row.output?.[REAL_START_KEY] : undefined;
  if (typeof kept === 'string' && !Number.isNaN(Date.parse(kept))) return new Date(kept).toISOString();
  return row.started_on?.toISOString() ?? null;
}

function lastError(output: Record<string, unknown>): JobView['error'] | undefined {
  const inner = output.value;
  const said = inner !== null && typeof inner === 'object' ? (inner as Record<string, unknown>) : output;
  if (typeof said.message !== 'string') return undefined;
  const code = typeof said.code === 'string' ? said.code : PG_BOSS_FAILURES[said.message];
  return { ...(said as JobView['error']), ...(code ? { code } : {}) };
}

/** Where a job's output holds its last error: a cancelled job's own output is no error. */
function errorOutput(state: string, output: Record<string, unknown>): Record<string, unknown> {
  if (state !== 'cancelled') return output;
  const last = output.lastError;
  return last !== null && typeof last === 'object' ? (last as Record<string, unknown>) : {};
}

/** The job with this id in a cleanup queue (not a dead-letter copy); JobNotFoundError when there is none. */
export async function readJob(db: Queryable, given: string): Promise<JobView> {
  const jobId = canonicalJobId(given);
  let rows: Row[];
  try {
    ({ rows } = await db.query<Row>(
      `SELECT name, state::text AS state, retry_count, retry_limit, created_on, started_on, completed_on,
              expire_seconds, heartbeat_on, heartbeat_seconds, output,
              (SELECT coalesce(p.changed, p.rows)::text FROM sdops_job_progress p WHERE p.job_id = j.id) AS committed
         FROM ${BOSS_SCHEMA}.job j WHERE id = $1::uuid AND name LIKE $2 AND name <> $3`,
      [jobId, `${QUEUE_PREFIX}%`, DEAD_LETTER_QUEUE],
    ));
  } catch (error) {
    // A database where no queue was ever set up (the wrong DATABASE_URL, a fresh --memory) has no job.
    if (noQueueYet(error)) throw new JobNotFoundError(jobId);
    throw error;
  }
  const row = rows[0];
  if (!row) throw new JobNotFoundError(jobId);
  const ended = ['completed', 'failed', 'cancelled'].includes(row.state);
  const output = row.output ?? undefined;
  // A cancelled job's output says it was cancelled (cancel.ts), with the last error of a job that
  // was retrying when cancelled under lastError: that, or no error (docs/errors.md).
  const error = !output || row.state === 'completed' ? undefined : lastError(errorOutput(row.state, output));
  const leaseEnd =
    row.state === 'active' && row.started_on
      ? new Date(row.started_on.getTime() + row.expire_seconds * 1000).toISOString()
      : undefined;
  return {
    jobId,
    jobType: row.name.slice(QUEUE_PREFIX.length),
    state: stateName(row.state),
    retryCount: row.retry_count,
    retryLimit: row.retry_limit,
    createdAt: row.created_on.toISOString(),
    startedAt: attemptStart(row),
    endedAt: ended ? (row.completed_on?.toISOString() ?? null) : null,
    ...(leaseEnd ? { leaseEndsAt: leaseEnd } : {}),
    ...(row.state === 'active' && row.heartbeat_on && row.heartbeat_seconds
      ? { heartbeatAt: row.heartbeat_on.toISOString(), heartbeatSeconds: row.heartbeat_seconds }
      : {}),
    ...(row.state !== 'completed' && Number(row.committed ?? 0) > 0
      ? { rowsCommitted: Number(row.committed) }
      : {}),
    ...(row.state === 'completed' && output ? { result: output } : {}),
    ...(error ? { error } : {}),
  };
}
