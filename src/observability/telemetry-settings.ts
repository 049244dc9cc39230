import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import type { IMetricReader } from '@opentelemetry/sdk-metrics';
import type { SpanExporter } from '@opentelemetry/sdk-trace';

/** Settings shared by the telemetry handle (telemetry.ts) and the lazily loaded SDK wiring. */

export type ProcessRole = 'api' | 'worker' | 'migrate' | 'cli';

/** The OpenTelemetry spec's OTEL_LOG_LEVEL values. */
export const SDK_LOG_LEVELS = ['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'] as const;
export type SdkLogLevel = (typeof SDK_LOG_LEVELS)[number];

/**
 * The OTEL_* variables sdops itself acts on. src/config.ts reads them (`loadConfig().telemetry`) and
 * the caller of startTelemetry passes them in: observability never reads the environment itself.
 * The SDK still reads its other standard variables (OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME for
 * the resource) on its own.
 */
export interface TelemetrySettings {
  /** OTEL_SDK_DISABLED=true: every telemetry call is a no-op (console logs stay). */
  readonly disabled: boolean;
  /** OTLP/HTTP base URL without a trailing slash. */
  readonly endpoint: string;
  readonly metricExportIntervalMs: number;
  /** OTEL_EXPORTER_OTLP_TIMEOUT; undefined: sdops's own EXPORT_TIMEOUT_MS (the SDK alone would use 10 s). */
  readonly exportTimeoutMs: number | undefined;
  /**
   * OTEL_LOG_LEVEL, lower case: the SDK's own diagnostics at this level go to stderr. Undefined:
   * only its warnings and errors, through sdops's one-warning-per-outage reporting.
   */
  readonly sdkLogLevel?: SdkLogLevel;
  /** OTEL_LOG_LEVEL was set at all (also to an unusable value): the SDK then installs a logger itself. */
  readonly sdkLogLevelSet?: boolean;
  /** Values that were set but unusable and fell back to their default; startTelemetry warns once each. */
  readonly rejected?: readonly {
    readonly name: string;
    readonly value: string;
    /** What is wrong with it, e.g. "is not a positive integer". */
    readonly expected: string;
  }[];
}

export interface TestExporters {
  /** Spans are handed over synchronously on end (SimpleSpanProcessor). */
  readonly spanExporter?: SpanExporter;
  /** e.g. a PeriodicExportingMetricReader over an InMemoryMetricExporter; read it via forceFlush(). */
  readonly metricReader?: IMetricReader;
  /** Log records are handed over synchronously (SimpleLogRecordProcessor). */
  readonly logExporter?: LogRecordExporter;
  /** The reader of the database's own meter (observeDatabase); read it via forceFlush(). */
  readonly databaseMetricReader?: IMetricReader;
}

/** The defaults of the telemetry settings; src/env-vars.ts documents them from here. */
export const DEFAULT_ENDPOINT = 'http://localhost:4318';
export const DEFAULT_METRIC_EXPORT_INTERVAL_MS = 10_000;
/** deployment.environment.name when SDOPS_ENVIRONMENT is unset. */
export const DEFAULT_ENVIRONMENT = 'development';
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5_000;
/** How much longer than one export's timeout a shutdown waits, so the export's own timeout ends it. */
export const SHUTDOWN_MARGIN_MS = 1_000;
/** Bounded queues: with the collector down, at most this many spans/log records wait in memory. */
export const MAX_QUEUE_SIZE = 2048;
/**
 * Shutdown budget once exports are known to fail: waiting for retries against a dead collector
 * would only delay exit (a CLI command would hang for the whole budget) without saving data.
 */
export const FAILING_SHUTDOWN_TIMEOUT_MS = 250;
/** Per export, retries included, unless OTEL_EXPORTER_OTLP_TIMEOUT says otherwise. */
export const EXPORT_TIMEOUT_MS = 3_000;

/** Every setting at its default, as with no OTEL_* variable set (tests, benchmarks). */
export const DEFAULT_TELEMETRY_SETTINGS: TelemetrySettings = {
  disabled: false,
  endpoint: DEFAULT_ENDPOINT,
  metricExportIntervalMs: DEFAULT_METRIC_EXPORT_INTERVAL_MS,
  exportTimeoutMs: undefined,
};
