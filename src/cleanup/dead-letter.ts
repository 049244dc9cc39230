import type { PgBoss } from 'pg-boss';
import { type Database, isDatabaseUnavailable } from '../db/index.ts';
import { type ErrorCode, errorMessage, SdopsError } from '../errors.ts';
import { BOSS_SCHEMA } from './boss.ts';
import {
  canonicalJobId,
  DeadCopyNotRetryableError,
  InvalidPayloadError,
  JobNotFoundError,
  JobNotRetryableError,
} from './errors.ts';
import { parseEnvelope } from './job-envelope.ts';
import { isBuiltinJobType } from './job-types.ts';
import { parsePayload } from './payload-parsers.ts';
import { DEAD_LETTER_QUEUE, deadCopyOfSql, QUEUE_PREFIX, queueName } from './queue-names.ts';
import { assertRedoAllowed } from './undone-deletes.ts';

/**
 * Retrying dead jobs. pg-boss copies a job whose retries are exhausted into the dead-letter queue
 * (new id, same data) and leaves the original in state `failed`. Our envelope keeps the original id
 * in meta.jobId, so a retry revives the original (same id, its history and attempt count intact) and
 * removes its dead-letter copies. When the original is gone (archived by pg-boss maintenance, or a
 * cron job whose data has no id) the copy's data is enqueued again under the original id.
 */

export interface RetryOutcome {
  readonly jobId: string;
  readonly jobType: string;
  /** revived: the failed job runs again; requeued: enqueued again from its dead-letter copy. */
  readonly action: 'revived' | 'requeued' | 'already_waiting';
}

interface QueueHandle {
  readonly db: Database;
  readonly boss: PgBoss;
}

interface JobRow extends Record<string, unknown> {
  name: string;
  id: string;
  state: string;
  data: unknown;
  /** A dead-letter copy's original, as pg-boss records it when it moves the job. */
  source_id: string | null;
}

/** The columns of a JobRow, from pg-boss's job table. */
const JOB_ROWS = `SELECT name, id::text AS id, state::text AS state, data, source_id::text AS source_id FROM ${BOSS_SCHEMA}.job`;

/** A job of any cleanup queue (extension job types included), or undefined. */
async function findJob(db: Database, id: string, name?: string): Promise<JobRow | undefined> {
  const { rows } = await db.query<JobRow>(
    `${JOB_ROWS}
      WHERE id = $1::uuid AND name LIKE $2`,
    [id, name ?? `${QUEUE_PREFIX}%`],
  );
  return rows[0];
}

