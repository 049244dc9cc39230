export { defineAttributeValues, type OperationStatus } from './attributes.ts';
export { addToCanonicalLine, CanonicalLine, withCanonicalLine } from './canonical-line.ts';
export type { QueueTruth } from './database-gauges.ts';
export {
  DURATION_BUCKETS_SECONDS,
  INSTRUMENT_DEFINITIONS,
  type InstrumentDefinition,
} from './instruments.ts';
export {
  configureLogging,
  getLogger,
  LOG_FIELDS,
  type Logger,
  type LoggingOptions,
  LOG_LEVELS,
  type LogLevel,
} from './logger.ts';
export { httpMetrics, migrationMetrics, softDeleteMetrics, workerMetrics, zeroCounters } from './metrics.ts';
export { SPAN_DEFINITIONS, type SpanAttributes, type SpanName } from './span-names.ts';
export { type DatabaseObservation, NOT_OBSERVING, startTelemetry, type Telemetry } from './telemetry.ts';
export { packageVersion } from './package-version.ts';
export {
  DEFAULT_ENDPOINT,
  DEFAULT_ENVIRONMENT,
  DEFAULT_METRIC_EXPORT_INTERVAL_MS,
  DEFAULT_TELEMETRY_SETTINGS,
  EXPORT_TIMEOUT_MS,
  type ProcessRole,
  SDK_LOG_LEVELS,
  type SdkLogLevel,
  type TelemetrySettings,
} from './telemetry-settings.ts';
export {
  captureTraceContext,
  spanContextFromCarrier,
  type TraceCarrier,
} from './trace-context.ts';
export {
  currentTracer,
  dbSpanInfo,
  type DbSpanInfo,
  outsideTrace,
  type SpanHandle,
  withDbSpan,
  withSpan,
} from './tracing.ts';
