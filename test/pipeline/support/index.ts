export {
  type CollectorOptions,
  type CollectorPorts,
  collectorBinary,
  collectorRunSpec,
  SINGLE_COLLECTOR_CONFIGS,
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
export {
  AGENT_CONFIG,
  COLLECTOR_CONFIG,
  COLLECTOR_OVERLAY,
  GATEWAY_CONFIG,
  GATEWAY_OVERLAY,
  PROMETHEUS_CONFIG,
  REPO_ROOT,
} from './paths.ts';
export { freePort, httpOk } from './process.ts';
export {
  type Exemplar,
  type ExemplarSeries,
  type InstantSample,
  type Labels,
  promExemplars,
  promMetricNames,
  promQuery,
  promSeries,
  promTotals,
  promUntilTotals,
  sameTotals,
  type Totals,
  type TotalsOptions,
} from './prom-api.ts';
export {
  collectorTargets,
  deriveTestConfig,
  promtoolCheckConfig,
  startPrometheus,
  type TargetOverrides,
  type TestPrometheus,
} from './prometheus.ts';
export {
  createTestTelemetry,
  type ExportCounts,
  type TestTelemetry,
  type TestTelemetryOptions,
} from './otel-sdk.ts';
