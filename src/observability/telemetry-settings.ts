import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import type { IMetricReader } from '@opentelemetry/sdk-metrics';
import type { SpanExporter } from '@opentelemetry/sdk-trace';

/** Settings shared by the telemetry handle (telemetry.ts) and the lazily loaded SDK wiring. */

export type ProcessRole = 'api' | 'worker' | 'migrate' | 'cli';

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

export const DEFAULT_ENDPOINT = 'http://localhost:4318';
export const DEFAULT_METRIC_EXPORT_INTERVAL_MS = 10_000;
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5_000;
/** Bounded queues: with the collector down, at most this many spans/log records wait in memory. */
export const MAX_QUEUE_SIZE = 2048;
/**
 * Shutdown budget once exports are known to fail: waiting for retries against a dead collector
 * would only delay exit (a CLI command would hang for the whole budget) without saving data.
 */
export const FAILING_SHUTDOWN_TIMEOUT_MS = 250;
/** Per export, retries included, unless OTEL_EXPORTER_OTLP_TIMEOUT says otherwise. */
export const EXPORT_TIMEOUT_MS = 3_000;
