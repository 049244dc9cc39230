import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ALERT_PARAMS, type AlertParams, alertRules, prometheusRules } from '../../../grafana/src/index.ts';

/**
 * The alert rules rendered with windows and thresholds a two-minute workload can reach, loaded
 * beside the production rules (prometheus/rules/) into the test Prometheus: same expressions, same
 * code path (alertRules), only the numbers differ. Their ALERTS carry scaled="true".
 */
export const SCALED_PARAMS: AlertParams = {
  ...ALERT_PARAMS,
  failureRatioFor: '0s',
  minJobsPerWindow: 3,
  queueLengthThreshold: 3,
  queueBacklogFor: '3s',
  queueStalledSeconds: 5,
  queueStalledWindow: '5s',
  migrationStaleSeconds: 2,
  collectorDownFor: '1s',
  // Far more sensitive than production: a busy, healthy exporter must still never read as stuck.
  backendStuckWindow: '5s',
  backendDownFor: '0s',
  droppedWindow: '30s',
  droppedFor: '0s',
};

export const SCALED_RULES = alertRules(SCALED_PARAMS);

export function writeScaledRules(dir: string): string {
  const file = join(dir, 'scaled.rules.yml');
  const doc = prometheusRules(SCALED_RULES, { group: 'soft-delete-ops-scaled', labels: { scaled: 'true' } });
  writeFileSync(file, stringify(doc, { lineWidth: 0 }));
  return file;
}
