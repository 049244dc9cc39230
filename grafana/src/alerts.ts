import {
  APP_METRICS_UP,
  COLLECTOR_UP,
  COLLECTORS_DOWN,
  DASHBOARD_UID,
  droppedItems,
  endedYoungProcesses,
  liveProcesses,
  lastLiveWhileACollectorWasDown,
  lostProcesses,
  seenProcesses,
  GRAFANA_URL_DEFAULT,
  METRICS,
  QUEUED_EXPORTERS,
  RUNBOOK_URL_PATH,
  stuckExporters,
  TRACE_AND_LOG_EXPORTERS,
  VANISHED_COLLECTOR_WINDOW,
} from './catalog.ts';
import { PANEL_IDS } from './dashboard-panels.ts';
import { ALERT_PARAMS, type AlertParams } from './thresholds.ts';

/**
 * The alert rules, defined once. alert-render.ts turns each into a Prometheus alerting rule
 * (`valueExpr > threshold`) and into a Grafana-managed rule (query A = valueExpr, threshold
 * expression C on A), so both fire on the same series at the same value.
 *
 * Counts in a window are each series' rise over it (`rise` below), summed: no extrapolation, so a
 * run counted by a CLI process that exported once and exited (its series starts with the 0
 * Prometheus writes at the counter's start timestamp) is an exact 1 in every window that holds its
 * step, through a collector restart, and the quoted value is an integer. Each process's series only
 * grows (a restart is a new service.instance.id, so a new series). A rise between the last sample
 * before the window and the first in it counts, as the dashboard's `increase(... anchored)` counts
 * it: with only the samples inside the window (max - min), a 2 m window held the steps of only the
 * last 1m45s. (That alone does not make a short outage page: ApiServerErrorRatioHigh needs about
 * 30 s of failures to pass 5% of 10 minutes, then 3 minutes of pending while 5xx go on; the runbook
 * says which outages page.) Rules do not use `anchored` itself because
 * promtool 3.13 cannot evaluate it in rule unit tests, and a rule no test can run is a guess.
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
  /** How long it keeps firing once valueExpr no longer crosses (Prometheus keep_firing_for). */
  readonly keepFiringFor?: string;
  readonly severity: Severity;
  /** Go templates; `{{ $labels.x }}` works in both Prometheus and Grafana. */
  readonly summary: string;
  /** `{{VALUE}}` is replaced by the rendered live value of the target system. */
  readonly description: string;
  readonly valueFormat: 'percentage' | 'number' | 'duration';
  /** Anchor (without `#`) of the rule's section in docs/operational/soft-delete-runbook.md. */
  readonly runbookAnchor: string;
  readonly panelId: number;
}

