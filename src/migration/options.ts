import { ConfigError } from '../errors.ts';

/**
 * Runner tuning. The runner never reads the environment itself: callers pass RunnerOptions, and the
 * CLI builds them with runnerOptionsFromEnv from the variables below (meant to join ENV_VARS in
 * src/config.ts, where the product documents its configuration).
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
  /** TEST ONLY fault injection; never set in production. retry-failed ignores it. */
  readonly faults?: readonly BatchFault[];
}

export const DEFAULT_RUNNER_OPTIONS: RunnerOptions = {
  heartbeatIntervalMs: 5_000,
  leaseTimeoutMs: 30_000,
  retry: { attempts: 3, baseDelayMs: 200, maxDelayMs: 5_000 },
  defaultBatchSize: 5_000,
  defaultMaxFailedBatches: 10,
};

export const MAX_BATCH_SIZE = 100_000;

/** Proposed additions to ENV_VARS in src/config.ts (same shape), with their defaults. */
export const MIGRATION_ENV_VARS = [
  { name: 'SDOPS_MIGRATION_BATCH_SIZE', default: '5000', description: 'Default rows per migration batch.' },
  {
    name: 'SDOPS_MIGRATION_MAX_FAILED_BATCHES',
    default: '10',
    description: 'Default failed batches a migration run tolerates before it ends failed.',
  },
  {
    name: 'SDOPS_MIGRATION_HEARTBEAT_MS',
    default: '5000',
    description: 'How often a migration runner refreshes the heartbeat of its run lease.',
  },
  {
    name: 'SDOPS_MIGRATION_LEASE_TIMEOUT_MS',
    default: '30000',
    description: 'Heartbeat age after which a run counts as abandoned and may be resumed elsewhere.',
  },
  { name: 'SDOPS_MIGRATION_RETRY_ATTEMPTS', default: '3', description: 'Attempts per migration batch.' },
  {
    name: 'SDOPS_MIGRATION_RETRY_BASE_MS',
    default: '200',
    description: 'First backoff delay between batch attempts (doubles per attempt).',
  },
  { name: 'SDOPS_MIGRATION_RETRY_MAX_MS', default: '5000', description: 'Largest backoff delay.' },
  {
    name: 'SDOPS_MIGRATION_FAIL_BATCH',
    default: undefined,
    description:
      'TEST ONLY fault injection: migration:batchNo[,...] batches always fail (until retry-failed).',
  },
] as const;

type Env = Readonly<Record<string, string | undefined>>;

function intVar(env: Env, name: string, fallback: number, min: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`${name} must be a whole number >= ${min}, got "${raw}"`);
  }
  return value;
}

export function parseFaults(raw: string | undefined): BatchFault[] {
  if (!raw?.trim()) return [];
  return raw.split(',').map((part) => {
    const m = /^\s*([a-z0-9*-]+):(\d+)\s*$/.exec(part);
    if (!m)
      throw new ConfigError(`SDOPS_MIGRATION_FAIL_BATCH must look like migration:batchNo, got "${part}"`);
    return { migration: m[1] as string, batchNo: Number(m[2]) };
  });
}

export function validateRunnerOptions(o: RunnerOptions): RunnerOptions {
  if (o.leaseTimeoutMs < 2 * o.heartbeatIntervalMs) {
    throw new ConfigError(
      `lease timeout (${o.leaseTimeoutMs} ms) must be at least twice the heartbeat interval (${o.heartbeatIntervalMs} ms)`,
    );
  }
  if (o.retry.attempts < 1) throw new ConfigError('retry attempts must be >= 1');
  return o;
}

/** RunnerOptions from SDOPS_MIGRATION_* variables; throws ConfigError naming a bad one. */
export function runnerOptionsFromEnv(env: Env): RunnerOptions {
  const d = DEFAULT_RUNNER_OPTIONS;
  return validateRunnerOptions({
    heartbeatIntervalMs: intVar(env, 'SDOPS_MIGRATION_HEARTBEAT_MS', d.heartbeatIntervalMs, 10),
    leaseTimeoutMs: intVar(env, 'SDOPS_MIGRATION_LEASE_TIMEOUT_MS', d.leaseTimeoutMs, 20),
    retry: {
      attempts: intVar(env, 'SDOPS_MIGRATION_RETRY_ATTEMPTS', d.retry.attempts, 1),
      baseDelayMs: intVar(env, 'SDOPS_MIGRATION_RETRY_BASE_MS', d.retry.baseDelayMs, 0),
      maxDelayMs: intVar(env, 'SDOPS_MIGRATION_RETRY_MAX_MS', d.retry.maxDelayMs, 0),
    },
    defaultBatchSize: Math.min(
      MAX_BATCH_SIZE,
      intVar(env, 'SDOPS_MIGRATION_BATCH_SIZE', d.defaultBatchSize, 1),
    ),
    defaultMaxFailedBatches: intVar(env, 'SDOPS_MIGRATION_MAX_FAILED_BATCHES', d.defaultMaxFailedBatches, 0),
    faults: parseFaults(env.SDOPS_MIGRATION_FAIL_BATCH),
  });
}

export function backoffMs(policy: RetryPolicy, failedAttempt: number, random = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failedAttempt - 1));
  return Math.round(exp * (0.8 + 0.4 * random()));
}
