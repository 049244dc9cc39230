import { ConfigError } from '../errors.ts';

/**
 * Runner tuning. The runner never reads the environment itself: callers pass RunnerOptions, and the
 * CLI passes `loadConfig().migration` (src/config.ts parses the SDOPS_MIGRATION_* variables).
 */
export interface RetryPolicy {
  /** Attempts per batch, the first included. */
  readonly attempts: number;
  /** Backoff before attempt n+1 is baseDelayMs * 2^(n-1), capped at maxDelayMs, with +-20% jitter. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** TEST ONLY: make main-scan batch `batchNo` of `migration` ('*' = any) throw on every attempt. */
export interface BatchFault {
  readonly migration: string;
  readonly batchNo: number;
}

export interface RunnerOptions {
  /** Lease holder name; default host:pid:random. */
  readonly owner?: string;
  readonly heartbeatIntervalMs: number;
  /** A heartbeat older than this and another runner may take the run over. */
  readonly leaseTimeoutMs: number;
  readonly retry: RetryPolicy;
  readonly defaultBatchSize: number;
  readonly defaultMaxFailedBatches: number;
  /**
   * How long a session waits for an unreachable database (restart, outage) before it ends the run
   * `failed`, resumable from its checkpoint. Counted from the first failure of an outage.
   */
  readonly outageBudgetMs: number;
  /** TEST ONLY fault injection; never set in production. retry-failed ignores it. */
  readonly faults?: readonly BatchFault[];
}

export const DEFAULT_RUNNER_OPTIONS: RunnerOptions = {
  heartbeatIntervalMs: 5_000,
  leaseTimeoutMs: 30_000,
  retry: { attempts: 3, baseDelayMs: 200, maxDelayMs: 5_000 },
  outageBudgetMs: 300_000,
  defaultBatchSize: 5_000,
  defaultMaxFailedBatches: 10,
};

export function validateRunnerOptions(o: RunnerOptions): RunnerOptions {
  if (o.leaseTimeoutMs < 2 * o.heartbeatIntervalMs) {
    throw new ConfigError(
      `lease timeout (${o.leaseTimeoutMs} ms) must be at least twice the heartbeat interval (${o.heartbeatIntervalMs} ms)`,
    );
  }
  if (o.retry.attempts < 1) throw new ConfigError('retry attempts must be >= 1');
  return o;
}

export function backoffMs(policy: RetryPolicy, failedAttempt: number, random = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failedAttempt - 1));
  return Math.round(exp * (0.8 + 0.4 * random()));
}