/** 300 -> "5m", 3 -> "3s": a threshold in seconds as an operator reads it. */
function durationText(seconds: number): string {
  return seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`;
}

/** "15m" -> 900: a window where PromQL needs it as a number of seconds. */
function windowSeconds(window: string): number {
  const match = /^(\d+)(s|m|h)$/.exec(window);
  if (!match) throw new Error(`window ${window}: expected a whole number of s, m or h`);
  return Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as 's' | 'm' | 'h'];
}

/** Routes that answer without a token (src/api/routes/health.ts). */
const PUBLIC_ROUTES = ['/healthz', '/readyz', '/openapi.json'];

/**
 * How much a counter rose within the window, summed over the series (processes) by `by`: for a
 * series older than the window, its value now less its value at the window's start (`offset`, so
 * a rise between the last sample before the window and the first in it counts, as `anchored` counts
 * it on the dashboard); for one born inside the window (or already stale), its rise between its
 * first and last sample in it. A series whose counter went back within the window (a process that
 * restarted under a pinned service.instance.id) would read negative: it counts from its reset, its
 * value now.
 */
const rise = (metric: string, window: string, by: string) =>
  `sum by (${by}) (((${metric} - ${metric} offset ${window}) >= 0) or (${metric} < ${metric} offset ${window}) or (max_over_time(${metric}[${window}]) - min_over_time(${metric}[${window}])))`;

/**
 * A gauge's last sample up to this old. A collector restart (or a missed scrape) leaves a gap in
 * the queue gauges, and Prometheus marks the series stale at once: with the bare gauge the rule had
 * no value during the gap, and its `for` clock started again afterwards (a backlog alert 10 minutes
 * late for a 2-minute collector restart). Range selectors skip staleness markers, so the last real
 * sample carries the series through any gap shorter than this; a drained queue still reads 0 at once.
 */
const GAUGE_GAP_WINDOW = '5m';
/**
 * Every target the apps' series come from answered no scrape at one moment within `window` (now
 * included): no process's series could move then, so the service alerts hold back (the collector's
 * own alert pages). One collector down of several (a gateway, an agent of the two-tier layout)
 * does not hold them back fleet-wide: a probe saw a firing one resolve during a gateway outage while
 * every worker was down. It spares only the processes last seen live while it answered none
 * (lastLiveWhileACollectorWasDown).
 */
const appSeriesBlindWithin = (window: string) => `(min_over_time(max(${APP_METRICS_UP})[${window}:]) == 0)`;
const lastReading = (metric: string) => `last_over_time(${metric}[${GAUGE_GAP_WINDOW}])`;

/** The rules for a set of thresholds and windows: ALERT_PARAMS in production. */
export function alertRules(p: AlertParams = ALERT_PARAMS): AlertRuleDefinition[] {
  const processed = rise(METRICS.workerJobsProcessed, p.failureRatioWindow, 'job_type');
  const failures = rise(METRICS.workerJobFailures, p.failureRatioWindow, 'job_type');
  const started = rise(`${METRICS.workerQueueWait}_count`, p.queueStalledWindow, 'job_type');
  const oldestWait = `max by (job_type) (${lastReading(METRICS.queueOldestWait)})`;
  const staleMinutes = durationText(p.migrationStaleSeconds);
  // The counter's one export, at the exit of the process that ran the session, is lost if the
  // collector restarts before Prometheus scrapes it; the runs table, read at every export of every
  // serve and worker, still shows a run now failed that ended within the window: it counts 1 then.
  const failedRuns = rise(METRICS.migrationRunFailure, p.migrationFailureWindow, 'migration');
  const failedInTable = `((time() - (max by (migration) (${lastReading(METRICS.lastFailedRun)}) > 0)) < ${windowSeconds(p.migrationFailureWindow)}) * 0 + 1`;
  const httpRequests = `${METRICS.httpServerDuration}_count`;
  const requests = rise(httpRequests, p.apiErrorRatioWindow, 'job');
  // No 5xx series in the window (the usual case): 0 errors, so the value is 0%, not absent.
  const serverErrors = `(${rise(`${httpRequests}{http_response_status_code=~"5.."}`, p.apiErrorRatioWindow, 'job')} or (${requests} * 0))`;
  // Requests to routes that need a token: the probes' public routes would dilute a wall of 401s,
  // and requests no route matched (no http_route: a scanner's 404s) would make up the volume.
  const tokenRequests = rise(
    `${httpRequests}{http_route!="", http_route!~"${PUBLIC_ROUTES.join('|')}"}`,
    p.apiAuthRefusalWindow,
    'job',
  );
  const refused = `(${rise(`${httpRequests}{http_response_status_code=~"401|403"}`, p.apiAuthRefusalWindow, 'job')} or (${tokenRequests} * 0))`;
  // Answers of that kind within the last stretch (thresholds.ts, API_RECENT_WINDOW): still happening.
  const recent = (statuses: string) =>
    `(${rise(`${httpRequests}{http_response_status_code=~"${statuses}"}`, p.apiRecentWindow, 'job')} > 0)`;
  return [
    {
      name: 'CleanupJobFailureRatioHigh',
      uid: 'sdops-cleanup-job-failure-ratio',
      valueExpr: `(${failures} / ${processed}) and on (job_type) (${processed} >= ${p.minJobsPerWindow})`,
      probeExpr: `${failures} / ${processed}`,
      threshold: p.failureRatioThreshold,
      for: p.failureRatioFor,
      severity: 'warning',
      summary: 'Cleanup jobs of type {{ $labels.job_type }} fail too often',
      description:
        `{{VALUE}} of the {{ $labels.job_type }} cleanup job attempts finished in the last ${p.failureRatioWindow} failed ` +
        `(threshold ${p.failureRatioThreshold * 100}%; a job retried until it succeeds counts each failed attempt). ` +
        `Only evaluated when at least ${p.minJobsPerWindow} attempts of that type finished in that window, so a ` +
        `handful of jobs never pages anyone.`,
      valueFormat: 'percentage',
      runbookAnchor: 'alert-cleanupjobfailureratiohigh',
      panelId: PANEL_IDS.jobFailureRatio,
    },
    {
      name: 'CleanupQueueBacklog',
      uid: 'sdops-cleanup-queue-backlog',
      valueExpr: `max by (job_type) (${lastReading(METRICS.queueLength)})`,
      threshold: p.queueLengthThreshold,
      for: p.queueBacklogFor,
      severity: 'warning',
      summary: 'Cleanup queue {{ $labels.job_type }} is backing up',
      description:
        `{{VALUE}} {{ $labels.job_type }} cleanup jobs are waiting in the queue (read from the database); ` +
        `it has been above ${p.queueLengthThreshold} for more than ${p.queueBacklogFor}. ` +
        'Workers are down, too slow, too few or failing.',
      valueFormat: 'number',
      runbookAnchor: 'alert-cleanupqueuebacklog',
      panelId: PANEL_IDS.queueLength,
    },
    {
      name: 'CleanupQueueStalled',
      uid: 'sdops-cleanup-queue-stalled',
      // The oldest job has waited that long, and no worker started any job of its type meanwhile
      // (`unless` also keeps the series when no worker has ever reported: nothing started).
      valueExpr: `${oldestWait} unless on (job_type) (${started} > 0)`,
      probeExpr: oldestWait,
      threshold: p.queueStalledSeconds,
      for: '0m',
      severity: 'critical',
      summary: 'Cleanup jobs of type {{ $labels.job_type }} are waiting and no worker takes them',
      description:
        `A {{ $labels.job_type }} cleanup job has waited {{VALUE}} for a worker and no worker has started a ` +
        `{{ $labels.job_type }} job in the last ${p.queueStalledWindow}: no worker is running for this type, ` +
        'or every worker is stuck.',
      valueFormat: 'duration',
      runbookAnchor: 'alert-cleanupqueuestalled',
      panelId: PANEL_IDS.queueOldestWait,
    },
    {
      name: 'CleanupJobsDead',
      uid: 'sdops-cleanup-jobs-dead',
      valueExpr: `max by (job_type) (${lastReading(METRICS.queueDead)})`,
      threshold: 0,
      for: '0m',
      severity: 'warning',
      summary: 'Cleanup jobs of type {{ $labels.job_type }} ran out of retries',
      description:
        '{{VALUE}} {{ $labels.job_type }} cleanup job(s) failed every attempt and wait in the dead-letter queue ' +
        '(read from the database). Nothing runs them again by itself: fix the cause, then retry them ' +
        '(`sdops queue retry --dead`) or cancel them. Fires for a single job, whatever the volume.',
      valueFormat: 'number',
      runbookAnchor: 'alert-cleanupjobsdead',
      panelId: PANEL_IDS.deadJobs,
    },
    {
      name: 'MigrationRunFailed',
      uid: 'sdops-migration-run-failed',
      valueExpr: `(${failedRuns} > 0) or (${failedInTable})`,
      probeExpr: failedRuns,
      threshold: 0,
      for: '0m',
      severity: 'critical',
      summary: 'A run of migration {{ $labels.migration }} failed',
      description:
        `{{VALUE}} run(s) of migration {{ $labels.migration }} failed in the last ${p.migrationFailureWindow} ` +
        '(1 when only the runs table shows it: a collector restart lost the count). ' +
        'Find the run id with `sdops migrate list --state failed` / `--state partially_failed` (a run a database outage ended may show `--state running`, owner stale; a run already retried or resumed since shows its new state: the alert holds for its whole window, unless only the runs table showed it), then follow the runbook.',
      valueFormat: 'number',
      runbookAnchor: 'alert-migrationrunfailed',
      panelId: PANEL_IDS.migrationRuns,
    },
    {
      name: 'MigrationRunStale',
      uid: 'sdops-migration-run-stale',
      valueExpr: `max by (migration) (${lastReading(METRICS.staleRuns)})`,
      threshold: p.migrationStaleSeconds,
      for: '0m',
      severity: 'warning',
      summary: `A run of migration {{ $labels.migration }} has had no live owner for more than ${staleMinutes}`,
      description:
        `The lease of a running or stopping run of migration {{ $labels.migration }} expired {{VALUE}} ago ` +
        `(alert after ${staleMinutes}): the process that ran it died or hangs, and nothing moves the run on ` +
        'until someone resumes or stops it.',
      valueFormat: 'duration',
      runbookAnchor: 'alert-migrationrunstale',
      panelId: PANEL_IDS.staleRuns,
    },
    {
      name: 'ApiServerErrorRatioHigh',
      uid: 'sdops-api-server-error-ratio',
      valueExpr: `(${serverErrors} / ${requests}) and on (job) (${requests} >= ${p.minApiRequestsPerWindow}) and on (job) ${recent('5..')}`,
      probeExpr: `${serverErrors} / ${requests}`,
      threshold: p.apiErrorRatioThreshold,
      for: p.apiErrorRatioFor,
      // Critical: every 5xx is a request a client saw fail now (a bulk delete may be half done),
      // and nothing retries it for them.
      severity: 'critical',
      summary: 'The API {{ $labels.job }} answers too many requests with a server error (5xx)',
      description:
        `{{VALUE}} of the requests {{ $labels.job }} answered in the last ${p.apiErrorRatioWindow} were 5xx ` +
        `(threshold ${p.apiErrorRatioThreshold * 100}%), and 5xx answers go on (one in the last ${p.apiRecentWindow}). ` +
        `Only evaluated when at least ${p.minApiRequestsPerWindow} requests came in that window. 503 unavailable: the database is unreachable; 500 internal_error: ` +
        'the warn access line of each request names the error.',
      valueFormat: 'percentage',
      runbookAnchor: 'alert-apiservererrorratiohigh',
      panelId: PANEL_IDS.apiRequests,
    },
    {
      name: 'ApiAuthRefusalRatioHigh',
      uid: 'sdops-api-auth-refusal-ratio',
      valueExpr: `(${refused} / ${tokenRequests}) and on (job) (${tokenRequests} >= ${p.minApiRequestsPerWindow}) and on (job) ${recent('401|403')}`,
      probeExpr: `${refused} / ${tokenRequests}`,
      threshold: p.apiAuthRefusalRatioThreshold,
      for: p.apiAuthRefusalFor,
      // Warning: the server is fine and the clients see every 401 themselves; but their deletes do
      // not happen until someone fixes the token, and no one else will notice.
      severity: 'warning',
      summary: 'The API {{ $labels.job }} refuses most requests for their token (401/403)',
      description:
        `{{VALUE}} of the requests to token routes {{ $labels.job }} answered in the last ${p.apiAuthRefusalWindow} ` +
        `were 401 or 403 (threshold ${p.apiAuthRefusalRatioThreshold * 100}%), and refusals go on (one in the last ` +
        `${p.apiRecentWindow}). Only evaluated when at least ` +
        `${p.minApiRequestsPerWindow} such requests came in that window. 401: a missing, unknown or rotated ` +
        'token; 403: a read token on a route that needs admin.',
      valueFormat: 'percentage',
      runbookAnchor: 'alert-apiauthrefusalratiohigh',
      panelId: PANEL_IDS.apiRequests,
    },
    {
      name: 'ServiceDown',
      uid: 'sdops-service-down',
      // With every collector of the apps' series down, every series starves: that is
      // TelemetryCollectorDown's page, not one per service (appSeriesBlindWithin). Held back for the
      // live window after it answers again: the first scrape then has one sample of each process, no
      // move yet, and the alert blinked pending.
      // A process last seen live while a collector on its path answered no scrape may be routed
      // through that one: its service is not counted down for it (lastLiveWhileACollectorWasDown).
      valueExpr:
        `(${seenProcesses(p.serviceSeenWindow)} unless on (job) ${liveProcesses(p.serviceLiveWindow)}) ` +
        `unless on () ${appSeriesBlindWithin(p.serviceLiveWindow)} ` +
        `unless on (job) ${lastLiveWhileACollectorWasDown(p.serviceLiveWindow, p.serviceCollectorOutageHold)}`,
      probeExpr: seenProcesses(p.serviceSeenWindow),
      threshold: 0,
      for: p.serviceDownFor,
      keepFiringFor: p.serviceKeepFiringFor,
      // Critical: with no sdops-api every client request fails; with no sdops-worker nothing cleans
      // up, and with neither, nothing reads the queue gauges, so the queue alerts go quiet too.
      severity: 'critical',
      summary: 'No {{ $labels.job }} process is running',
      description:
        `{{VALUE}} {{ $labels.job }} process(es) reported in the last ${p.serviceSeenWindow}, and none has shown a sign of life ` +
        `(process_uptime_seconds moving, or a new process reporting) for ${p.serviceLiveWindow}: killed, crashed, hung, or stopped and not started again. ` +
        'sdops-api down: every client request fails. sdops-worker down: cleanup jobs wait. Both down: nothing reads the ' +
        `queue gauges either, so the queue alerts go quiet. Stopped on purpose: silence it; it resolves ${p.serviceSeenWindow} after the last report, plus the 5 minutes the collector repeats it. Started again: it resolves ${p.serviceKeepFiringFor} after the first report (a collector restart meanwhile does not resolve it).`,
      valueFormat: 'number',
      runbookAnchor: 'alert-servicedown',
      panelId: PANEL_IDS.liveProcesses,
    },
    {
      name: 'ServiceCrashLooping',
      uid: 'sdops-service-crash-looping',
      valueExpr: `(${endedYoungProcesses(p.serviceCrashWindow, p.serviceLiveWindow, p.serviceShortLifeSeconds, lastLiveWhileACollectorWasDown(p.serviceLiveWindow, p.serviceCollectorOutageHold))}) unless on () ${appSeriesBlindWithin(p.serviceLiveWindow)}`,
      probeExpr: seenProcesses(p.serviceSeenWindow),
      threshold: p.serviceCrashes,
      for: p.serviceCrashLoopFor,
      keepFiringFor: p.serviceKeepFiringFor,
      // Warning: a process of the service is up most of the time; ServiceDown pages once none is.
      severity: 'warning',
      summary: '{{ $labels.job }} processes keep ending soon after they start',
      description:
        `{{VALUE}} {{ $labels.job }} processes ended in the last ${p.serviceCrashWindow}, each less than ${durationText(p.serviceShortLifeSeconds)} after it started: ` +
        'a crash loop (a supervisor starting again a process that exits or is killed again). Requests fail or hang while ' +
        'each one starts, and cleanup jobs are cut off and retried. Their last console lines say why they end.',
      valueFormat: 'number',
      runbookAnchor: 'alert-servicecrashlooping',
      panelId: PANEL_IDS.liveProcesses,
    },
    {
      name: 'ServiceProcessLost',
      uid: 'sdops-service-process-lost',
      // One process of several gone (killed, crashed, its host lost) while others run: requests
      // still get answers, so no ServiceDown, yet capacity is down and clients of that host saw
      // refused connections (probe B). A process asked to stop says so first (sdops.process.stopping),
      // so deploys and scale-downs stay quiet; a replacement started after the loss resolves it.
      valueExpr:
        `(count by (job) (${lostProcesses(p.serviceSeenWindow, p.serviceLiveWindow, p.serviceReplacementSlackSeconds)} ` +
        `unless on (job, instance) ${lastLiveWhileACollectorWasDown(p.serviceLiveWindow, p.serviceCollectorOutageHold)}) ` +
        `and on (job) ${liveProcesses(p.serviceLiveWindow)}) ` +
        `unless on () ${appSeriesBlindWithin(p.serviceLiveWindow)}`,
      probeExpr: seenProcesses(p.serviceSeenWindow),
      threshold: 0,
      for: p.serviceDownFor,
      keepFiringFor: p.serviceKeepFiringFor,
      // Warning: the service still answers; ServiceDown pages once none is left.
      severity: 'warning',
      summary: 'A {{ $labels.job }} process was lost, not stopped, and nothing replaced it',
      description:
        `{{VALUE}} {{ $labels.job }} process(es) stopped showing a sign of life ${p.serviceLiveWindow} ago or more without having been asked to stop: ` +
        'killed (SIGKILL, the out-of-memory killer), crashed, or their host is gone. Other processes of the service still run, so it answers, ' +
        'but with less capacity, and clients sent to the lost one (its host, its load-balancer target) were refused. ' +
        `It resolves once a process of the service started after the loss runs, or ${p.serviceSeenWindow} after the loss.`,
      valueFormat: 'number',
      runbookAnchor: 'alert-serviceprocesslost',
      panelId: PANEL_IDS.liveProcesses,
    },
    {
      name: 'TelemetryCollectorDown',
      uid: 'sdops-telemetry-collector-down',
      valueExpr: COLLECTORS_DOWN,
      probeExpr: `count by (job) (${COLLECTOR_UP})`,
      threshold: 0,
      for: p.collectorDownFor,
      // Critical: while it is down the services' telemetry is dropped and every other alert is blind.
      severity: 'critical',
      summary:
        'The OpenTelemetry Collector does not answer: telemetry is lost and the other alerts are blind',
      description:
        `{{VALUE}} target(s) of {{ $labels.job }} (the collector, or an agent or gateway of the two-tier layout) ` +
        `answered no scrape for more than ${p.collectorDownFor}, or left DNS discovery within ${VANISHED_COLLECTOR_WINDOW} (a stopped agent or gateway of compose). Meanwhile the services drop their metrics, traces and logs ` +
        '(they keep working: deletes, jobs and migrations never wait for telemetry), the dashboard shows ' +
        'no data, and the other alerts cannot fire. The database still tells the truth: `sdops queue status`, ' +
        '`sdops migrate list`.',
      valueFormat: 'number',
      runbookAnchor: 'alert-telemetrycollectordown',
      panelId: PANEL_IDS.collectorsDown,
    },
    {
      name: 'TelemetryBackendDown',
      uid: 'sdops-telemetry-backend-down',
      valueExpr: stuckExporters(p.backendStuckWindow),
      probeExpr: TRACE_AND_LOG_EXPORTERS,
      threshold: 0,
      for: p.backendDownFor,
      // Warning: the product and the metrics (dashboard, alerts) are untouched; traces and logs are
      // held for 10 minutes per batch, then dropped.
      severity: 'warning',
      summary:
        'The collector cannot deliver {{ $labels.data_type }} through {{ $labels.exporter }} (Tempo or Loki down)',
      description:
        `{{VALUE}} collector(s) have been retrying {{ $labels.data_type }} through {{ $labels.exporter }}, delivering none, ` +
        `for ${p.backendStuckWindow} and then ${p.backendDownFor} more: ` +
        'its backend (Tempo for traces, Loki for logs) is down or refuses them. The collector retries each batch for 10 minutes ' +
        'in a bounded queue, and drops batches past that or once the queue is full: the trace and log links of the dashboard ' +
        'lead nowhere for that time. Metrics, the dashboard and the other alerts are not affected, nor is the product.',
      valueFormat: 'number',
      runbookAnchor: 'alert-telemetrybackenddown',
      panelId: PANEL_IDS.collectorsDown,
    },
    {
      name: 'TelemetryDataDropped',
      uid: 'sdops-telemetry-data-dropped',
      valueExpr: droppedItems(p.droppedWindow),
      probeExpr: QUEUED_EXPORTERS,
      threshold: 0,
      for: p.droppedFor,
      // Warning: what is lost is telemetry (traces, logs, or metric points on their way to a
      // gateway), never the product's data; and it is lost already.
      severity: 'warning',
      summary: 'The collector dropped {{ $labels.data_type }} at its exporter {{ $labels.exporter }}',
      description:
        `{{VALUE}} item(s) of {{ $labels.data_type }} (spans, log records or metric points) dropped by the collector's ` +
        `{{ $labels.exporter }} exporter in the last ${p.droppedWindow}: its backend refused them (an HTTP 4xx: a limit of ` +
        "Loki's or Tempo's, a malformed batch), they ran out of their 10 minutes of retries, or the exporter's sending queue " +
        'was full. They are gone: the traces or log lines of that time are missing (or, between collectors, metric points). ' +
        'The product and its data are not affected.',
      valueFormat: 'number',
      runbookAnchor: 'alert-telemetrydatadropped',
      panelId: PANEL_IDS.collectorsDown,
    },
  ];
}

export const ALERT_RULES: readonly AlertRuleDefinition[] = alertRules();

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
 * matter: `>` binds tighter than `and`/`or`/`unless`, so without them the threshold would filter only
 * the last operand (e.g. the job volume instead of the failure ratio).
 */
export function prometheusExpr(rule: AlertRuleDefinition): string {
  return `(${rule.valueExpr}) > ${rule.threshold}`;
}
