import type { Attributes } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  type LogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  TracerProvider,
} from '@opentelemetry/sdk-trace';

/** Records the exporters of one TestTelemetry handed over successfully, and those they could not. */
export interface ExportCounts {
  spans: { exported: number; failed: number };
  logs: { exported: number; failed: number };
}

/**
 * Private OTel JS providers pointed at one collector, as the app's SDK would be (OTLP/HTTP,
 * cumulative temporality), but not registered globally so tests cannot leak into each other.
 */
export interface TestTelemetry {
  readonly meterProvider: MeterProvider;
  readonly tracerProvider: TracerProvider;
  readonly loggerProvider: LoggerProvider;
  /** What the span and log exporters delivered so far (a failed export is a test failure, not data). */
  readonly exportCounts: ExportCounts;
  /** Exports pending metrics, spans and logs now. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface TestTelemetryOptions {
  metricIntervalMs?: number;
  /**
   * Batch spans and logs the way the app does (BatchSpanProcessor / BatchLogRecordProcessor, here
   * with a short delay and a queue large enough to never drop), for workloads of thousands of
   * spans; the default exports each span and record on its own.
   */
  batch?: boolean;
}

type Counter = { exported: number; failed: number };

function counting<T extends SpanExporter | LogRecordExporter>(exporter: T, counter: Counter): T {
  const original = exporter.export.bind(exporter) as (
    items: unknown[],
    done: (r: ExportResult) => void,
  ) => void;
  (exporter as { export: typeof original }).export = (items, done) =>
    original(items, (result) => {
      if (result.code === ExportResultCode.SUCCESS) counter.exported += items.length;
      else counter.failed += items.length;
      done(result);
    });
  return exporter;
}

const BATCH = { maxQueueSize: 1_000_000, maxExportBatchSize: 2048, scheduledDelayMillis: 100 } as const;
/** A flush of a large queue exports every batch at once; the exporters' default limit (30) would fail some. */
const CONCURRENCY = { concurrencyLimit: 10_000 } as const;

export function createTestTelemetry(
  otlpHttpEndpoint: string,
  resource: Attributes,
  { metricIntervalMs = 500, batch = false }: TestTelemetryOptions = {},
): TestTelemetry {
  const res = resourceFromAttributes(resource);
  const exportCounts: ExportCounts = { spans: { exported: 0, failed: 0 }, logs: { exported: 0, failed: 0 } };
  const spanExporter = counting(
    new OTLPTraceExporter({ url: `${otlpHttpEndpoint}/v1/traces`, ...CONCURRENCY }),
    exportCounts.spans,
  );
  const logExporter = counting(
    new OTLPLogExporter({ url: `${otlpHttpEndpoint}/v1/logs` }),
    exportCounts.logs,
  );
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
      batch
        ? new BatchSpanProcessor({ exporter: spanExporter, ...BATCH })
        : new SimpleSpanProcessor({ exporter: spanExporter }),
    ],
  });
  const loggerProvider = new LoggerProvider({
    resource: res,
    processors: [
      batch
        ? new BatchLogRecordProcessor({ exporter: logExporter, ...BATCH })
        : new SimpleLogRecordProcessor({ exporter: logExporter }),
    ],
  });
  return {
    meterProvider,
    tracerProvider,
    loggerProvider,
    exportCounts,
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
