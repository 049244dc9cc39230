import type { CleanupSettings } from './cleanup/index.ts';
import { checkDatabaseUrl } from './db/index.ts';
import { DAY_SECONDS, ENV_VARS, MAX_JOB_RETRIES } from './env-vars.ts';
import { ConfigError, errorMessage } from './errors.ts';
import { assertLeaseOutlivesHeartbeats, type BatchFault, type RunnerOptions } from './migration/index.ts';
import {
  DEFAULT_METRIC_EXPORT_INTERVAL_MS,
  LOG_LEVELS,
  type LogLevel,
  SDK_LOG_LEVELS,
  type SdkLogLevel,
  type TelemetrySettings,
} from './observability/index.ts';
import {
  commaList,
  isWholeNumberText,
  MAX_BATCH_SIZE,
  MAX_FAILED_BATCHES,
  MAX_OLDER_THAN_DAYS,
  MAX_ROWS_PER_CALL,
  MAX_TIMER_MS,
  MAX_WORKER_CONCURRENCY,
} from './validation/index.ts';

/**
 * The one home of configuration: builds each capability's settings from the environment variables
 * declared in env-vars.ts. Configuration flows one way: the capabilities declare the settings they
 * take (CleanupSettings, RunnerOptions, TelemetrySettings), this file builds them, and the CLI passes
 * them in. Nothing else in src/ reads process.env.
 */
export { ENV_VARS } from './env-vars.ts';

/** src/migration's RunnerOptions without an owner and with the faults list always present. */
type MigrationConfig = Omit<RunnerOptions, 'owner' | 'faults'> & {
  /** TEST ONLY (SDOPS_MIGRATION_FAIL_BATCH). */
  readonly faults: readonly BatchFault[];
};

export interface Config {
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly dbPoolSize: number;
  /** How long a command waits at its start for an unreachable database (0: not at all). */
  readonly startupOutageBudgetMs: number;
  /** How long a CLI soft-delete operation waits out an unreachable database (0: not at all). */
  readonly cliOutageBudgetMs: number;
  readonly logLevel: LogLevel;
  /** LOG_LEVEL was set: it then also decides the console level of one-shot commands (else 'warn'). */
  readonly logLevelSet: boolean;
  readonly environment: string;
  /** Raw SDOPS_API_TOKENS; src/api's parseApiTokens validates it. Never log it. */
  readonly apiTokens: string | undefined;
  readonly worker: CleanupSettings;
  readonly migration: MigrationConfig;
  /** How long a migration command tries its last metric export again (SDOPS_MIGRATION_EXPORT_RETRY_MS). */
  readonly migrationExportRetryMs: number;
  readonly telemetry: TelemetrySettings;
}

type Env = Readonly<Record<string, string | undefined>>;

function read(env: Env, name: string): string | undefined {
  const value = env[name];
  if (value !== undefined && value.trim() !== '') return value.trim();
  return ENV_VARS.find((s) => s.name === name)?.default;
}

/**
 * A list that narrows what runs, the tokens that guard it, or where the data is, set to nothing: an
 * unset shell variable in `SDOPS_WORKER_JOB_TYPES=$TYPES` or compose's `${TOKENS}`. Read as unset, it
 * would mean every job type (purges included), no authentication or another database, the opposite
 * of what was set out to say.
 */
function readNotBlank(env: Env, name: string, unsetMeans: string): string | undefined {
  const value = env[name];
  if (value !== undefined && value.trim() === '')
    throw new ConfigError(`${name} is set but empty: give it a value, or unset it for ${unsetMeans}`);
  return read(env, name);
}

