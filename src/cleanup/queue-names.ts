/** pg-boss queue names: one queue per job type, and one dead-letter queue for them all. */
export const QUEUE_PREFIX = 'cleanup.';
export const DEAD_LETTER_QUEUE = 'cleanup.dead_letter';

export function queueName(jobType: string): string {
  return `${QUEUE_PREFIX}${jobType}`;
}
