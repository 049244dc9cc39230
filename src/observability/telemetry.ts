import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { context, logs, metrics, propagation, trace } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, envDetector, hostDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  type LogRecordExporter,
  type LogRecordProcessor,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { type IMetricReader, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import {
  exportFailing,
  installExportErrorHandler,
  uninstallExportErrorHandler,
  warnOnce,
} from './diagnostics.ts';
import { drainDeferred } from './deferred.ts';
import { setOtlpLogging } from './logger.ts';
import { withCircuitBreaker } from './circuit.ts';

export type ProcessRole = 'api' | 'worker' | 'migrate' | 'cli';

export interface TestExporters {
  /** Spans are handed over synchronously on end (SimpleSpanProcessor). */
  readonly spanExporter?: SpanExporter;
  /** e.g. a PeriodicExportingMetricReader over an InMemoryMetricExporter; read it via forceFlush(). */
  readonly metricReader?: IMetricReader;
  /** Log records are handed over synchronously (SimpleLogRecordProcessor). */
  readonly logExporter?: LogRecordExporter;
}

export interface TelemetryOptions {
  readonly role: ProcessRole;
  /** Default: version from package.json. */
  readonly serviceVersion?: string;
  /** deployment.environment.name. Default: SDOPS_ENVIRONMENT, else 'development'. */
  readonly environment?: string;
  /** OTLP/HTTP base URL. Default: OTEL_EXPORTER_OTLP_ENDPOINT, else http://localhost:4318. */
  readonly endpoint?: string;
  /** Default: OTEL_METRIC_EXPORT_INTERVAL, else 10000 ms. */
  readonly metricExportIntervalMs?: number;
  /** Flush on SIGTERM, SIGINT and when the event loop empties (see installShutdownHooks). */
  readonly shutdownHooks?: boolean;
  /** Replaces the OTLP exporters (unit tests). */
  readonly testExporters?: TestExporters;
}

export interface Telemetry {
  /** False when OTEL_SDK_DISABLED=true: every call below is then a no-op. */
  readonly enabled: boolean;
  readonly serviceName: string;
  /** Exports everything buffered so far (all three signals). Never rejects. */
  forceFlush(): Promise<void>;
  /** Flushes and stops all three signals within timeoutMs; idempotent; never rejects. */
  shutdown(timeoutMs?: number): Promise<void>;
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

let active: Telemetry | undefined;

function packageVersion(): string {
  try {
    const raw = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(raw) as { version?: unknown }).version;
    return typeof version === 'string' ? version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function envValue(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value ? value : undefined;
}

function exportInterval(options: TelemetryOptions): number {
  if (options.metricExportIntervalMs !== undefined) return options.metricExportIntervalMs;
  const raw = envValue('OTEL_METRIC_EXPORT_INTERVAL');
  if (raw === undefined) return DEFAULT_METRIC_EXPORT_INTERVAL_MS;
  const value = Number(raw);
  if (Number.isInteger(value) && value > 0) return value;
  warnOnce(
    'otel-metric-export-interval',
    'OTEL_METRIC_EXPORT_INTERVAL is not a positive integer; using default',
    {
      value: raw,
      default_ms: DEFAULT_METRIC_EXPORT_INTERVAL_MS,
    },
  );
  return DEFAULT_METRIC_EXPORT_INTERVAL_MS;
}

function withTimeout(work: Promise<unknown>, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    work.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}

function noopTelemetry(serviceName: string): Telemetry {
  return { enabled: false, serviceName, forceFlush: async () => {}, shutdown: async () => {} };
}

function pipelines(options: TelemetryOptions, endpoint: string, intervalMs: number) {
  const test = options.testExporters;
  // The SDK default (10 s, with retries) would hold a CLI's exit that long when the collector hangs.
  const timeout = envValue('OTEL_EXPORTER_OTLP_TIMEOUT') ? {} : { timeoutMillis: EXPORT_TIMEOUT_MS };
  const spanProcessor: SpanProcessor = test?.spanExporter
    ? new SimpleSpanProcessor({ exporter: test.spanExporter })
    : new BatchSpanProcessor({
        exporter: withCircuitBreaker(new OTLPTraceExporter({ url: `${endpoint}/v1/traces`, ...timeout })),
        maxQueueSize: MAX_QUEUE_SIZE,
      });
  const logProcessor: LogRecordProcessor = test?.logExporter
    ? new SimpleLogRecordProcessor({ exporter: test.logExporter })
    : new BatchLogRecordProcessor({
        exporter: withCircuitBreaker(new OTLPLogExporter({ url: `${endpoint}/v1/logs`, ...timeout })),
        maxQueueSize: MAX_QUEUE_SIZE,
      });
  const metricReader: IMetricReader =
    test?.metricReader ??
    new PeriodicExportingMetricReader({
      exporter: withCircuitBreaker(new OTLPMetricExporter({ url: `${endpoint}/v1/metrics`, ...timeout })),
      exportIntervalMillis: intervalMs,
      exportTimeoutMillis: Math.min(intervalMs, EXPORT_TIMEOUT_MS),
    });
  return { spanProcessor, logProcessor, metricReader };
}

/**
 * Starts traces, metrics and logs for this process and registers them globally, so getLogger(),
 * withSpan() and the metric facades created anywhere start exporting. Call once, first thing in
 * main. A second call while one is active returns the active handle.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  const serviceName = envValue('OTEL_SERVICE_NAME') ?? `sdops-${options.role}`;
  if (active) return active;
  if (/^(true|1)$/i.test(envValue('OTEL_SDK_DISABLED') ?? '')) return noopTelemetry(serviceName);

  const endpoint = (options.endpoint ?? envValue('OTEL_EXPORTER_OTLP_ENDPOINT') ?? DEFAULT_ENDPOINT).replace(
    /\/+$/,
    '',
  );
  installExportErrorHandler(endpoint);
  const { spanProcessor, logProcessor, metricReader } = pipelines(options, endpoint, exportInterval(options));
  const resource = defaultResource().merge(
    resourceFromAttributes({
      'service.name': `sdops-${options.role}`,
      'service.version': options.serviceVersion ?? packageVersion(),
      'deployment.environment.name': options.environment ?? envValue('SDOPS_ENVIRONMENT') ?? 'development',
      'service.instance.id': randomUUID(),
      'process.pid': process.pid,
    }),
  );
  const sdk = new NodeSDK({
    resource,
    // envDetector applies OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES on top of the defaults above.
    // processDetector is left out on purpose: process.command_args can contain credentials.
    resourceDetectors: [envDetector, hostDetector],
    spanProcessors: [spanProcessor],
    metricReaders: [metricReader],
    logRecordProcessors: [logProcessor],
    instrumentations: [],
  });
  sdk.start();
  setOtlpLogging(true);

  let stopped: Promise<void> | undefined;
  let removeHooks: () => void = () => {};
  const handle: Telemetry = {
    enabled: true,
    serviceName,
    forceFlush: async () => {
      if (stopped) return;
      drainDeferred();
      await Promise.allSettled([
        spanProcessor.forceFlush(),
        metricReader.forceFlush(),
        logProcessor.forceFlush(),
      ]);
    },
    shutdown: (timeoutMs = DEFAULT_SHUTDOWN_TIMEOUT_MS) => {
      stopped ??= (async () => {
        removeHooks();
        drainDeferred();
        // Detach first so log lines written during shutdown go to the console only.
        setOtlpLogging(false);
        await withTimeout(
          sdk.shutdown(),
          exportFailing() ? Math.min(timeoutMs, FAILING_SHUTDOWN_TIMEOUT_MS) : timeoutMs,
        );
        // Unregister so later calls are no-ops and a new startTelemetry (tests) can register again.
        trace.disable();
        metrics.disable();
        logs.disable();
        propagation.disable();
        context.disable();
        uninstallExportErrorHandler();
        if (active === handle) active = undefined;
      })();
      return stopped;
    },
  };
  active = handle;
  if (options.shutdownHooks) removeHooks = installShutdownHooks(handle);
  return handle;
}

/** The running telemetry handle, if startTelemetry was called and not shut down. */
export function activeTelemetry(): Telemetry | undefined {
  return active;
}

/**
 * Flushes telemetry on SIGTERM/SIGINT and when the event loop empties. Composable with a program's
 * own graceful shutdown: if other listeners exist for the signal, they decide when to exit (and
 * should `await telemetry.shutdown()` themselves); if none exists, the process exits with
 * 128 + signal number after the flush, as it would have without the hook. Returns an uninstaller.
 */
export function installShutdownHooks(
  telemetry: Telemetry,
  timeoutMs = DEFAULT_SHUTDOWN_TIMEOUT_MS,
): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    const othersListen = process.listenerCount(signal) > 1;
    void telemetry.shutdown(timeoutMs).then(() => {
      if (!othersListen) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    });
  };
  const onBeforeExit = () => {
    void telemetry.shutdown(timeoutMs);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.once('beforeExit', onBeforeExit);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('beforeExit', onBeforeExit);
  };
}