/** Every integer setting has a range: one without an upper bound took values no call could honour. */
function readInt(env: Env, name: string, min: number, max: number): number {
  const raw = read(env, name);
  const value = Number(raw);
  if (
    raw === undefined ||
    !isWholeNumberText(raw) ||
    !Number.isSafeInteger(value) ||
    value < min ||
    value > max
  ) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** 0 turns heartbeats off; below 10 s a busy worker's own heartbeat could come too late. */
function readHeartbeatSeconds(env: Env): number {
  const name = 'SDOPS_JOB_HEARTBEAT_SECONDS';
  const raw = read(env, name);
  const seconds = raw !== undefined && isWholeNumberText(raw) ? Number(raw) : Number.NaN;
  // One message for every refusal: "a whole number from 0 to 86400" read as if 5 were fine.
  if (!(seconds === 0 || (seconds >= 10 && seconds <= DAY_SECONDS)))
    throw new ConfigError(
      `${name} must be 0 (off) or a whole number from 10 to ${DAY_SECONDS}, got "${raw}"`,
    );
  return seconds;
}

function readEnum<T extends string>(env: Env, name: string, allowed: readonly T[]): T {
  const raw = read(env, name);
  if (!allowed.includes(raw as T)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function readCron(env: Env, name: string): string | undefined {
  const text = read(env, name);
  if (text === undefined || /^(off|none|disabled)$/i.test(text)) return undefined;
  // Exactly five: pg-boss's parser takes a sixth as a leading seconds field, so "30 2 * * * *"
  // (meant as daily at 02:30) would run every hour. checkWorkerCrons parses the fields themselves.
  if (text.split(/\s+/).length !== 5)
    throw new ConfigError(`${name} must be a 5-field cron expression or "off", got "${text}"`);
  return text;
}

/**
 * The purge/archive crons parsed the way pg-boss parses them when the worker saves them (its
 * cron-parser, in UTC), so a bad one is refused before the queue opens, naming its variable.
 * readCron checks only the shape: cron-parser costs every command ~50 ms to load, so only the
 * worker loads it, here.
 */
export async function checkWorkerCrons(worker: CleanupSettings): Promise<void> {
  const { CronExpressionParser } = await import('cron-parser');
  for (const [name, text] of [
    ['SDOPS_PURGE_CRON', worker.purgeCron],
    ['SDOPS_ARCHIVE_CRON', worker.archiveCron],
  ] as const) {
    if (text === undefined) continue;
    try {
      CronExpressionParser.parse(text, { tz: 'UTC', strict: false });
    } catch (error) {
      throw new ConfigError(
        `${name} must be a 5-field cron expression or "off", got "${text}" (${errorMessage(error)})`,
      );
    }
  }
}

function readFaults(env: Env): MigrationConfig['faults'] {
  const raw = read(env, 'SDOPS_MIGRATION_FAIL_BATCH');
  if (raw === undefined) return [];
  return raw.split(',').map((part) => {
    const m = /^\s*([a-z0-9*-]+):(\d+)\s*$/.exec(part);
    if (!m)
      throw new ConfigError(`SDOPS_MIGRATION_FAIL_BATCH must look like migration:batchNo, got "${part}"`);
    return { migration: m[1] as string, batchNo: Number(m[2]) };
  });
}

function readJobTypes(env: Env): string[] | undefined {
  const raw = readNotBlank(env, 'SDOPS_WORKER_JOB_TYPES', 'all job types');
  if (raw === undefined) return undefined;
  const types = commaList(raw);
  // Like --job-types: a list with nothing in it must not quietly mean every type, purges included.
  if (types.includes(''))
    throw new ConfigError(
      `SDOPS_WORKER_JOB_TYPES must be job types separated by single commas (unset: all), got "${raw}"`,
    );
  return types;
}

function workerConfig(env: Env): CleanupSettings {
  return {
    concurrency: readInt(env, 'SDOPS_WORKER_CONCURRENCY', 1, MAX_WORKER_CONCURRENCY),
    jobTypes: readJobTypes(env),
    pollIntervalMs: readInt(env, 'SDOPS_QUEUE_POLL_INTERVAL_MS', 10, MAX_TIMER_MS),
    queueSampleIntervalMs:
      read(env, 'SDOPS_QUEUE_SAMPLE_INTERVAL_MS')?.toLowerCase() === 'off'
        ? undefined
        : readInt(env, 'SDOPS_QUEUE_SAMPLE_INTERVAL_MS', 100, MAX_TIMER_MS),
    policy: {
      retryLimit: readInt(env, 'SDOPS_JOB_RETRY_LIMIT', 0, MAX_JOB_RETRIES),
      retryDelaySeconds: readInt(env, 'SDOPS_JOB_RETRY_DELAY_SECONDS', 1, DAY_SECONDS),
      expireSeconds: readInt(env, 'SDOPS_JOB_EXPIRE_SECONDS', 1, DAY_SECONDS),
      heartbeatSeconds: readHeartbeatSeconds(env),
    },
    maintenanceIntervalSeconds: readInt(env, 'SDOPS_QUEUE_MAINTENANCE_INTERVAL_SECONDS', 1, DAY_SECONDS),
    shutdownTimeoutMs: readInt(env, 'SDOPS_WORKER_SHUTDOWN_TIMEOUT_MS', 0, MAX_TIMER_MS),
    purgeCron: readCron(env, 'SDOPS_PURGE_CRON'),
    archiveCron: readCron(env, 'SDOPS_ARCHIVE_CRON'),
    archiveAfterDays: readInt(env, 'SDOPS_ARCHIVE_AFTER_DAYS', 0, MAX_OLDER_THAN_DAYS),
    batchSize: readInt(env, 'SDOPS_CLEANUP_BATCH_SIZE', 1, MAX_BATCH_SIZE),
    maxRowsPerJob: readInt(env, 'SDOPS_CLEANUP_MAX_ROWS_PER_JOB', 1, MAX_ROWS_PER_CALL),
  };
}

function migrationConfig(env: Env): MigrationConfig {
  const heartbeatIntervalMs = readInt(env, 'SDOPS_MIGRATION_HEARTBEAT_MS', 10, MAX_TIMER_MS);
  const leaseTimeoutMs = readInt(env, 'SDOPS_MIGRATION_LEASE_TIMEOUT_MS', 20, MAX_TIMER_MS);
  assertLeaseOutlivesHeartbeats(leaseTimeoutMs, heartbeatIntervalMs, {
    lease: 'SDOPS_MIGRATION_LEASE_TIMEOUT_MS',
    heartbeat: 'SDOPS_MIGRATION_HEARTBEAT_MS',
  });
  const baseDelayMs = readInt(env, 'SDOPS_MIGRATION_RETRY_BASE_MS', 0, MAX_TIMER_MS);
  const maxDelayMs = readInt(env, 'SDOPS_MIGRATION_RETRY_MAX_MS', 0, MAX_TIMER_MS);
  if (baseDelayMs > maxDelayMs) {
    throw new ConfigError(
      `SDOPS_MIGRATION_RETRY_BASE_MS (${baseDelayMs}) must not exceed SDOPS_MIGRATION_RETRY_MAX_MS (${maxDelayMs})`,
    );
  }
  return {
    heartbeatIntervalMs,
    leaseTimeoutMs,
    retry: {
      attempts: readInt(env, 'SDOPS_MIGRATION_RETRY_ATTEMPTS', 1, MAX_JOB_RETRIES),
      baseDelayMs,
      maxDelayMs,
    },
    outageBudgetMs: readInt(env, 'SDOPS_MIGRATION_OUTAGE_BUDGET_MS', 0, MAX_TIMER_MS),
    defaultBatchSize: readInt(env, 'SDOPS_MIGRATION_BATCH_SIZE', 1, MAX_BATCH_SIZE),
    defaultMaxFailedBatches: readInt(env, 'SDOPS_MIGRATION_MAX_FAILED_BATCHES', 0, MAX_FAILED_BATCHES),
    faults: readFaults(env),
  };
}

/**
 * Never throws: telemetry must not stop a command from running, so a bad value falls back to its
 * default here and is listed in `rejected` (startTelemetry warns once about each; the SDK is
 * told the default, never the bad value).
 */
function telemetryConfig(env: Env): TelemetrySettings {
  const rejected: { name: string; value: string; expected: string }[] = [];
  const checked = <T>(
    name: string,
    parse: (raw: string) => T | undefined,
    expected: string,
  ): T | undefined => {
    const raw = env[name]?.trim();
    if (!raw) return undefined;
    const value = parse(raw);
    if (value === undefined) rejected.push({ name, value: raw, expected });
    return value;
  };
  const positive = (name: string) =>
    checked(
      name,
      // Past a Node timer's limit the timer fires at once: a metric export every millisecond.
      (raw) =>
        isWholeNumberText(raw) && Number(raw) > 0 && Number(raw) <= MAX_TIMER_MS ? Number(raw) : undefined,
      `is not a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`,
    );
  return {
    // The OpenTelemetry spec's boolean: true or false, either case; sdops has also taken 1.
    disabled:
      checked(
        'OTEL_SDK_DISABLED',
        (raw) => (/^(true|1)$/i.test(raw) ? true : /^(false|0)$/i.test(raw) ? false : undefined),
        'is not true, false, 1 or 0',
      ) ?? false,
    endpoint: (
      checked(
        'OTEL_EXPORTER_OTLP_ENDPOINT',
        httpUrl,
        'is not a valid http:// or https:// URL without a query or fragment (e.g. http://localhost:4318)',
      ) ??
      // The documented default (read() of an empty environment).
      (read({}, 'OTEL_EXPORTER_OTLP_ENDPOINT') as string)
    ).replace(/\/+$/, ''),
    metricExportIntervalMs: positive('OTEL_METRIC_EXPORT_INTERVAL') ?? DEFAULT_METRIC_EXPORT_INTERVAL_MS,
    exportTimeoutMs: positive('OTEL_EXPORTER_OTLP_TIMEOUT'),
    ...sdkLogLevel(
      checked(
        'OTEL_LOG_LEVEL',
        (raw) => SDK_LOG_LEVELS.find((level) => level === raw.toLowerCase()),
        `is not one of ${SDK_LOG_LEVELS.join(', ')}`,
      ),
      env.OTEL_LOG_LEVEL?.trim(),
    ),
    rejected,
  };
}

function sdkLogLevel(level: SdkLogLevel | undefined, raw: string | undefined) {
  return { ...(level === undefined ? {} : { sdkLogLevel: level }), sdkLogLevelSet: Boolean(raw) };
}

/** The URL as given when it is an absolute http(s) URL ("localhost:4318" parses, as scheme "localhost:"). */
function httpUrl(raw: string): string | undefined {
  try {
    const url = new URL(raw);
    // The signal paths (/v1/traces ...) are appended to it: a query or fragment would swallow them.
    const plain = url.search === '' && url.hash === '' && !raw.includes('?') && !raw.includes('#');
    return (url.protocol === 'http:' || url.protocol === 'https:') && plain ? raw : undefined;
  } catch {
    return undefined;
  }
}

/** How a command's help names an option's default that a variable sets: `$NAME or <its default>`. */
export function defaultFromEnv(name: string): string {
  const spec = ENV_VARS.find((v) => v.name === name);
  if (spec?.default === undefined) throw new Error(`${name} is not a variable with a default`);
  return `$${name} or ${spec.default}`;
}

/** Reads and validates the environment once at start; throws ConfigError naming the bad variable. */
export function loadConfig(env: Env = process.env): Config {
  // Set but empty (an unset variable in `DATABASE_URL=$PG_URL`, a compose `${PG_URL}`): read as unset,
  // a deployment meant for PostgreSQL ran on a new, private embedded database, one warning its only sign.
  const databaseUrl = readNotBlank(env, 'DATABASE_URL', 'the embedded database');
  if (databaseUrl !== undefined) checkDatabaseUrl(databaseUrl);
  return {
    databaseUrl,
    // Ignored beside DATABASE_URL, so not refused there either.
    dataDir: (databaseUrl === undefined
      ? readNotBlank(
          env,
          'SDOPS_DATA_DIR',
          `the default, ${ENV_VARS.find((v) => v.name === 'SDOPS_DATA_DIR')?.default}`,
        )
      : read(env, 'SDOPS_DATA_DIR')) as string,
    // One connection: a migration's heartbeat waited behind its own batch, and a live runner read
    // as stale. PostgreSQL's own ceiling is 262143; past a thousand per process is a typo.
    dbPoolSize: readInt(env, 'SDOPS_DB_POOL_SIZE', 2, 1000),
    startupOutageBudgetMs: readInt(env, 'SDOPS_STARTUP_OUTAGE_BUDGET_MS', 0, MAX_TIMER_MS),
    cliOutageBudgetMs: readInt(env, 'SDOPS_CLI_OUTAGE_BUDGET_MS', 0, MAX_TIMER_MS),
    logLevel: readEnum(env, 'LOG_LEVEL', LOG_LEVELS),
    logLevelSet: env.LOG_LEVEL !== undefined && env.LOG_LEVEL.trim() !== '',
    environment: read(env, 'SDOPS_ENVIRONMENT') as string,
    apiTokens: readNotBlank(env, 'SDOPS_API_TOKENS', 'no authentication (loopback only)'),
    worker: workerConfig(env),
    migration: migrationConfig(env),
    migrationExportRetryMs: readInt(env, 'SDOPS_MIGRATION_EXPORT_RETRY_MS', 0, MAX_TIMER_MS),
    telemetry: telemetryConfig(env),
  };
}
