import type { Queryable } from '../db/index.ts';
import { BOSS_SCHEMA } from './boss.ts';

/** Where a handed-back job's output keeps the start its attempt really had. */
export const REAL_START_KEY = 'sdopsStartedOn';

/**
 * Hands back the jobs of workers known to be gone: on the embedded database the directory lock
 * proves no other process runs, so a job still `active` there was being run by a process that was
 * killed. Its lease is made to have run out and its queue due for a check, so the first maintenance
 * pass of the next worker retries it (after the retry delay) as it would after SDOPS_JOB_EXPIRE_SECONDS,
 * instead of leaving it active for that long (15 minutes by default). A job whose lease has run out
 * already is left alone: every command opens the database, and each one handed the same job back
 * again (pushing its start further back, and saying so), until a worker ran. The real start is kept
 * in the job's output (REAL_START_KEY), which pg-boss's expiry then overwrites: `queue show` said the
 * job started a lease before it was created (probe F).
 */
export async function expireJobsOfGoneWorkers(q: Queryable): Promise<number> {
  // A pg-boss 10 job table (no expire_seconds) is carried over when the queue opens, its active jobs
  // with the rest: nothing to hand back here, and the UPDATE below failed on it, so every command on a
  // directory from that release stopped before the carry-over could run.
  const { rows } = await q.query<{ present: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('${BOSS_SCHEMA}.job')
                      AND attname = 'expire_seconds' AND NOT attisdropped) AS present`,
  );
  if (rows[0]?.present !== true) return 0; // the queue was never opened here, or not by this release
  const { rows: expired } = await q.query<{ name: string }>(
    `UPDATE ${BOSS_SCHEMA}.job SET started_on = now() - (expire_seconds + 1) * interval '1 second',
            output = CASE WHEN jsonb_typeof(output) = 'object' THEN output ELSE '{}'::jsonb END
                     || jsonb_build_object('${REAL_START_KEY}', started_on)
      WHERE state = 'active' AND started_on > now() - expire_seconds * interval '1 second' RETURNING name`,
  );
  if (expired.length === 0) return 0;
  // pg-boss checks a queue for expired jobs at most once per maintenance interval, counted from the
  // last check, which the killed process made: without this the retry waited up to 30 s more.
  await q.query(
    `UPDATE ${BOSS_SCHEMA}.queue SET monitor_claim_on = NULL, monitor_on = NULL WHERE name = ANY($1::text[])`,
    [[...new Set(expired.map((r) => r.name))]],
  );
  return expired.length;
}
