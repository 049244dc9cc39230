import type { Database } from '../db/index.ts';
import { BOSS_SCHEMA } from './boss.ts';
import { canonicalJobId, JobNotCancellableError, JobNotFoundError, stateName } from './errors.ts';
import { assertJobType } from './job-types.ts';
import { DEAD_LETTER_QUEUE, deadCopyOfSql, deadCopyTypeSql, QUEUE_PREFIX, queueName } from './queue-names.ts';

/**
 * Cancelling jobs nobody should run: redundant follow-ups, a flood of identical jobs, dead jobs that
 * will never succeed. Only jobs that are not running can be cancelled: waiting ones (created, or
 * backing off before a retry) and dead-letter copies. A cancelled job stays in pg-boss's table in state
 * `cancelled` (with output code `cancelled`, and a retrying job's last error as `lastError`) until its
 * retention deletes it, 7 days later.
 */

/** What `--state` selects: waiting = created or retrying; dead = copies in the dead-letter queue. */
export const CANCEL_STATES = ['waiting', 'retrying', 'dead'] as const;
export type CancelState = (typeof CANCEL_STATES)[number];

export type CancelRequest =
  | { readonly jobId: string; readonly dryRun: boolean }
  | { readonly jobType: string; readonly state: CancelState; readonly dryRun: boolean };

export interface CancelledJob {
  readonly jobId: string;
  readonly jobType: string;
  /** The state it had: created, retry, or dead (a dead-letter copy). */
  readonly state: string;
  /** ISO 8601 in UTC, as everywhere else (not the database session's time zone). */
  readonly createdAt: string;
  readonly payload: unknown;
  /** A dead-letter copy: the id of the failed job it copies (the id a caller knows). */
  readonly copyOf?: string;
  /**
   * Rows its attempts had already changed in committed batches (a retrying job, or one handed back
   * at a worker's shutdown): cancelling stops the rest, and these stay. Absent when none.
   */
  readonly rowsCommitted?: number;
  /** With rowsCommitted, of a bulk_soft_delete: the delete_op_id those rows carry, to restore them by. */
  readonly opId?: string;
}

/**
 * What a cancelled job had already done, and for a bulk delete the op id that undoes it: the
 * payload's, else the id of the job that ran (the handler stamps that one; for a dead-letter copy,
 * the failed job it copies).
 */
function keptWork(
  jobType: string,
  payload: unknown,
  committed: string | null,
  ranAs: string,
): Partial<CancelledJob> {
  const rows = Number(committed ?? 0);
  if (rows <= 0) return {};
  const given = (payload as { opId?: unknown } | null)?.opId;
  const opId = typeof given === 'string' ? given.toLowerCase() : ranAs;
  return { rowsCommitted: rows, ...(jobType === 'bulk_soft_delete' ? { opId } : {}) };
}

export interface CancelOutcome {
  readonly dryRun: boolean;
  /** Jobs cancelled (or, in a dry run, that would be). */
  readonly count: number;
  readonly jobs: readonly CancelledJob[];
}

interface Row extends Record<string, unknown> {
  id: string;
  name: string;
  state: string;
  data: { jobType?: string; payload?: unknown } | null;
  created_on: Date;
  dead_type: string | null;
  copy_of: string | null;
  committed: string | null;
}

const OUTPUT = JSON.stringify({
  code: 'cancelled',
  message: 'cancelled with sdops queue cancel or POST /v1/queue/jobs/{jobId}/cancel',
});

/**
 * The jobs a request selects, as one WHERE clause over pgboss.job (alias j) and its parameters. A
 * request by id also selects the dead-letter copies of a failed job (cancelling a dead job means
 * cancelling its copies: the original is already finished).
 */
