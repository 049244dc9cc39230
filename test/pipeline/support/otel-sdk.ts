import type { Attributes } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { TracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';

/**
 * Private OTel JS providers pointed at one collector, as the app's SDK would be (OTLP/HTTP,
 * cumulative temporality), but not registered globally so tests cannot leak into each other.
 */
export interface TestTelemetry {
  readonly meterProvider: MeterProvider;
  readonly tracerProvider: TracerProvider;
  readonly loggerProvider: LoggerProvider;
  /** Exports pending metrics, spans and logs now. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export function createTestTelemetry(
  otlpHttpEndpoint: string,
  resource: Attributes,
  { metricIntervalMs = 500 }: { metricIntervalMs?: number } = {},
): TestTelemetry {
  const res = resourceFromAttributes(resource);
  const meterProvider = new MeterProvider({
    resource: res,
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${otlpHttpEndpoint}/v1/metrics`, timeoutMillis: 400 }),
        exportIntervalMillis: metricIntervalMs,
        exportTimeoutMillis: 450,
      }),
    ],
  });
  const tracerProvider = new TracerProvider({
    resource: res,
    spanProcessors: [
      new SimpleSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${otlpHttpEndpoint}/v1/traces` }) }),
    ],
  });
  const loggerProvider = new LoggerProvider({
    resource: res,
    processors: [
      new SimpleLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${otlpHttpEndpoint}/v1/logs` }) }),
    ],
  });
  return {
    meterProvider,
    tracerProvider,
    loggerProvider,
    async flush() {
      await Promise.all([
        meterProvider.forceFlush(),
        tracerProvider.forceFlush(),
        loggerProvider.forceFlush(),
      ]);
    },
    async shutdown() {
      await Promise.all([meterProvider.shutdown(), tracerProvider.shutdown(), loggerProvider.shutdown()]);
    },
  };
}
