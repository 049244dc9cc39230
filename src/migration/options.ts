import { ConfigError } from '../errors.ts';

/**
 * Runner tuning, declared here and filled in by the caller. The runner never reads the environment:
 * src/config.ts parses the SDOPS_MIGRATION_* variables into these options (`loadConfig().migration`)
 * and the CLI passes them to every runner it builds (`sdops migrate` and `sdops serve` alike).
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

/** What the lease and heartbeat are called in an error: option names, or the variables they came from. */
export interface LeaseSettingNames {
  readonly lease: string;
  readonly heartbeat: string;
}

const OPTION_NAMES: LeaseSettingNames = { lease: 'lease timeout', heartbeat: 'the heartbeat interval' };

/**
 * The one lease rule: a lease shorter than two heartbeats would let a healthy runner, one heartbeat
 * late, lose its run to a resume. src/config.ts applies it to the variables, the runner to its options.
 */
export function assertLeaseOutlivesHeartbeats(
  leaseTimeoutMs: number,
  heartbeatIntervalMs: number,
  names: LeaseSettingNames = OPTION_NAMES,
): void {
  if (leaseTimeoutMs < 2 * heartbeatIntervalMs) {
    throw new ConfigError(
      `${names.lease} (${leaseTimeoutMs} ms) must be at least twice ${names.heartbeat} (${heartbeatIntervalMs} ms)`,
    );
  }
}

export function validateRunnerOptions(o: RunnerOptions): RunnerOptions {
  assertLeaseOutlivesHeartbeats(o.leaseTimeoutMs, o.heartbeatIntervalMs);
  if (o.retry.attempts < 1) throw new ConfigError('retry attempts must be >= 1');
  return o;
}

export function backoffMs(policy: RetryPolicy, failedAttempt: number, random = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failedAttempt - 1));
  return Math.round(exp * (0.8 + 0.4 * random()));
}
