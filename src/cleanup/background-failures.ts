import { isDatabaseUnavailable, sqlState } from '../db/index.ts';

/** How often one kind of failure of work that repeats by itself is said while it repeats. */
export const BACKGROUND_WARNING_EVERY_MS = 60_000;
/** Distinct kinds remembered; past it the memory starts over (a kind then may be said again early). */
const MAX_KINDS = 100;

/**
 * The kind of a background failure: an outage is one kind whatever the driver said; otherwise the
 * SQLSTATE (a revoked right fails every maintenance pass with 42501), else the message.
 */
export function failureKind(error: unknown): string {
  if (isDatabaseUnavailable(error)) return 'unavailable';
  const state = sqlState(error);
  if (state) return `sqlstate ${state}`;
  return String((error as { message?: unknown } | null)?.message ?? error);
}

/**
 * Work that repeats by itself (pg-boss's maintenance and cron, the worker's fetch loop) fails every
 * pass for as long as its cause lasts (an outage, a role whose rights were revoked): one warning per
 * kind per minute says it is still so, the others are noise that buries the rest of the log.
 */
export class BackgroundFailures {
  readonly #saidAt = new Map<string, number>();

  /** Whether this failure is to be said now, remembering that it was. */
  shouldSay(error: unknown, now: number): boolean {
    const kind = failureKind(error);
    const said = this.#saidAt.get(kind);
    if (said !== undefined && now - said < BACKGROUND_WARNING_EVERY_MS) return false;
    if (said === undefined && this.#saidAt.size >= MAX_KINDS) this.#saidAt.clear();
    this.#saidAt.set(kind, now);
    return true;
  }
}
