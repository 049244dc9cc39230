import type { Meter } from '@opentelemetry/api';
import { PROCESS_GAUGES } from './instruments.ts';
import type { ProcessRole } from './telemetry-settings.ts';

/**
 * The roles that should always be running, so their silence is news: a CLI command or a migration
 * process ends by design (a dead migration run is MigrationRunStale's to report).
 */
const LONG_RUNNING: readonly ProcessRole[] = ['api', 'worker'];

export interface ProcessGauges {
  /** Whether this role reports its stop at all (a CLI command has nothing to say). */
  readonly reportsStop: boolean;
  /** The process was asked to stop: every export from now on, its last one included, says so. */
  stopRequested(): void;
}

const NOT_REPORTING: ProcessGauges = { reportsStop: false, stopRequested: () => {} };

/**
 * Registers process.uptime for a long-running role: observed at each metric export, so its value
 * moves while the process lives and exports, and freezes in the collector's scrape when it does not.
 * Beside it sdops.process.stopping, observed only once a stop was asked for: a process that ends
 * without it (SIGKILL, a crash, its host gone) is lost, not stopped.
 */
export function registerProcessGauges(meter: Meter, role: ProcessRole): ProcessGauges {
  if (!LONG_RUNNING.includes(role)) return NOT_REPORTING;
  const uptime = PROCESS_GAUGES.processUptime;
  meter
    .createObservableGauge(uptime.name, { unit: uptime.unit, description: uptime.description })
    .addCallback((result) => {
      result.observe(process.uptime());
    });
  let stopping = false;
  const stop = PROCESS_GAUGES.processStopping;
  meter
    .createObservableGauge(stop.name, { unit: stop.unit, description: stop.description })
    .addCallback((result) => {
      if (stopping) result.observe(1);
    });
  return {
    reportsStop: true,
    stopRequested: () => {
      stopping = true;
    },
  };
}
