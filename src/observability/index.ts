export {
  type AttributeValueSets,
  defineAttributeValues,
  type Operation,
  OPERATION_STATUSES,
  type OperationStatus,
  OPERATIONS,
  OTHER,
  type Outcome,
  OUTCOMES,
  type RegisteredAttribute,
} from './attributes.ts';
export { addToCanonicalLine, CanonicalLine, withCanonicalLine } from './canonical-line.ts';
export type { DatabaseGaugeOptions, DatabaseReading, QueueTruth } from './database-gauges.ts';
export {
  DATABASE_GAUGES,
  DURATION_BUCKETS_SECONDS,
  INSTRUMENT_DEFINITIONS,
  INSTRUMENTS,
  type InstrumentDefinition,
  type InstrumentKind,
} from './instruments.ts';
export {
  type ConsoleDestination,
  configureLogging,
  getLogger,
  LOG_FIELDS,
  type LogFields,
  type LogFieldValue,
  type Logger,
  type LoggingOptions,
  type LogLevel,
} from './logger.ts';
export {
  httpMetrics,
  METER_NAME,
  migrationMetrics,
  type OperationCall,
  type OperationRows,
  softDeleteMetrics,
  workerMetrics,
  zeroCounters,
} from './metrics.ts';
export { REDACTED, redactString } from './redact.ts';
export {
  MIGRATION_BATCH_RESULTS,
  type MigrationBatchResult,
  operationSpanName,
  SPAN_ATTRIBUTE_KEYS,
  SPAN_DEFINITIONS,
  SPAN_STATUSES,
  SPANS,
  type SpanAttributeKey,
  type SpanAttributes,
  type SpanDefinition,
  type SpanName,
  type SpanStatus,
} from './span-names.ts';
export {
  activeTelemetry,
  type DatabaseObservation,
  installShutdownHooks,
  startTelemetry,
  type Telemetry,
  type TelemetryOptions,
} from './telemetry.ts';
export {
  DEFAULT_ENDPOINT,
  DEFAULT_METRIC_EXPORT_INTERVAL_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  DEFAULT_TELEMETRY_SETTINGS,
  MAX_QUEUE_SIZE,
  type ProcessRole,
  type TelemetrySettings,
  type TestExporters,
} from './telemetry-settings.ts';
export {
  activeRunId,
  activeTraceIds,
  captureTraceContext,
  currentTracer,
  dbSpanInfo,
  type DbSpanInfo,
  type SpanHandle,
  type SpanKindName,
  spanContextFromCarrier,
  type TraceCarrier,
  TRACER_NAME,
  type WithSpanOptions,
  withDbSpan,
  withRunId,
  withSpan,
} from './tracing.ts';
