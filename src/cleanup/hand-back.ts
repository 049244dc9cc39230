import type { Queryable } from '../db/index.ts';
import { BOSS_SCHEMA } from './boss.ts';

/** Lets the worker cancel the attempt's statements before another worker may claim the job. */
const HAND_BACK_DELAY_SECONDS = 5;

/**
 * Gives a job whose worker is shutting down back to the queue without spending one of its retries.
 * Failed back (pg-boss's fail()), the hand-back counted as an attempt: a job on its last retry went
 * dead on a routine deploy, its cascade half done, and CleanupJobsDead paged. The job goes back to
 * `created` with no start time, so its next claim is not counted as a retry either (pg-boss counts a
 * claim only of a job that started before). Fenced to the attempt, as pg-boss's own settles are: a
 * job whose lease ran out and was claimed again is left to its new worker. The output says why it
 * went back. Returns false when the fence left the job alone.
 */
export async function handBack(
  db: Queryable,
  name: string,
  attempt: { readonly id: string; readonly retryCount: number },
  output: Record<string, string>,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE ${BOSS_SCHEMA}.job
        SET state = 'created', started_on = NULL, heartbeat_on = NULL, output = $4::jsonb,
            start_after = now() + interval '${HAND_BACK_DELAY_SECONDS} seconds'
      WHERE name = $1 AND id = $2::uuid AND state = 'active' AND retry_count = $3`,
    [name, attempt.id, attempt.retryCount, JSON.stringify(output)],
  );
  return rowCount > 0;
}
