import type { PgBoss, Queue } from 'pg-boss';
import type { Database, Queryable } from '../db/index.ts';
import type { Logger } from '../observability/index.ts';
import { BOSS_SCHEMA, DEAD_LETTER_RETENTION_SECONDS } from './boss.ts';
import { heartbeatSecondsOn } from './heartbeats.ts';
import { DEAD_LETTER_QUEUE, queueName } from './queue-names.ts';
import type { QueuePolicy } from './settings.ts';

function queueOptions(policy: QueuePolicy): Omit<Queue, 'name'> {
  return {
    retryLimit: policy.retryLimit,
    retryDelay: policy.retryDelaySeconds,
    retryBackoff: true,
    expireInSeconds: policy.expireSeconds,
    deadLetter: DEAD_LETTER_QUEUE,
  };
}

/**
 * Creates missing queues; a worker (given its log: it owns the policy) also applies its policy to
 * existing ones and to the jobs already waiting in them.
 *
 * With heartbeats on (PostgreSQL), the policy includes the worker's heartbeat time. pg-boss's claim
 * stamps `heartbeat_on`, so a job that carries `heartbeat_seconds` from its queue is covered from the
 * moment it is claimed: stamped only by its worker (heartbeats.ts), a job was not covered until the
 * first stamp, tens of ms into it, and a worker killed in that window left it for its whole lease.
 * A worker with heartbeats off leaves the queues' time as it is (clearing it uncovered the jobs of
 * the workers that stamp) and takes it off the jobs it claims instead (heartbeats.ts).
 */
export async function ensureQueues(
  boss: PgBoss,
  db: Database,
  jobTypes: readonly string[],
  policy: QueuePolicy,
  worker: Logger | undefined,
): Promise<void> {
  const heartbeatSeconds = heartbeatSecondsOn(db.kind, policy.heartbeatSeconds);
  // A dead-letter copy waits in state `created` for `sdops queue retry`; pg-boss deletes a created
  // job after its queue's retention (14 days by default), so the copies get pg-boss's longest.
  const deadLetter = { retentionSeconds: DEAD_LETTER_RETENTION_SECONDS };
  await boss.createQueue(DEAD_LETTER_QUEUE, deadLetter);
  if (worker) await boss.updateQueue(DEAD_LETTER_QUEUE, deadLetter);
  for (const type of jobTypes) {
    const name = queueName(type);
    const options =
      heartbeatSeconds === null ? queueOptions(policy) : { ...queueOptions(policy), heartbeatSeconds };
    await boss.createQueue(name, options);
    if (worker) await boss.updateQueue(name, options);
  }
  if (worker) await applyPolicyToWaitingJobs(db, jobTypes, policy, heartbeatSeconds, worker);
}

/**
 * pg-boss copies the queue's lease, retry and heartbeat settings into each job when it is enqueued,
 * so a policy change (the runbook's "raise SDOPS_JOB_EXPIRE_SECONDS and restart the workers") would
 * reach only jobs enqueued after it. A starting worker moves the jobs still waiting (created, or
 * backing off before a retry) to its policy; a job that is running keeps the lease it was claimed
 * with, which its worker enforces.
 */
async function applyPolicyToWaitingJobs(
  db: Queryable,
  jobTypes: readonly string[],
  policy: QueuePolicy,
  heartbeatSeconds: number | null,
  log: Logger,
): Promise<void> {
  const { retryLimit, retryDelaySeconds, expireSeconds } = policy;
  const { rowCount } = await db.query(
    `UPDATE ${BOSS_SCHEMA}.job
        SET expire_seconds = $2, retry_limit = $3, retry_delay = $4, retry_backoff = true,
            heartbeat_seconds = coalesce($5::int, heartbeat_seconds)
      WHERE name = ANY($1::text[]) AND state < 'active'
        AND (expire_seconds, retry_limit, retry_delay, retry_backoff, heartbeat_seconds)
            IS DISTINCT FROM ($2, $3, $4, true, coalesce($5::int, heartbeat_seconds))`,
    [jobTypes.map(queueName), expireSeconds, retryLimit, retryDelaySeconds, heartbeatSeconds],
  );
  if (rowCount > 0) {
    log.info("waiting jobs moved to this worker's queue policy", {
      count: rowCount,
      expire_seconds: expireSeconds,
      retry_limit: retryLimit,
      retry_delay_seconds: retryDelaySeconds,
      ...(heartbeatSeconds === null ? {} : { heartbeat_seconds: heartbeatSeconds }),
    });
  }
}
