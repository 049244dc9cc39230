import type { PgBoss } from 'pg-boss';

/** The attempt a settle is fenced to: pg-boss's `{ id, retryCount }`. */
interface Attempt {
  readonly id: string;
  readonly retryCount: number;
}

/**
 * Whether the job is in `state` under the attempt's retry count: as this attempt's settle (a complete,
 * a hand-back) left it, when its answer was lost (readBackOnRetry).
 */
export async function jobLeftAs(
  boss: Pick<PgBoss, 'getJobById'>,
  name: string,
  attempt: Attempt,
  state: 'completed' | 'created',
): Promise<boolean> {
  const job = await boss.getJobById(name, attempt.id);
  return job?.state === state && job.retryCount === attempt.retryCount;
}
