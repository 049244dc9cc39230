import { context, logs, metrics, propagation, trace } from '@opentelemetry/api';
import { letFinalFlushThrough } from './circuit.ts';
import type { DatabaseGaugeOptions } from './database-gauges.ts';
import { drainDeferred } from './deferred.ts';
import { retryFinalMetrics } from './final-metrics.ts';
import {
  exportFailing,
  installExportErrorHandler,
  onExportTrouble,
  silenceExportWarning,
  uninstallExportErrorHandler,
  warnOnce,
  whileConfiguring,
} from './diagnostics.ts';
import { setOtlpLogging } from './logger.ts';
import {
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  DEFAULT_ENVIRONMENT,
  EXPORT_TIMEOUT_MS,
  FAILING_SHUTDOWN_TIMEOUT_MS,
  SHUTDOWN_MARGIN_MS,
  type ProcessRole,
  type TelemetrySettings,
  type TestExporters,
} from './telemetry-settings.ts';

export interface TelemetryOptions {
  readonly role: ProcessRole;
  /** The OTEL_* settings, as src/config.ts read them (`loadConfig().telemetry`). */
  readonly settings: TelemetrySettings;
  /** Default: version from package.json. */
  readonly serviceVersion?: string;
  /** deployment.environment.name (SDOPS_ENVIRONMENT). Default DEFAULT_ENVIRONMENT. */
  readonly environment?: string;
  /** Replaces the OTLP exporters (unit tests). */
  readonly testExporters?: TestExporters;
}

export interface Telemetry {
  /** False when OTEL_SDK_DISABLED=true: every call below is then a no-op. */
  readonly enabled: boolean;
  /** Exports everything buffered so far (all three signals). Never rejects. */
  forceFlush(): Promise<void>;
  /**
   * Flushes and stops all three signals within timeoutMs; idempotent; never rejects. With
   * `retryMetricsMs`, a last metric export the collector does not take is tried again for that long
   * first (final-metrics.ts).
   */
  shutdown(
    timeoutMs?: number,
    options?: { readonly retryMetricsMs?: number; readonly quiet?: boolean },
  ): Promise<void>;
  /**
   * Reports the database's gauges (queue length and oldest wait, stale migration runs) under the
   * database's identity, reading them with `read` at every export (database-gauges.ts). Once per
   * process; stop() exports a last reading and must run before the database closes.
   */
  observeDatabase(options: DatabaseGaugeOptions): DatabaseObservation;
  /**
   * A long-running process (serve, worker) was asked to stop: its exports from now on carry
   * sdops.process.stopping, the first one at once, so its end reads as a stop, not as a lost
   * process (ServiceProcessLost). Resolves when that first export has ended (or failed); at once
   * for the roles that end by design (CLI, migrate), which export nothing for it.
   */
  stopRequested(): Promise<void>;
}

export interface DatabaseObservation {
  /** A last reading and export (bounded like shutdown), then no more reads; idempotent. */
  stop(): Promise<void>;
}

/** An observation that observes nothing: telemetry off, or a process that reads no database gauges. */
export const NOT_OBSERVING: DatabaseObservation = { stop: async () => {} };

let active: Telemetry | undefined;

/**
 * Shuts the running telemetry down, if any, for a process that ends where no handle is in reach (an
 * error nothing caught): its last log record reaches the collector, not only the console.
 */
export function shutdownActiveTelemetry(timeoutMs: number): Promise<void> {
  return active?.shutdown(timeoutMs) ?? Promise.resolve();
}

/**
 * How long the database gauges' last reading and export may take at stop. A database that answers
 * takes milliseconds; one that stopped answering (a frozen host) held a worker's exit 5 s more, past
 * compose's grace period with the default shutdown timeout.
 */
const DATABASE_STOP_TIMEOUT_MS = 2_000;

/** Settings that were set but unusable fell back to their default in src/config.ts: say so once. */
function warnAboutRejected(settings: TelemetrySettings): void {
  for (const { name, value, expected } of settings.rejected ?? []) {
    warnOnce(name.toLowerCase(), `${name} ${expected}; using default`, { value });
  }
}

/**
 * Waits for `work` at most timeoutMs, and at most FAILING_SHUTDOWN_TIMEOUT_MS once exports are known
 * to fail, whether that was known before (exportFailing()) or becomes known while waiting: a CLI
 * whose only export happens here learns that the collector is down from the first refused
 * connection, and waiting for the exporters' retries would only hold its exit.
 */
function boundedWait(work: Promise<unknown>, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const deadline = performance.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(done, Math.max(0, Math.min(ms, deadline - performance.now())));
      timer.unref();
    };
    const unsubscribe = onExportTrouble(() => arm(FAILING_SHUTDOWN_TIMEOUT_MS));
    function done() {
      clearTimeout(timer);
      unsubscribe();
      resolve();
    }
    arm(exportFailing() ? FAILING_SHUTDOWN_TIMEOUT_MS : timeoutMs);
    work.then(done, done);
  });
}

