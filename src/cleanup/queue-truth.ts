import type { Queryable } from '../db/index.ts';
import type { QueueTruth } from '../observability/index.ts';
import { BOSS_SCHEMA } from './boss.ts';
import { DEAD_LETTER_QUEUE, deadCopyTypeSql, queueName } from './queue-names.ts';

/**
 * What pg-boss's job table says right now, per job type: the one statement that reads it for the
 * database gauges (cleanup.queue.*) and for `sdops queue status` / `GET /v1/queue`, kept on its own so
 * both say the same and a pg-boss upgrade changes one place.
 * - Waiting = created or retry (a retry waits out its backoff); retrying = of those, retry.
 * - The oldest wait counts only jobs whose start time has come, since a worker may not take the
 *   others yet, and from that start time, so it says how long nobody has taken them.
 * - Active = held by a worker, also by one that was killed, until its lease runs out; the oldest
 *   active counts from the attempt's start.
 * - Dead = copies in the dead-letter queue still waiting for `sdops queue retry --dead`, by the job
 *   type their data names.
 * - Completed and failed (kept until pg-boss deletes finished jobs) only when asked for: the gauges,
 *   read every few seconds, leave the finished history alone.
 */
export interface QueueCounts extends QueueTruth {
  readonly retrying: number;
  readonly completed: number;
  readonly failed: number;
}

const NONE: QueueCounts = {
  waiting: 0,
  retrying: 0,
  oldestWaitSeconds: 0,
  active: 0,
  oldestActiveSeconds: 0,
  completed: 0,
  failed: 0,
  dead: 0,
};

type Row = {
  job_type: string | null;
  waiting: number;
  retrying: number;
  oldest: number | null;
  active: number;
  oldest_active: number | null;
  completed: number;
  failed: number;
  dead: number;
};

export async function readQueueCounts(
  q: Queryable,
  jobTypes: readonly string[],
  options: { readonly finished?: boolean } = {},
): Promise<Map<string, QueueCounts>> {
  const states = options.finished ? '' : `AND state IN ('created', 'retry', 'active')`;
  const { rows } = await q.query<Row>(
    `SELECT substr(name, $2::int) AS job_type,
            count(*) FILTER (WHERE state < 'active')::int AS waiting,
            count(*) FILTER (WHERE state = 'retry')::int AS retrying,
            extract(epoch FROM now() - min(start_after) FILTER (WHERE state < 'active' AND start_after <= now()))::float8 AS oldest,
            count(*) FILTER (WHERE state = 'active')::int AS active,
            extract(epoch FROM now() - min(started_on) FILTER (WHERE state = 'active'))::float8 AS oldest_active,
            count(*) FILTER (WHERE state = 'completed')::int AS completed,
            count(*) FILTER (WHERE state = 'failed')::int AS failed,
            0 AS dead
       FROM ${BOSS_SCHEMA}.job
      WHERE name = ANY($1::text[]) ${states}
      GROUP BY name
     UNION ALL
     SELECT ${deadCopyTypeSql('d')}, 0, 0, NULL, 0, NULL, 0, 0, count(*)::int
       FROM ${BOSS_SCHEMA}.job d
      WHERE d.name = $3 AND d.state < 'active'
      GROUP BY 1`,
    [jobTypes.map(queueName), queueName('').length + 1, DEAD_LETTER_QUEUE],
  );
  const out = new Map<string, QueueCounts>(jobTypes.map((t) => [t, NONE]));
  for (const r of rows) {
    const type = r.job_type ?? 'unknown';
    const seen = out.get(type) ?? NONE;
    out.set(type, {
      waiting: seen.waiting + Number(r.waiting),
      retrying: seen.retrying + Number(r.retrying),
      oldestWaitSeconds: Math.max(seen.oldestWaitSeconds, Number(r.oldest ?? 0)),
      active: seen.active + Number(r.active),
      oldestActiveSeconds: Math.max(seen.oldestActiveSeconds, Number(r.oldest_active ?? 0)),
      completed: seen.completed + Number(r.completed),
      failed: seen.failed + Number(r.failed),
      dead: seen.dead + Number(r.dead),
    });
  }
  return out;
}

/** The database gauges' reading (cleanup.queue.length, .oldest_wait, .active, .oldest_active, .dead). */
export async function readQueueTruth(
  q: Queryable,
  jobTypes: readonly string[],
): Promise<Record<string, QueueTruth>> {
  const counts = await readQueueCounts(q, jobTypes);
  return Object.fromEntries(
    [...counts].map(([type, c]) => [
      type,
      {
        waiting: c.waiting,
        oldestWaitSeconds: c.oldestWaitSeconds,
        active: c.active,
        oldestActiveSeconds: c.oldestActiveSeconds,
        dead: c.dead,
      },
    ]),
  );
}
