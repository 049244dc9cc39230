import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { DROPPED_BATCH, noteExportSuccess, reportExportError } from './diagnostics.ts';

/**
 * A circuit breaker in front of an OTLP exporter. The exporters retry a refused connection for up
 * to their whole timeout, per batch; with the collector down that is serialisation and timers for
 * nothing, and at shutdown it keeps the process alive for tens of seconds. After a failure, exports
 * fail fast (the batch is dropped) until COOLDOWN_MS has passed, then one export probes again.
 */

export const COOLDOWN_MS = 15_000;

/**
 * Set by shutdown: every breaker lets exports through again, so a process's last flush is always
 * tried. For a CLI command it is the only export; a breaker opened by a transient failure (an export
 * timed out while the process was paused) would otherwise drop everything it counted. The shutdown
 * wait stays bounded (telemetry.ts), so a collector that is really gone costs at most 250 ms.
 */
let finalFlush = false;

export function letFinalFlushThrough(on = true): void {
  finalFlush = on;
}

interface Exporter<T> {
  export(items: T, resultCallback: (result: ExportResult) => void): void;
}

export function withCircuitBreaker<T, E extends Exporter<T>>(inner: E, now: () => number = Date.now): E {
  let openUntil = 0;
  const guardedExport = (items: T, done: (result: ExportResult) => void): void => {
    if (now() < openUntil && !finalFlush) {
      done({ code: ExportResultCode.FAILED, error: new Error(DROPPED_BATCH) });
      return;
    }
    inner.export(items, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) {
        openUntil = now() + COOLDOWN_MS;
        reportExportError(result.error ?? new Error('export failed'));
      } else {
        openUntil = 0;
        noteExportSuccess();
      }
      done(result);
    });
  };
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'export') return guardedExport;
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
