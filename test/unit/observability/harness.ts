import { Writable } from 'node:stream';
import { InMemoryLogRecordExporter, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  type MetricData,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { configureLogging, startTelemetry, type Telemetry } from '../../../src/observability/index.ts';
import {
  DEFAULT_TELEMETRY_SETTINGS,
  type ProcessRole,
} from '../../../src/observability/telemetry-settings.ts';
import type { LoggingOptions } from '../../../src/observability/logger.ts';
import { SPAN_DEFINITIONS } from '../../../src/observability/span-names.ts';

/** Collects the JSON lines the console transport writes. */
export class LineSink extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.lines.push(line);
    done();
  }
  records(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

export interface InMemoryTelemetry {
  readonly telemetry: Telemetry;
  readonly console: LineSink;
  /** Flushes first: the processors wait for async resource attributes before exporting. */
  spans(): Promise<ReadableSpan[]>;
  logs(): Promise<ReadableLogRecord[]>;
  /** Flushes first: log records reach winston, and so the console, off the caller's path. */
  consoleRecords(): Promise<Record<string, unknown>[]>;
  /** Flushes and returns every metric data point set of the last collection, by instrument name. */
  metrics(): Promise<Map<string, MetricData>>;
  /** What the last metric export the process made by itself held (no flush here), by instrument name. */
  exportedMetrics(): Map<string, MetricData>;
  /** One collection of the database's own meter (observeDatabase), with its resource. */
  databaseMetrics(): Promise<{ resource: Record<string, unknown>; metrics: Map<string, MetricData> }>;
}

function byName(last: ResourceMetrics | undefined): Map<string, MetricData> {
  const out = new Map<string, MetricData>();
  for (const scope of last?.scopeMetrics ?? []) {
    for (const metric of scope.metrics) out.set(metric.descriptor.name, metric);
  }
  return out;
}

export async function startInMemoryTelemetry(
  logging: LoggingOptions = {},
  role: ProcessRole = 'cli',
): Promise<InMemoryTelemetry> {
  const spanExporter = new InMemorySpanExporter();
  const logExporter = new InMemoryLogRecordExporter();
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // A long interval: tests collect explicitly through forceFlush, never by waiting.
  const metricReader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  });
  const databaseExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const databaseMetricReader = new PeriodicExportingMetricReader({
    exporter: databaseExporter,
    exportIntervalMillis: 3_600_000,
  });
  const console = new LineSink();
  configureLogging({ level: 'debug', ...logging, console });
  const telemetry = await startTelemetry({
    role,
    settings: DEFAULT_TELEMETRY_SETTINGS,
    testExporters: { spanExporter, metricReader, logExporter, databaseMetricReader },
  });
  return {
    telemetry,
    console,
    spans: async () => {
      await telemetry.forceFlush();
      return spanExporter.getFinishedSpans();
    },
    logs: async () => {
      await telemetry.forceFlush();
      return logExporter.getFinishedLogRecords();
    },
    consoleRecords: async () => {
      await telemetry.forceFlush();
      return console.records();
    },
    metrics: async () => {
      metricExporter.reset();
      await telemetry.forceFlush();
      return byName(metricExporter.getMetrics().at(-1));
    },
    exportedMetrics: () => byName(metricExporter.getMetrics().at(-1)),
    databaseMetrics: async () => {
      databaseExporter.reset();
      await databaseMetricReader.forceFlush();
      const last = databaseExporter.getMetrics().at(-1);
      return { resource: { ...last?.resource.attributes }, metrics: byName(last) };
    },
  };
}

/** Attributes any failing span may add (docs/telemetry.md: "A failing span has ... `error.type`"). */
const ON_FAILURE = ['error.type', 'db.response.status_code'];

/**
 * Every span carries only attributes docs/telemetry.md lists for it (its catalog entry, by name, or
 * by kind for the patterned HTTP and database span names): the catalog is the contract.
 */
export function uncataloguedAttributes(spans: readonly ReadableSpan[]): string[] {
  const found = new Set<string>();
  for (const span of spans) {
    const def =
      SPAN_DEFINITIONS.find((d) => d.name === span.name) ??
      SPAN_DEFINITIONS.find(
        (d) =>
          d.name.startsWith('{') &&
          d.kind === ['internal', 'server', 'client', 'producer', 'consumer'][span.kind],
      );
    for (const key of Object.keys(span.attributes)) {
      if (!def?.attributes.includes(key as never) && !ON_FAILURE.includes(key))
        found.add(`${span.name}: ${key}`);
    }
  }
  return [...found];
}
