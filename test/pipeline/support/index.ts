export {
  type CollectorPorts,
  collectorBinary,
  collectorRunSpec,
  startCollector,
  type TestCollector,
  validateCollectorConfig,
} from './collector.ts';
export {
  type Attributes,
  type ExportedLogRecord,
  type ExportedSpan,
  type OtlpSink,
  parseLogs,
  parseSpans,
  startOtlpSink,
} from './otlp-sink.ts';
export { COLLECTOR_CONFIG, COLLECTOR_OVERLAY, PROMETHEUS_CONFIG, REPO_ROOT } from './paths.ts';
export { freePort, httpOk, pollUntil } from './process.ts';
export {
  type Exemplar,
  type ExemplarSeries,
  type InstantSample,
  type Labels,
  promExemplars,
  promMetricNames,
  promQuery,
  promSeries,
} from './prom-api.ts';
export {
  collectorTargets,
  deriveTestConfig,
  promtoolCheckConfig,
  startPrometheus,
  type TargetOverrides,
  type TestPrometheus,
} from './prometheus.ts';
export { createTestTelemetry, type TestTelemetry } from './otel-sdk.ts';
