/**
 * Every advisory lock key the product takes, in one place so that no two collide. The values never
 * change: processes of two versions running at once (a rolling upgrade) must take the same lock for
 * the same work. int8 keys as decimal text, passed as statement parameters.
 */
export const ADVISORY_LOCK_KEYS = {
  /** Applying schema versions (a transaction lock): the ASCII bytes of "sdopssch". */
  schema: '8314893340796740456',
  /** Starting, resuming or retrying a migration run (a transaction lock). */
  runStarts: '8314893340796812277',
  /** A process's pg-boss queue setup (a session lock): the ASCII bytes of "sdopsque". */
  queueSetup: '8314893340796613989',
} as const;