function noopTelemetry(): Telemetry {
  return {
    enabled: false,
    forceFlush: async () => {},
    shutdown: async () => {},
    observeDatabase: () => NOT_OBSERVING,
    stopRequested: async () => {},
  };
}

/**
 * Starts traces, metrics and logs for this process and registers them globally, so getLogger(),
 * withSpan() and the metric facades created anywhere start exporting. Call once, first thing in
 * main, and await it before the work it should observe. A second call while one is active returns
 * the active handle.
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const { settings: given } = options;
  if (active) return active;
  if (given.disabled) return noopTelemetry();

  const endpoint = given.endpoint.replace(/\/+$/, '');
  // The SDK is loaded here, not at import: it is most of a CLI command's start-up time, and a
  // command that never starts telemetry (--version, --help, a rejected argument) need not pay it.
  const { startDatabaseMeter, startSdk } = await import('./sdk-wiring.ts');
  // A concurrent call may have won while the SDK loaded.
  if (active) return active;
  installExportErrorHandler(endpoint);
  warnAboutRejected(given);
  const settings = {
    role: options.role,
    endpoint,
    metricExportIntervalMs: given.metricExportIntervalMs,
    exportTimeoutMs: given.exportTimeoutMs ?? EXPORT_TIMEOUT_MS,
    environment: options.environment ?? DEFAULT_ENVIRONMENT,
    ...(options.serviceVersion === undefined ? {} : { serviceVersion: options.serviceVersion }),
    ...(options.testExporters === undefined ? {} : { testExporters: options.testExporters }),
  };
  const { sdk, spanProcessor, logProcessor, metricReader, processGauges } = whileConfiguring(
    () => startSdk(settings),
    // The SDK names the variable, or (for an endpoint) quotes the value. OTEL_SDK_DISABLED was
    // checked in config.ts, which also takes 1 and 0: the SDK's complaint about those is noise.
    ['OTEL_SDK_DISABLED', ...(given.rejected ?? []).flatMap((r) => [r.name, `'${r.value}'`])],
    {
      set: given.sdkLogLevelSet === true,
      ...(given.sdkLogLevel === undefined ? {} : { level: given.sdkLogLevel }),
    },
  );
  setOtlpLogging(true);

  let stopped: Promise<void> | undefined;
  let database: DatabaseObservation | undefined;
  /** The export that says a stop was asked for (stopRequested), once. */
  let stopWord: Promise<void> | undefined;
  const handle: Telemetry = {
    enabled: true,
    forceFlush: async () => {
      if (stopped) return;
      drainDeferred();
      await Promise.allSettled([
        spanProcessor.forceFlush(),
        metricReader.forceFlush(),
        logProcessor.forceFlush(),
      ]);
    },
    // At least the exports' own timeout and a margin: cut off first, a slow collector's exports
    // were dropped without the warning their timeout gives (OTEL_EXPORTER_OTLP_TIMEOUT above 5 s).
    shutdown: (
      timeoutMs = Math.max(DEFAULT_SHUTDOWN_TIMEOUT_MS, settings.exportTimeoutMs + SHUTDOWN_MARGIN_MS),
      options = {},
    ) => {
      stopped ??= (async () => {
        drainDeferred();
        // Detach first so log lines written during shutdown go to the console only.
        setOtlpLogging(false);
        // A refused command: its last export still goes, but a failing one is not warned about.
        if (options.quiet) silenceExportWarning();
        letFinalFlushThrough();
        const retryMs = options.retryMetricsMs ?? 0;
        if (retryMs > 0) await retryFinalMetrics(metricReader, retryMs, endpoint);
        await Promise.all([database?.stop(), boundedWait(sdk.shutdown(), timeoutMs)]);
        // Unregister so later calls are no-ops and a new startTelemetry (tests) can register again.
        trace.disable();
        metrics.disable();
        logs.disable();
        propagation.disable();
        context.disable();
        uninstallExportErrorHandler();
        letFinalFlushThrough(false);
        if (active === handle) active = undefined;
      })();
      return stopped;
    },
    observeDatabase: (gauges) => {
      if (database || stopped) return database ?? NOT_OBSERVING;
      let reading = true;
      const provider = startDatabaseMeter(settings, {
        ...gauges,
        read: () => (reading ? gauges.read() : Promise.resolve(undefined)),
      });
      let done: Promise<void> | undefined;
      database = {
        stop: () => {
          done ??= boundedWait(provider.shutdown(), DATABASE_STOP_TIMEOUT_MS).finally(() => {
            reading = false;
          });
          return done;
        },
      };
      return database;
    },
    stopRequested: () => {
      if (!processGauges.reportsStop) return Promise.resolve();
      processGauges.stopRequested();
      // Exported at once, not at the next interval: a supervisor's SIGKILL after its grace period
      // (compose: 10 s) may come before the stop's own last export, and the process read as lost.
      stopWord ??= stopped ? Promise.resolve() : metricReader.forceFlush().catch(() => undefined);
      return stopWord;
    },
  };
  active = handle;
  return handle;
}