/** The dead-letter copies of a job as they are now (ids), so a retry drops only these. */
async function deadCopies(db: Database, originalId: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id::text AS id FROM ${BOSS_SCHEMA}.job
      WHERE name = $1 AND state < 'active' AND ${deadCopyOfSql('job')} = $2`,
    [DEAD_LETTER_QUEUE, originalId],
  );
  return rows.map((r) => r.id);
}

async function dropDeadCopies(db: Database, copyIds: readonly string[]): Promise<void> {
  await db.query(`DELETE FROM ${BOSS_SCHEMA}.job WHERE name = $1 AND id = ANY($2::uuid[])`, [
    DEAD_LETTER_QUEUE,
    copyIds,
  ]);
}

/**
 * The failed job runs once more (pg-boss adds one to its retry limit), under its queue's current lease:
 * a job that died of job_timeout must not die of it again after the workers' lease was raised. The
 * lease is set, and the dead-letter copies to drop are noted, while the job is still failed: once
 * pg-boss makes it claimable, a running worker may take it at once (it must not get the old lease)
 * and it may die again (its new copy must stay). False when the job was no longer failed: a
 * concurrent retry revived it first.
 */
async function reviveOriginal(q: QueueHandle, name: string, id: string): Promise<boolean> {
  const copies = await deadCopies(q.db, id);
  await q.db.query(
    `UPDATE ${BOSS_SCHEMA}.job j SET expire_seconds = qu.expire_seconds
       FROM ${BOSS_SCHEMA}.queue qu
      WHERE j.name = $1 AND j.id = $2::uuid AND qu.name = j.name AND j.state = 'failed'`,
    [name, id],
  );
  // pg-boss's CommandResponse type declares nothing; its value carries the rows changed.
  const { affected } = (await q.boss.retry(name, id)) as { affected?: number };
  await dropDeadCopies(q.db, copies);
  return affected !== 0;
}

function payloadProblem(jobType: string, payload: unknown): string | undefined {
  if (!isBuiltinJobType(jobType)) return undefined;
  try {
    parsePayload(jobType, payload);
    return undefined;
  } catch (error) {
    if (error instanceof InvalidPayloadError) return error.message;
    throw error;
  }
}

/**
 * Refuses a job that could only do harm or nothing again: a payload its handler refuses (invalid_payload
 * died of that and would again; retried, it only added a failure to the alert's ratio), or a delete
 * undone since it failed. `shownId` is the id the caller named; `jobId` the job whose attempts count.
 */
async function refuseHopelessRetry(
  q: QueueHandle,
  shownId: string,
  jobId: string,
  envelope: { jobType: string; payload: unknown },
): Promise<void> {
  const problem = payloadProblem(envelope.jobType, envelope.payload);
  if (problem !== undefined) throw new DeadCopyNotRetryableError(shownId, envelope.jobType, problem);
  await assertRedoAllowed(q.db, envelope.jobType, jobId, envelope.payload);
}

/** Handles one dead-letter copy: revive its original, or enqueue its data again. */
async function retryDeadCopy(q: QueueHandle, copy: JobRow): Promise<RetryOutcome> {
  const envelope = parseEnvelope(copy.data);
  const name = envelope ? queueName(envelope.jobType) : undefined;
  if (!envelope || !name || !(await q.boss.getQueue(name))) {
    throw new DeadCopyNotRetryableError(copy.id, envelope?.jobType);
  }
  // A job sent without our envelope's id (by SQL, by another producer) is found by pg-boss's record:
  // requeued under the copy's id, it was a new job with a new op id, past the undo check too.
  const originalId = envelope.meta.jobId ?? copy.source_id ?? undefined;
  await refuseHopelessRetry(q, copy.id, originalId ?? copy.id, envelope);
  const original = originalId ? await findJob(q.db, originalId, name) : undefined;
  if (original?.state === 'failed') {
    // Two `retry --dead` at once both find it failed; only the one that revives it counts it.
    const revived = await reviveOriginal(q, name, original.id);
    return { jobId: original.id, jobType: envelope.jobType, action: revived ? 'revived' : 'already_waiting' };
  }
  if (original) {
    // Already revived by an earlier retry (or a concurrent operator): only the stale copy remains.
    await dropDeadCopies(q.db, [copy.id]);
    return { jobId: original.id, jobType: envelope.jobType, action: 'already_waiting' };
  }
  const id = originalId ?? copy.id;
  await q.boss.insert(name, [{ id, data: copy.data as object }]);
  // After the insert: killed between the two, the next retry finds the job waiting and only
  // deletes this copy (above).
  await dropDeadCopies(q.db, [copy.id]);
  return { jobId: id, jobType: envelope.jobType, action: 'requeued' };
}

/**
 * The dead-letter copy of a job that is itself gone: pg-boss deleted the failed original 7 days after
 * it ended while the copy waited, or it stayed behind in pgboss_v10 (a carry-over copies dead-letter
 * copies, not failed originals). The runbook retries a dead job by either id.
 */
async function copyOfGoneJob(db: Database, originalId: string): Promise<JobRow | undefined> {
  const { rows } = await db.query<JobRow>(
    `${JOB_ROWS}
      WHERE name = $1 AND state < 'active' AND ${deadCopyOfSql('job')} = $2
      ORDER BY created_on LIMIT 1`,
    [DEAD_LETTER_QUEUE, originalId],
  );
  return rows[0];
}

export async function retryJob(q: QueueHandle, given: string): Promise<RetryOutcome> {
  const jobId = canonicalJobId(given);
  const job = (await findJob(q.db, jobId)) ?? (await copyOfGoneJob(q.db, jobId));
  if (!job) throw new JobNotFoundError(jobId);
  if (job.name === DEAD_LETTER_QUEUE) return retryDeadCopy(q, job);
  if (job.state !== 'failed') throw new JobNotRetryableError(jobId, job.state);
  const envelope = parseEnvelope(job.data);
  if (envelope) await refuseHopelessRetry(q, job.id, job.id, envelope);
  await reviveOriginal(q, job.name, job.id);
  return { jobId: job.id, jobType: job.name.slice(queueName('').length), action: 'revived' };
}

/** A dead-letter entry `retry --dead` could not retry, and why. */
interface SkippedDeadJob {
  readonly jobId: string;
  /** The stable code of why (docs/errors.md), as `queue retry <id>` of the entry would fail with. */
  readonly code: ErrorCode;
  readonly reason: string;
}

export interface RetryDeadOutcome {
  readonly retried: number;
  /** Entries left in the dead-letter queue because they cannot be retried (malformed, unknown type). */
  readonly skipped: readonly SkippedDeadJob[];
}

/**
 * Retries every dead-letter copy. One entry that cannot be retried (its data is not one of our job
 * envelopes, its job type is unknown) is skipped and reported, so it does not block the others; it
 * stays in the queue for `sdops queue retry <id>` or removal. A database outage stops the whole call.
 */
export async function retryDeadJobs(q: QueueHandle): Promise<RetryDeadOutcome> {
  const { rows } = await q.db.query<JobRow>(
    `${JOB_ROWS}
      WHERE name = $1 AND state < 'active' ORDER BY created_on`,
    [DEAD_LETTER_QUEUE],
  );
  let retried = 0;
  const skipped: SkippedDeadJob[] = [];
  for (const copy of rows) {
    try {
      const outcome = await retryDeadCopy(q, copy);
      if (outcome.action !== 'already_waiting') retried += 1;
    } catch (error) {
      if (isDatabaseUnavailable(error)) throw error;
      const code = error instanceof SdopsError ? error.code : 'internal_error';
      skipped.push({ jobId: copy.id, code, reason: errorMessage(error) });
    }
  }
  return { retried, skipped };
}
