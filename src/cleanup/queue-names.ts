/** pg-boss queue names: one queue per job type, and one dead-letter queue for them all. */
export const QUEUE_PREFIX = 'cleanup.';
export const DEAD_LETTER_QUEUE = 'cleanup.dead_letter';

/**
 * The job type of a dead-letter copy (`alias` = its pgboss.job row): the one its sdops envelope
 * names, or, for a job written to pgboss.job directly (no envelope), the queue it died in.
 */
export function deadCopyTypeSql(alias: string): string {
  return `coalesce(${alias}.data->>'jobType', substr(${alias}.source_name, ${QUEUE_PREFIX.length + 1}))`;
}

/** The id of the job a dead-letter copy copies (`alias` = its pgboss.job row), from its sdops envelope. */
export function deadCopyOfSql(alias: string): string {
  return `${alias}.data->'meta'->>'jobId'`;
}

export function queueName(jobType: string): string {
  return `${QUEUE_PREFIX}${jobType}`;
}
