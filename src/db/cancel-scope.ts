import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The pooled connections one piece of work (a cleanup job's attempt) holds right now, so that its
 * statements can be cancelled without touching those of the work running beside it.
 */
export class CancelScope {
  /** Driver clients, added while checked out inside the scope (src/db/postgres.ts). */
  readonly clients = new Set<unknown>();
  /**
   * Set before the scope's statements are cancelled: from then on a connection the scope gives back
   * is closed, not returned to the pool. Between reading the scope's connections and the cancel
   * reaching the server, one may be given back and handed to other work (another job, the attempt's
   * own "mark failed"), whose statement the cancel would then hit.
   */
  cancelling = false;
}

const scopes = new AsyncLocalStorage<CancelScope>();

/** Runs fn with every connection it checks out through a Database registered in `scope`. */
export function withCancelScope<T>(scope: CancelScope, fn: () => Promise<T>): Promise<T> {
  return scopes.run(scope, fn);
}

/**
 * Runs fn outside any cancel scope: clean-up that must run even when the scope's statements are
 * being cancelled (a job handed back at shutdown still removes its call's receipts).
 */
export function outsideCancelScope<T>(fn: () => Promise<T>): Promise<T> {
  return scopes.exit(fn);
}

export function currentCancelScope(): CancelScope | undefined {
  return scopes.getStore();
}
