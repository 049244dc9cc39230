export { defineAttributeValues, type OperationStatus } from './attributes.ts';
export { addToCanonicalLine, CanonicalLine, withCanonicalLine } from './canonical-line.ts';
export type { QueueTruth } from './database-gauges.ts';
export {
  configureLogging,
  consoleCaughtUp,
  getLogger,
  type LogFields,
  type Logger,
  LOG_LEVELS,
  type LogLevel,
} from './logger.ts';
export { holdLine } from './line-sink.ts';
export { withLogFields } from './log-context.ts';
export { httpMetrics, migrationMetrics, softDeleteMetrics, workerMetrics, zeroCounters } from './metrics.ts';
export type { SpanAttributes, SpanName } from './span-names.ts';
export {
  type DatabaseObservation,
  NOT_OBSERVING,
  shutdownActiveTelemetry,
  startTelemetry,
  type Telemetry,
} from './telemetry.ts';
export { packageVersion } from './package-version.ts';
export {
  DEFAULT_ENDPOINT,
  DEFAULT_ENVIRONMENT,
  DEFAULT_METRIC_EXPORT_INTERVAL_MS,
  EXPORT_TIMEOUT_MS,
  type ProcessRole,
  SDK_LOG_LEVELS,
  type SdkLogLevel,
  type TelemetrySettings,
} from './telemetry-settings.ts';
export { captureTraceContext, type TraceCarrier } from './trace-context.ts';
export {
  currentTracer,
  dbSpanInfo,
  type DbSpanInfo,
  outsideTrace,
  type SpanHandle,
  withDbSpan,
  withSpan,
} from './tracing.ts';
