import type { Queryable } from '../db/index.ts';
import type { QueueTruth } from '../observability/index.ts';
import { BOSS_SCHEMA } from './boss.ts';
import { DEAD_LETTER_QUEUE, deadCopyTypeSql, queueName } from './queue-names.ts';

/**
 * What the queue table says right now, per job type, for the database gauges (cleanup.queue.length,
 * cleanup.queue.oldest_wait and cleanup.queue.dead): the one statement that reads pg-boss's job
 * table for them, kept on its own so a pg-boss upgrade changes one place. Waiting = created or retry
 * (a retry waits out its backoff); the oldest wait counts only jobs whose start time has come, since
 * a worker may not take the others yet, and from that start time, so it says how long nobody has
 * taken them. Dead = copies in the dead-letter queue still waiting for `sdops queue retry --dead`
 * (the same count as `dead` in `sdops queue status`), by the job type their data names.
 */
export async function readQueueTruth(
  q: Queryable,
  jobTypes: readonly string[],
): Promise<Record<string, QueueTruth>> {
  const prefix = queueName('');
  const { rows } = await q.query<{ job_type: string; waiting: number; oldest: number | null; dead: number }>(
    `SELECT substr(name, $2::int) AS job_type, count(*)::int AS waiting,
            extract(epoch FROM now() - min(start_after) FILTER (WHERE start_after <= now()))::float8 AS oldest,
            0 AS dead
       FROM ${BOSS_SCHEMA}.job
      WHERE name = ANY($1::text[]) AND state IN ('created', 'retry')
      GROUP BY name
     UNION ALL
     SELECT ${deadCopyTypeSql('d')}, 0, NULL, count(*)::int
       FROM ${BOSS_SCHEMA}.job d
      WHERE d.name = $3 AND d.state < 'active'
      GROUP BY 1`,
    [jobTypes.map(queueName), prefix.length + 1, DEAD_LETTER_QUEUE],
  );
  const out: Record<string, QueueTruth> = Object.fromEntries(
    jobTypes.map((t) => [t, { waiting: 0, oldestWaitSeconds: 0, dead: 0 }]),
  );
  for (const r of rows) {
    const type = r.job_type ?? 'unknown';
    const seen = out[type] ?? { waiting: 0, oldestWaitSeconds: 0, dead: 0 };
    out[type] = {
      waiting: seen.waiting + Number(r.waiting),
      oldestWaitSeconds: Math.max(seen.oldestWaitSeconds, Number(r.oldest ?? 0)),
      dead: seen.dead + Number(r.dead),
    };
  }
  return out;
}
