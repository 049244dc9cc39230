import { DASHBOARD_UID, GRAFANA_URL_DEFAULT, METRICS, RUNBOOK_URL_PATH } from './catalog.ts';
import { PANEL_IDS } from './dashboard-panels.ts';
import {
  FAILURE_RATIO_THRESHOLD,
  FAILURE_RATIO_WINDOW,
  MIGRATION_FAILURE_WINDOW,
  MIN_JOBS_PER_HOUR,
  QUEUE_BACKLOG_FOR,
  QUEUE_LENGTH_THRESHOLD,
} from './thresholds.ts';

/**
 * The alert rules, defined once. alert-render.ts turns each into a Prometheus alerting rule
 * (`valueExpr > threshold`) and into a Grafana-managed rule (query A = valueExpr, threshold
 * expression C on A), so both fire on the same series at the same value.
 */

export type Severity = 'warning' | 'critical';

export interface AlertRuleDefinition {
  /** alertname in Prometheus, title in Grafana. */
  readonly name: string;
  /** Grafana rule uid (at most 40 characters). */
  readonly uid: string;
  /** PromQL whose value is the live value quoted in the description; one series per alert. */
  readonly valueExpr: string;
  /**
   * valueExpr without its guards (e.g. the minimum job volume): what must return data from a
   * Prometheus that saw a small real workload. Defaults to valueExpr.
   */
  readonly probeExpr?: string;
  /** The rule fires while valueExpr > threshold (for `for`). */
  readonly threshold: number;
  readonly for: string;
  readonly severity: Severity;
  /** Go templates; `{{ $labels.x }}` works in both Prometheus and Grafana. */
  readonly summary: string;
  /** `{{VALUE}}` is replaced by the rendered live value of the target system. */
  readonly description: string;
  readonly valueFormat: 'percentage' | 'number';
  /** Anchor (without `#`) of the rule's section in docs/operational/soft-delete-runbook.md. */
  readonly runbookAnchor: string;
  readonly panelId: number;
}

const processedInWindow = `sum by (job_type) (increase(${METRICS.workerJobsProcessed}[${FAILURE_RATIO_WINDOW}]))`;
const failuresInWindow = `sum by (job_type) (increase(${METRICS.workerJobFailures}[${FAILURE_RATIO_WINDOW}]))`;
const failureCounter = METRICS.migrationRunFailure;

export const ALERT_RULES: readonly AlertRuleDefinition[] = [
  {
    name: 'CleanupJobFailureRatioHigh',
    uid: 'sdops-cleanup-job-failure-ratio',
    valueExpr: `(${failuresInWindow} / ${processedInWindow}) and on (job_type) (${processedInWindow} >= ${MIN_JOBS_PER_HOUR})`,
    probeExpr: `${failuresInWindow} / ${processedInWindow}`,
    threshold: FAILURE_RATIO_THRESHOLD,
    for: '5m',
    severity: 'warning',
    summary: 'Cleanup jobs of type {{ $labels.job_type }} fail too often',
    description:
      `{{VALUE}} of the {{ $labels.job_type }} cleanup jobs finished in the last hour failed ` +
      `(threshold ${FAILURE_RATIO_THRESHOLD * 100}%). Only evaluated when at least ${MIN_JOBS_PER_HOUR} jobs of ` +
      'that type finished in the hour, so a handful of jobs never pages anyone.',
    valueFormat: 'percentage',
    runbookAnchor: 'alert-cleanupjobfailureratiohigh',
    panelId: PANEL_IDS.jobFailureRatio,
  },
  {
    name: 'CleanupQueueBacklog',
    uid: 'sdops-cleanup-queue-backlog',
    valueExpr: `max by (job_type) (${METRICS.workerQueueLength})`,
    threshold: QUEUE_LENGTH_THRESHOLD,
    for: QUEUE_BACKLOG_FOR,
    severity: 'warning',
    summary: 'Cleanup queue {{ $labels.job_type }} is backing up',
    description:
      `{{VALUE}} {{ $labels.job_type }} cleanup jobs are waiting in the queue; it has been above ` +
      `${QUEUE_LENGTH_THRESHOLD} for more than ${QUEUE_BACKLOG_FOR}. Workers are down, too slow or failing.`,
    valueFormat: 'number',
    runbookAnchor: 'alert-cleanupqueuebacklog',
    panelId: PANEL_IDS.queueLength,
  },
  {
    name: 'MigrationRunFailed',
    uid: 'sdops-migration-run-failed',
    // A failure counter is born at 1 when a run first fails, and increase() needs two samples: the
    // `unless ... offset` branch catches a series that appeared within the window.
    valueExpr:
      `sum by (migration) ((increase(${failureCounter}[${MIGRATION_FAILURE_WINDOW}]) > 0) or ` +
      `(${failureCounter} unless ${failureCounter} offset ${MIGRATION_FAILURE_WINDOW}))`,
    threshold: 0,
    for: '0m',
    severity: 'critical',
    summary: 'A run of migration {{ $labels.migration }} failed',
    description:
      `{{VALUE}} run(s) of migration {{ $labels.migration }} failed in the last ${MIGRATION_FAILURE_WINDOW}. ` +
      'Find the run id in the migration logs, then resume or roll back as the runbook says.',
    valueFormat: 'number',
    runbookAnchor: 'alert-migrationrunfailed',
    panelId: PANEL_IDS.migrationRuns,
  },
];

/** Runbook anchors the rules link to; the runbook test checks each heading exists. */
export const RUNBOOK_ANCHORS: readonly string[] = ALERT_RULES.map((r) => r.runbookAnchor);

/**
 * The rule's runbook section as an absolute URL under `base` (Grafana's external URL, which
 * serves the rendered runbook): the notification's link opens the right section.
 */
export function runbookUrl(rule: AlertRuleDefinition, base: string = GRAFANA_URL_DEFAULT): string {
  return `${base}${RUNBOOK_URL_PATH}#${rule.runbookAnchor}`;
}

/** The rule's dashboard panel as an absolute URL under `base` (Grafana's external URL). */
export function panelUrl(rule: AlertRuleDefinition, base: string = GRAFANA_URL_DEFAULT): string {
  return `${base}/d/${DASHBOARD_UID}/soft-delete-operations?viewPanel=${rule.panelId}`;
}

/**
 * The Prometheus alerting expression: the live value, filtered by the threshold. The parentheses
 * matter: `>` binds tighter than `and`/`or`, so without them the threshold would filter only the
 * last operand (e.g. the job volume instead of the failure ratio).
 */
export function prometheusExpr(rule: AlertRuleDefinition): string {
  return `(${rule.valueExpr}) > ${rule.threshold}`;
}
