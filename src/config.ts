import { ConfigError } from './errors.ts';

/**
 * The one home of configuration. Every environment variable the product reads is declared here with
 * its default and meaning; README's configuration table is checked against ENV_VARS by a test.
 * OTEL_* variables are read by the OpenTelemetry SDK itself; they are listed so operators find them.
 */
export interface EnvVarSpec {
  readonly name: string;
  /** Default as an operator would write it; undefined means "unset". */
  readonly default: string | undefined;
  readonly description: string;
}

export const ENV_VARS: readonly EnvVarSpec[] = [
  {
    name: 'DATABASE_URL',
    default: undefined,
    description: 'PostgreSQL connection string. Unset: the embedded PGlite database in SDOPS_DATA_DIR.',
  },
  {
    name: 'SDOPS_DATA_DIR',
    default: './.sdops/data',
    description: 'Where the embedded PGlite database keeps its files (ignored when DATABASE_URL is set).',
  },
  { name: 'SDOPS_DB_POOL_SIZE', default: '10', description: 'Maximum connections in the PostgreSQL pool.' },
  { name: 'LOG_LEVEL', default: 'info', description: 'Log level: error, warn, info, debug.' },
  {
    name: 'SDOPS_ENVIRONMENT',
    default: 'development',
    description: 'Value of the deployment.environment.name resource attribute.',
  },
  {
    name: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    default: 'http://localhost:4318',
    description: 'OTLP/HTTP endpoint of the collector for traces, metrics and logs.',
  },
  {
    name: 'OTEL_SERVICE_NAME',
    default: undefined,
    description: 'Overrides service.name (default: sdops-api, sdops-worker, sdops-migrate or sdops-cli by role).',
  },
  { name: 'OTEL_RESOURCE_ATTRIBUTES', default: undefined, description: 'Extra resource attributes, k=v,k=v.' },
  {
    name: 'OTEL_METRIC_EXPORT_INTERVAL',
    default: '10000',
    description: 'Milliseconds between metric exports.',
  },
  { name: 'OTEL_SDK_DISABLED', default: 'false', description: 'true turns all telemetry into no-ops.' },
];

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface Config {
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly dbPoolSize: number;
  readonly logLevel: LogLevel;
  readonly environment: string;
}

type Env = Readonly<Record<string, string | undefined>>;

function read(env: Env, name: string): string | undefined {
  const value = env[name];
  if (value !== undefined && value.trim() !== '') return value.trim();
  return ENV_VARS.find((v) => v.name === name)?.default;
}

export function readPositiveInt(env: Env, name: string): number {
  const raw = read(env, name);
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`${name} must be a positive integer, got "${raw}"`);
  }
  return value;
}

function readEnum<T extends string>(env: Env, name: string, allowed: readonly T[]): T {
  const raw = read(env, name);
  if (!allowed.includes(raw as T)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

/** Reads and validates the environment once at start; throws ConfigError naming the bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const databaseUrl = read(env, 'DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must start with postgres:// or postgresql://');
  }
  return {
    databaseUrl,
    dataDir: read(env, 'SDOPS_DATA_DIR') as string,
    dbPoolSize: readPositiveInt(env, 'SDOPS_DB_POOL_SIZE'),
    logLevel: readEnum(env, 'LOG_LEVEL', ['error', 'warn', 'info', 'debug'] as const),
    environment: read(env, 'SDOPS_ENVIRONMENT') as string,
  };
}
