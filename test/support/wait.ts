/**
 * The one way tests wait for something asynchronous: poll a probe until it answers, with a deadline
 * and a failure that says what was awaited. (Waiting on a child's output uses SdopsProcess.waitFor,
 * which listens instead of polling.)
 */

export interface WaitOptions {
  /** Give up after this long (default 30 s). */
  readonly timeoutMs?: number;
  /** Pause between probes (default 50 ms). */
  readonly intervalMs?: number;
}

/** Thrown by a probe (through `giveUp`) when what is awaited can no longer happen, e.g. its process exited. */
export class GaveUpWaiting extends Error {}

/** Ends a wait at once, without retrying until the deadline. */
export function giveUp(reason: string): never {
  throw new GaveUpWaiting(reason);
}

/**
 * Calls `probe` until it returns something other than undefined or false, and resolves with that.
 * A probe that throws is retried (a server not up yet); the timeout error names `what` and carries
 * the last error. A probe that calls `giveUp` ends the wait at once.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 30_000, intervalMs = 50 }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      if (error instanceof GaveUpWaiting) throw new Error(`gave up waiting for ${what}: ${error.message}`);
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
