import type { Meter } from '@opentelemetry/api';
import { PROCESS_GAUGES } from './instruments.ts';
import type { ProcessRole } from './telemetry-settings.ts';

/**
 * The roles that should always be running, so their silence is news: a CLI command or a migration
 * process ends by design (a dead migration run is MigrationRunStale's to report).
 */
const LONG_RUNNING: readonly ProcessRole[] = ['api', 'worker'];

/**
 * Registers process.uptime for a long-running role: observed at each metric export, so its value
 * moves while the process lives and exports, and freezes in the collector's scrape when it does not.
 */
export function registerProcessGauges(meter: Meter, role: ProcessRole): void {
  if (!LONG_RUNNING.includes(role)) return;
  const { name, unit, description } = PROCESS_GAUGES.processUptime;
  meter.createObservableGauge(name, { unit, description }).addCallback((result) => {
    result.observe(process.uptime());
  });
}