function selection(
  request: CancelRequest,
  jobTypes: readonly string[],
): { where: string; params: unknown[] } {
  const waiting = `j.name LIKE '${QUEUE_PREFIX}%' AND j.name <> '${DEAD_LETTER_QUEUE}' AND j.state < 'active'`;
  const dead = `j.name = '${DEAD_LETTER_QUEUE}' AND j.state < 'active'`;
  if ('jobId' in request) {
    return {
      where: `((j.id = $1::uuid AND ((${waiting}) OR (${dead})))
           OR (${dead} AND ${deadCopyOfSql('j')} = $1::text))`,
      params: [request.jobId],
    };
  }
  assertJobType(request.jobType, jobTypes);
  if (request.state === 'dead')
    return { where: `${dead} AND ${deadCopyTypeSql('j')} = $1`, params: [request.jobType] };
  const states = request.state === 'retrying' ? `j.state = 'retry'` : `j.state IN ('created', 'retry')`;
  return { where: `j.name = $1 AND ${states}`, params: [queueName(request.jobType)] };
}

/** Why a job given by id cannot be cancelled (it exists, but nothing of it is waiting or dead). */
async function explainRefusal(db: Database, jobId: string): Promise<never> {
  const { rows } = await db.query<{ state: string }>(
    `SELECT state::text AS state FROM ${BOSS_SCHEMA}.job WHERE id = $1::uuid AND name LIKE $2`,
    [jobId, `${QUEUE_PREFIX}%`],
  );
  if (!rows[0]) throw new JobNotFoundError(jobId);
  throw new JobNotCancellableError(jobId, rows[0].state);
}

export async function cancelJobs(
  db: Database,
  jobTypes: readonly string[],
  given: CancelRequest,
): Promise<CancelOutcome> {
  const request = 'jobId' in given ? { ...given, jobId: canonicalJobId(given.jobId) } : given;
  const { where, params } = selection(request, jobTypes);
  const columns = `j.id::text AS id, j.name, j.state::text AS state, j.data, j.created_on,
    ${deadCopyTypeSql('j')} AS dead_type,
    CASE WHEN j.name = '${DEAD_LETTER_QUEUE}' THEN ${deadCopyOfSql('j')} END AS copy_of,
    (SELECT coalesce(p.changed, p.rows)::text FROM sdops_job_progress p
      WHERE p.job_id = (CASE WHEN j.name = '${DEAD_LETTER_QUEUE}' THEN ${deadCopyOfSql('j')} ELSE j.id::text END)::uuid)
      AS committed`;
  const n = params.length;
  // One statement either way: the UPDATE re-checks `state < 'active'` on each row it locks, so a job a
  // worker claims at the same moment is left to that worker rather than cancelled under it.
  const sql = request.dryRun
    ? `SELECT ${columns} FROM ${BOSS_SCHEMA}.job j WHERE ${where} ORDER BY j.created_on`
    : // A job backing off before a retry keeps its last failed attempt's error under lastError, so
      // `queue show` still says why it had failed (it was replaced by the cancellation's own output).
      `UPDATE ${BOSS_SCHEMA}.job j SET state = 'cancelled', completed_on = now(),
              output = $${n + 1}::jsonb || CASE WHEN j.state = 'retry' AND j.output IS NOT NULL
                                                THEN jsonb_build_object('lastError', j.output) ELSE '{}' END
        WHERE ${where} RETURNING ${columns}`;
  const { rows } = await db.query<Row>(sql, request.dryRun ? params : [...params, OUTPUT]);
  if (rows.length === 0 && 'jobId' in request) await explainRefusal(db, request.jobId);
  const jobs = rows
    .map((r) => {
      const jobType = r.name === DEAD_LETTER_QUEUE ? (r.dead_type ?? '?') : r.name.slice(QUEUE_PREFIX.length);
      const payload = r.data?.payload ?? null;
      return {
        jobId: r.id,
        jobType,
        // A dry run shows what would be cancelled (a dead-letter copy as dead); a cancel, the outcome.
        state: request.dryRun && r.name === DEAD_LETTER_QUEUE ? 'dead' : stateName(r.state),
        createdAt: r.created_on.toISOString(),
        payload,
        ...(r.copy_of ? { copyOf: r.copy_of } : {}),
        ...keptWork(jobType, payload, r.committed, r.copy_of ?? r.id),
      };
    })
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return { dryRun: request.dryRun, count: jobs.length, jobs };
}
