import { randomUUID } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Duplex } from 'node:stream';
import { metrics } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, envDetector, hostDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  type LogRecordProcessor,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { type IMetricReader, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { withCircuitBreaker } from './circuit.ts';
import { type DatabaseGaugeOptions, registerDatabaseGauges } from './database-gauges.ts';
import { reportConnectionError } from './diagnostics.ts';
import { packageVersion } from './package-version.ts';
import { type ProcessGauges, registerProcessGauges } from './process-gauges.ts';
import { SCOPE_NAME } from './scope.ts';
import { MAX_QUEUE_SIZE, type ProcessRole, type TestExporters } from './telemetry-settings.ts';

/**
 * The OpenTelemetry SDK wiring, in its own module so telemetry.ts can load it only when a process
 * starts telemetry: the SDK packages are most of a CLI command's start-up time.
 */

export interface SdkSettings {
  readonly role: ProcessRole;
  /** OTLP/HTTP base URL without a trailing slash. */
  readonly endpoint: string;
  readonly metricExportIntervalMs: number;
  /** Per export, retries included (OTEL_EXPORTER_OTLP_TIMEOUT, else EXPORT_TIMEOUT_MS). */
  readonly exportTimeoutMs: number;
  readonly environment: string;
  readonly serviceVersion?: string;
  readonly testExporters?: TestExporters;
}

export interface StartedSdk {
  readonly sdk: NodeSDK;
  readonly spanProcessor: SpanProcessor;
  readonly logProcessor: LogRecordProcessor;
  readonly metricReader: IMetricReader;
  readonly processGauges: ProcessGauges;
}

/**
 * The exporters' HTTP agent (keep-alive, as the SDK's default), with every new socket watched: a
 * refused connection is reported at once (diagnostics.ts), because the exporter itself retries it
 * silently until its timeout and shutdown would wait all that time.
 */
function watchedAgent(protocol: string): HttpAgent {
  const agent =
    protocol === 'https:' ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  type Create = (options: object, callback: (error: Error | null, socket: Duplex) => void) => Duplex;
  const internals = agent as unknown as { createConnection: Create };
  const create = internals.createConnection.bind(agent);
  internals.createConnection = (options, callback) => {
    const socket = create(options, callback);
    socket.once('error', reportConnectionError);
    return socket;
  };
  return agent;
}

function exporterOptions(settings: SdkSettings) {
  return {
    httpAgentOptions: watchedAgent,
    // The SDK default (10 s, with retries) would hold a CLI's exit that long when the collector hangs.
    timeoutMillis: settings.exportTimeoutMs,
  };
}

function metricReader(settings: SdkSettings, intervalMs: number): IMetricReader {
  const exporter = new OTLPMetricExporter({
    url: `${settings.endpoint}/v1/metrics`,
    ...exporterOptions(settings),
  });
  return new PeriodicExportingMetricReader({
    exporter: withCircuitBreaker(exporter),
    exportIntervalMillis: intervalMs,
    // The SDK refuses a timeout longer than the interval.
    exportTimeoutMillis: Math.min(intervalMs, settings.exportTimeoutMs),
  });
}

function pipelines(settings: SdkSettings) {
  const { endpoint, testExporters: test } = settings;
  const timeout = exporterOptions(settings);
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
  const reader: IMetricReader = test?.metricReader ?? metricReader(settings, settings.metricExportIntervalMs);
  return { spanProcessor, logProcessor, metricReader: reader };
}

/**
 * The database's own meter (database-gauges.ts): a provider of its own whose resource names the
 * database and nothing of this process, so every process reading that database reports the same
 * series under the same resource. Past one machine the agents route metrics to a gateway by their
 * resource: a version or environment in it would send two processes' readings (a rolling upgrade)
 * to two gateways, and Prometheus would get two writers of one series.
 */
export function startDatabaseMeter(settings: SdkSettings, options: DatabaseGaugeOptions): MeterProvider {
  const provider = new MeterProvider({
    resource: resourceFromAttributes({
      'service.name': 'sdops-database',
      'service.instance.id': options.database,
    }),
    readers: [settings.testExporters?.databaseMetricReader ?? metricReader(settings, options.intervalMs)],
  });
  registerDatabaseGauges(provider.getMeter(SCOPE_NAME), options.read);
  return provider;
}

/** Builds and starts the SDK; it registers the global providers, so facades start exporting. */
export function startSdk(settings: SdkSettings): StartedSdk {
  const { spanProcessor, logProcessor, metricReader } = pipelines(settings);
  const resource = defaultResource().merge(
    resourceFromAttributes({
      'service.name': `sdops-${settings.role}`,
      'service.version': settings.serviceVersion ?? packageVersion(),
      'deployment.environment.name': settings.environment,
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
  const processGauges = registerProcessGauges(metrics.getMeter(SCOPE_NAME), settings.role);
  return { sdk, spanProcessor, logProcessor, metricReader, processGauges };
}
