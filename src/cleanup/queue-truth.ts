import type { Queryable } from '../db/index.ts';
import type { QueueTruth } from '../observability/index.ts';
import { BOSS_SCHEMA } from './boss.ts';
import { DEAD_LETTER_QUEUE, deadCopyTypeSql, queueName } from './queue-names.ts';

/**
 * What the queue table says right now, per job type, for the database gauges (cleanup.queue.length,
 * cleanup.queue.oldest_wait, cleanup.queue.active, cleanup.queue.oldest_active and
 * cleanup.queue.dead): the one statement that reads pg-boss's job
 * table for them, kept on its own so a pg-boss upgrade changes one place. Waiting = created or retry
 * (a retry waits out its backoff); the oldest wait counts only jobs whose start time has come, since
 * a worker may not take the others yet, and from that start time, so it says how long nobody has
 * taken them. Dead = copies in the dead-letter queue still waiting for `sdops queue retry --dead`
 * (the same count as `dead` in `sdops queue status`), by the job type their data names. Active =
 * held by a worker (`active` in `sdops queue status`), also by one that was killed, until its lease
 * runs out; the oldest active counts from the attempt's start.
 */
export async function readQueueTruth(
  q: Queryable,
  jobTypes: readonly string[],
): Promise<Record<string, QueueTruth>> {
  const prefix = queueName('');
  type Row = {
    job_type: string;
    waiting: number;
    oldest: number | null;
    active: number;
    oldest_active: number | null;
    dead: number;
  };
  const { rows } = await q.query<Row>(
    `SELECT substr(name, $2::int) AS job_type,
            count(*) FILTER (WHERE state < 'active')::int AS waiting,
            extract(epoch FROM now() - min(start_after) FILTER (WHERE state < 'active' AND start_after <= now()))::float8 AS oldest,
            count(*) FILTER (WHERE state = 'active')::int AS active,
            extract(epoch FROM now() - min(started_on) FILTER (WHERE state = 'active'))::float8 AS oldest_active,
            0 AS dead
       FROM ${BOSS_SCHEMA}.job
      WHERE name = ANY($1::text[]) AND state IN ('created', 'retry', 'active')
      GROUP BY name
     UNION ALL
     SELECT ${deadCopyTypeSql('d')}, 0, NULL, 0, NULL, count(*)::int
       FROM ${BOSS_SCHEMA}.job d
      WHERE d.name = $3 AND d.state < 'active'
      GROUP BY 1`,
    [jobTypes.map(queueName), prefix.length + 1, DEAD_LETTER_QUEUE],
  );
  const empty: QueueTruth = { waiting: 0, oldestWaitSeconds: 0, active: 0, oldestActiveSeconds: 0, dead: 0 };
  const out: Record<string, QueueTruth> = Object.fromEntries(jobTypes.map((t) => [t, empty]));
  for (const r of rows) {
    const type = r.job_type ?? 'unknown';
    const seen = out[type] ?? empty;
    out[type] = {
      waiting: seen.waiting + Number(r.waiting),
      oldestWaitSeconds: Math.max(seen.oldestWaitSeconds, Number(r.oldest ?? 0)),
      active: seen.active + Number(r.active),
      oldestActiveSeconds: Math.max(seen.oldestActiveSeconds, Number(r.oldest_active ?? 0)),
      dead: seen.dead + Number(r.dead),
    };
  }
  return out;
}
