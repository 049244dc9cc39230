import type { PgBoss } from 'pg-boss';

/** The attempt a settle is fenced to: pg-boss's `{ id, retryCount }`. */
interface Attempt {
  readonly id: string;
  readonly retryCount: number;
}

/**
 * A settle (complete, hand back) whose answer may be lost: its statement committed, then the
 * connection dropped (a database restart at that moment), and the retry changed nothing, since the
 * job is no longer this attempt's `active` one. Told apart from a job that really was taken from
 * the attempt by reading the job back, on a retry only: the first answer is the statement's own.
 */
export function readBackOnRetry(
  settle: () => Promise<boolean>,
  landed: () => Promise<boolean>,
): () => Promise<boolean> {
  let calls = 0;
  return async () => {
    const retried = ++calls > 1;
    return (await settle()) || (retried && (await landed()));
  };
}

/** Whether the job is in `state` under the attempt's retry count: as this attempt's settle left it. */
export async function jobLeftAs(
  boss: Pick<PgBoss, 'getJobById'>,
  name: string,
  attempt: Attempt,
  state: 'completed' | 'created',
): Promise<boolean> {
  const job = await boss.getJobById(name, attempt.id);
  return job?.state === state && job.retryCount === attempt.retryCount;
}
