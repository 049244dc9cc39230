import type { EnvVarSpec } from '../config.ts';
import { ConfigError } from '../errors.ts';

/**
 * The worker's environment variables. They belong in src/config.ts's ENV_VARS (owned by the lead);
 * until they are moved there they are declared here in the same shape so the move is a cut-and-paste.
 */
export const CLEANUP_ENV_VARS: readonly EnvVarSpec[] = [
  { name: 'SDOPS_WORKER_CONCURRENCY', default: '4', description: 'Jobs one worker process runs at a time.' },
  {
    name: 'SDOPS_WORKER_JOB_TYPES',
    default: undefined,
    description: 'Comma-separated job types a worker takes (unset: all).',
  },
  {
    name: 'SDOPS_QUEUE_POLL_INTERVAL_MS',
    default: '1000',
    description: 'How long an idle worker slot waits before asking the queue again.',
  },
  {
    name: 'SDOPS_QUEUE_SAMPLE_INTERVAL_MS',
    default: '5000',
    description: 'How often a worker samples waiting jobs per type for cleanup.worker.queue_length.',
  },
  {
    name: 'SDOPS_JOB_RETRY_LIMIT',
    default: '3',
    description: 'Retries after a failed attempt before a job is dead (moved to the dead-letter queue).',
  },
  {
    name: 'SDOPS_JOB_RETRY_DELAY_SECONDS',
    default: '5',
    description:
      'Base of the exponential retry backoff: attempt n waits about delay * 2^(n-1) (with jitter).',
  },
  {
    name: 'SDOPS_JOB_EXPIRE_SECONDS',
    default: '900',
    description:
      "A job's lease: an attempt running longer fails, and a crashed worker's job runs again after it.",
  },
  {
    name: 'SDOPS_QUEUE_MAINTENANCE_INTERVAL_SECONDS',
    default: '30',
    description: 'How often workers reclaim expired leases and archive finished jobs.',
  },
  {
    name: 'SDOPS_WORKER_SHUTDOWN_TIMEOUT_MS',
    default: '30000',
    description: 'On SIGTERM/SIGINT, how long a worker waits for running jobs before handing them back.',
  },
  {
    name: 'SDOPS_PURGE_CRON',
    default: '0 * * * *',
    description: 'Cron (UTC) on which purge_expired runs for every entity; "off" disables it.',
  },
  {
    name: 'SDOPS_ARCHIVE_CRON',
    default: '30 2 * * *',
    description: 'Cron (UTC) on which archive_entity runs for every entity; "off" disables it.',
  },
  {
    name: 'SDOPS_ARCHIVE_AFTER_DAYS',
    default: '30',
    description: 'Scheduled archive_entity moves rows soft-deleted more than this many days ago.',
  },
  {
    name: 'SDOPS_CLEANUP_BATCH_SIZE',
    default: '1000',
    description: 'Rows per batch in purge_expired and archive_entity jobs.',
  },
  {
    name: 'SDOPS_CLEANUP_MAX_ROWS_PER_JOB',
    default: '50000',
    description: 'Rows one purge/archive job handles at most; the rest is enqueued as a follow-up job.',
  },
];

export interface QueuePolicy {
  readonly retryLimit: number;
  readonly retryDelaySeconds: number;
  readonly expireSeconds: number;
}

export interface CleanupSettings {
  readonly concurrency: number;
  /** undefined: every known job type. */
  readonly jobTypes: readonly string[] | undefined;
  readonly pollIntervalMs: number;
  readonly queueSampleIntervalMs: number;
  readonly policy: QueuePolicy;
  readonly maintenanceIntervalSeconds: number;
  readonly shutdownTimeoutMs: number;
  /** undefined: not scheduled. */
  readonly purgeCron: string | undefined;
  readonly archiveCron: string | undefined;
  readonly archiveAfterDays: number;
  readonly batchSize: number;
  readonly maxRowsPerJob: number;
}

type Env = Readonly<Record<string, string | undefined>>;

function raw(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  if (value) return value;
  return CLEANUP_ENV_VARS.find((v) => v.name === name)?.default;
}

function int(env: Env, name: string, min: number): number {
  const text = raw(env, name);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`${name} must be an integer >= ${min}, got "${text}"`);
  }
  return value;
}

function cron(env: Env, name: string): string | undefined {
  const text = raw(env, name);
  if (text === undefined || /^(off|none|disabled)$/i.test(text)) return undefined;
  // pg-boss validates the expression with cron-parser when the schedule is saved.
  if (text.split(/\s+/).length < 5)
    throw new ConfigError(`${name} must be a 5-field cron expression or "off"`);
  return text;
}

export function readCleanupSettings(env: Env = process.env): CleanupSettings {
  const types = raw(env, 'SDOPS_WORKER_JOB_TYPES');
  return {
    concurrency: int(env, 'SDOPS_WORKER_CONCURRENCY', 1),
    jobTypes: types
      ?.split(',')
      .map((t) => t.trim())
      .filter((t) => t !== ''),
    pollIntervalMs: int(env, 'SDOPS_QUEUE_POLL_INTERVAL_MS', 10),
    queueSampleIntervalMs: int(env, 'SDOPS_QUEUE_SAMPLE_INTERVAL_MS', 100),
    policy: {
      retryLimit: int(env, 'SDOPS_JOB_RETRY_LIMIT', 0),
      retryDelaySeconds: int(env, 'SDOPS_JOB_RETRY_DELAY_SECONDS', 1),
      expireSeconds: int(env, 'SDOPS_JOB_EXPIRE_SECONDS', 1),
    },
    maintenanceIntervalSeconds: int(env, 'SDOPS_QUEUE_MAINTENANCE_INTERVAL_SECONDS', 1),
    shutdownTimeoutMs: int(env, 'SDOPS_WORKER_SHUTDOWN_TIMEOUT_MS', 0),
    purgeCron: cron(env, 'SDOPS_PURGE_CRON'),
    archiveCron: cron(env, 'SDOPS_ARCHIVE_CRON'),
    archiveAfterDays: int(env, 'SDOPS_ARCHIVE_AFTER_DAYS', 0),
    batchSize: int(env, 'SDOPS_CLEANUP_BATCH_SIZE', 1),
    maxRowsPerJob: int(env, 'SDOPS_CLEANUP_MAX_ROWS_PER_JOB', 1),
  };
}
