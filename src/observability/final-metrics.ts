import type { IMetricReader } from '@opentelemetry/sdk-metrics';
import { collectorReached, exportFailing } from './diagnostics.ts';
import { warnConsoleOnly } from './logger.ts';
import { redactString } from './redact.ts';

/** Between attempts: a restarting collector is back within seconds. */
const RETRY_INTERVAL_MS = 1_000;

/**
 * A command whose metrics are the dashboard's only record of its work (a migration run: its rows
 * and its end state) tries its last metric export again, up to `forMs`, when the collector it
 * exported to earlier does not take it: a run that ended during a collector restart counted nothing
 * on the panels, success included. The counters are cumulative, so one export that gets through
 * carries every count. Ctrl-C stops the wait (the command's result is decided; stop-signals.ts ends
 * the process with it). A collector this process never reached is not restarting (none is deployed,
 * or the command ran inside its outage): waiting would hold every such command's exit for nothing.
 */
export async function retryFinalMetrics(
  reader: IMetricReader,
  forMs: number,
  endpoint: string,
): Promise<void> {
  if (!collectorReached()) return;
  const deadline = performance.now() + forMs;
  let warned = false;
  for (;;) {
    const left = deadline - performance.now();
    if (await exported(reader, Math.max(left, RETRY_INTERVAL_MS))) return;
    if (deadline - performance.now() <= 0) {
      // The panels will miss this run's last counts: say where they are instead.
      warnConsoleOnly(
        "the collector did not take this command's metrics in time: the dashboard misses its last counts (sdops migrate status and list have the run)",
        { endpoint: redactString(endpoint) },
      );
      return;
    }
    if (!warned) {
      warned = true;
      warnConsoleOnly(
        // What is left of the window: the first attempt may have waited out an export timeout.
        `the collector does not take this command's metrics; trying again for up to ${Math.max(1, Math.round((deadline - performance.now()) / 1000))} s so the dashboard counts its work (Ctrl-C stops waiting)`,
        { endpoint: redactString(endpoint) },
      );
    }
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(RETRY_INTERVAL_MS, deadline - performance.now())),
    );
  }
}

/**
 * One export of every metric; false when it failed (the reader swallows the error; the exporters
 * report it, diagnostics.ts) or took longer than `withinMs`.
 */
function exported(reader: IMetricReader, withinMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), withinMs);
    reader
      .forceFlush()
      .then(
        () => resolve(!exportFailing()),
        () => resolve(false),
      )
      .finally(() => clearTimeout(timer));
  });
}
