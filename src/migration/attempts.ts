import { isDatabaseUnavailable } from '../db/index.ts';
import { CheckpointMovedError, LeaseLostError } from './errors.ts';

/**
 * An error that is the batch's own failure and spends an attempt. A lost lease or a moved checkpoint
 * ends the session's work on the run, and an unreachable database is a wait (OutageGuard), not an
 * attempt.
 */
export function isBatchFailure(error: unknown): boolean {
  return (
    !(error instanceof LeaseLostError) &&
    !(error instanceof CheckpointMovedError) &&
    !isDatabaseUnavailable(error)
  );
}

export type AttemptsOutcome<T> =
  | { readonly ok: true; readonly value: T }
  /** Every attempt failed: the last attempt's error, and how long that attempt took. */
  | { readonly ok: false; readonly error: unknown; readonly lastAttemptSeconds: number };

export interface AttemptPlan<T> {
  readonly attempts: number;
  /** One attempt, begun at `a0` (performance.now()). */
  attempt(attempt: number, a0: number): Promise<T>;
  /**
   * The attempt's connection was lost: wait the outage out and say what landed. A value means its
   * commit did; undefined runs the same attempt again (the batch itself did not fail).
   */
  afterOutage(error: unknown, attempt: number, a0: number): Promise<T | undefined>;
  /** A batch failure ended this attempt; the loop backs off next unless it was the last. */
  failed(attempt: number, seconds: number): void;
  backoff(attempt: number): Promise<void>;
}

/**
 * The retry loop a scan batch and a retried batch share. A lost lease or moved checkpoint is thrown
 * at once: another session owns the run now.
 */
export async function runAttempts<T>(plan: AttemptPlan<T>): Promise<AttemptsOutcome<T>> {
  let lastError: unknown;
  let lastAttemptSeconds = 0;
  for (let attempt = 1; attempt <= plan.attempts; attempt++) {
    const a0 = performance.now();
    try {
      return { ok: true, value: await plan.attempt(attempt, a0) };
    } catch (error) {
      if (error instanceof LeaseLostError || error instanceof CheckpointMovedError) throw error;
      if (isDatabaseUnavailable(error)) {
        const landed = await plan.afterOutage(error, attempt, a0);
        if (landed !== undefined) return { ok: true, value: landed };
        attempt--;
        continue;
      }
      lastError = error;
      lastAttemptSeconds = (performance.now() - a0) / 1000;
      plan.failed(attempt, lastAttemptSeconds);
      if (attempt < plan.attempts) await plan.backoff(attempt);
    }
  }
  return { ok: false, error: lastError, lastAttemptSeconds };
}
