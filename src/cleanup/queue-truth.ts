import type { Queryable } from '../db/index.ts';
import type { QueueTruth } from '../observability/index.ts';
import { BOSS_SCHEMA } from './boss.ts';
import { queueName } from './queue-names.ts';

/**
 * What the queue table says right now, per job type, for the database gauges (cleanup.queue.length
 * and cleanup.queue.oldest_wait): the one statement that reads pg-boss's job table for them, kept
 * on its own so a pg-boss upgrade changes one place. Waiting = created or retry (a retry waits out
 * its backoff); the oldest wait counts only jobs whose start time has come, since a worker may not
 * take the others yet, and from that start time, so it says how long nobody has taken them.
 */
export async function readQueueTruth(
  q: Queryable,
  jobTypes: readonly string[],
): Promise<Record<string, QueueTruth>> {
  const prefix = queueName('');
  const { rows } = await q.query<{ job_type: string; waiting: number; oldest: number | null }>(
    `SELECT substr(name, $2::int) AS job_type, count(*)::int AS waiting,
            extract(epoch FROM now() - min(start_after) FILTER (WHERE start_after <= now()))::float8 AS oldest
       FROM ${BOSS_SCHEMA}.job
      WHERE name = ANY($1::text[]) AND state IN ('created', 'retry')
      GROUP BY name`,
    [jobTypes.map(queueName), prefix.length + 1],
  );
  const out: Record<string, QueueTruth> = Object.fromEntries(
    jobTypes.map((t) => [t, { waiting: 0, oldestWaitSeconds: 0 }]),
  );
  for (const r of rows) {
    out[r.job_type] = { waiting: Number(r.waiting), oldestWaitSeconds: Math.max(0, Number(r.oldest ?? 0)) };
  }
  return out;
}
