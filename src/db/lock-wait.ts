import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * How long the statements of one piece of work wait for a lock another session holds. An API
 * request has a caller waiting and shares the process's pool with every other request: one session
 * holding a row lock in a transaction it left open made every request for that row wait with a pool
 * connection, until the pool was full and the whole API answered 503. Bounded, only the requests
 * for the locked rows fail. Background work (a migration batch, a cleanup job) has nobody waiting
 * and waits as long as the lock is held, as PostgreSQL does by default.
 */
const limits = new AsyncLocalStorage<number | undefined>();

/** Runs fn with its statements' lock waits limited to `seconds` (PostgreSQL's lock_timeout). */
export function withLockWaitLimit<T>(seconds: number, fn: () => T): T {
  return limits.run(seconds, fn);
}

/** Runs fn, and what it starts in the background, with the server's own lock_timeout again. */
export function withoutLockWaitLimit<T>(fn: () => T): T {
  return limits.run(undefined, fn);
}

/** The limit for statements made now, in seconds; undefined for the server's own setting. */
export function lockWaitLimit(): number | undefined {
  return limits.getStore();
}
