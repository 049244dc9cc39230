/**
 * Names the dashboard and the alert rules share: Prometheus metric names as the collector's
 * `prometheus` exporter publishes them (UnderscoreEscapingWithSuffixes: dots -> underscores,
 * `_total` on counters, `_seconds` from unit `s`), data-source UIDs and where links point.
 * test/unit/grafana/catalog.test.ts derives the same names from src/observability/instruments.ts,
 * so a renamed instrument breaks a test instead of silently emptying a panel.
 */

export const METRICS = {
  softDeleteOperations: 'soft_delete_operations_total',
  softDeleteDuration: 'soft_delete_operations_duration_seconds',
  workerJobsProcessed: 'cleanup_worker_jobs_processed_total',
  workerJobFailures: 'cleanup_worker_job_failures_total',
  workerJobDuration: 'cleanup_worker_job_duration_seconds',
  workerQueueWait: 'cleanup_worker_queue_wait_seconds',
  migrationRunSuccess: 'migration_run_success_total',
  migrationRunFailure: 'migration_run_failure_total',
  migrationRowsProcessed: 'migration_rows_processed_total',
  migrationBatchDuration: 'migration_batch_duration_seconds',
  httpServerDuration: 'http_server_request_duration_seconds',
  /** The database's gauges (src/observability/instruments.ts DATABASE_GAUGES), job sdops-database. */
  queueLength: 'cleanup_queue_length',
  queueOldestWait: 'cleanup_queue_oldest_wait_seconds',
  queueDead: 'cleanup_queue_dead',
  queueActive: 'cleanup_queue_active',
  queueOldestActive: 'cleanup_queue_oldest_active_seconds',
  staleRuns: 'migration_runs_stale_seconds',
  lastFailedRun: 'migration_runs_last_failure_timestamp_seconds',
  /** PROCESS_GAUGES: each running sdops serve and worker, under its own job and instance. */
  processUptime: 'process_uptime_seconds',
  /** PROCESS_GAUGES: 1 from a serve's or worker's stop request until it exits; no series before. */
  processStopping: 'sdops_process_stopping',
  /** Span-metrics latency histogram (seconds): SPAN_METRICS.latency, see below. */
  spanDuration: 'traces_spanmetrics_latency',
  /** Span-metrics call counter: SPAN_METRICS.calls. */
  spanCalls: 'traces_spanmetrics_calls_total',
} as const;

/**
 * The span-metrics family: ONE name for every consumer (dashboard, alert rules, the Tempo data
 * source's traces-to-metrics links, docs, tests). It is the family Grafana's Tempo service-graph
 * view (the span table under the node graph) queries: `traces_spanmetrics_calls_total` for rate
 * and errors, `traces_spanmetrics_latency_bucket` for the p90 column, filtered by `span_name`,
 * `span_kind="SPAN_KIND_SERVER"` and `status_code="STATUS_CODE_ERROR"`. The collector's
 * span_metrics connector makes them (namespace `traces.spanmetrics`); its duration histogram is
 * renamed to `traces.spanmetrics.latency` and its unit moved into the description by the
 * transform/spanmetrics_names processor (otel-collector/config.yaml), so the Prometheus exporter
 * neither calls it `duration` nor appends `_seconds`. Values are seconds. Tempo's own generator
 * makes only the service graph (`traces_service_graph_*`), so no series is produced twice.
 */
export const SPAN_METRICS = {
  /** span_metrics connector `namespace` (OTel name prefix before Prometheus translation). */
  namespace: 'traces.spanmetrics',
  /** Counter of spans (calls), labels service_name (and its copy service), span_name, span_kind, status_code + dimensions. */
  calls: METRICS.spanCalls,
  /** Histogram of span durations in seconds: `_bucket`, `_sum`, `_count`. */
  latency: METRICS.spanDuration,
  /** OTel name of the histogram after the collector's rename (before Prometheus translation). */
  latencyOtelName: 'traces.spanmetrics.latency',
  /** OTel name the connector gives it (what the rename matches). */
  durationOtelName: 'traces.spanmetrics.duration',
} as const;

export type MetricId = keyof typeof METRICS;

/** Fixed data-source UIDs: provisioning, dashboard links and alert queries all refer to these. */
export const DATASOURCE_UIDS = { prometheus: 'prometheus', tempo: 'tempo', loki: 'loki' } as const;

export const DASHBOARD_UID = 'soft-delete-ops';
export const DASHBOARD_TITLE = 'Soft Delete Operations';
export const DASHBOARD_FILE = 'soft-delete-operations.json';

/**
 * The one base of every link an alert carries: Grafana's external URL, its root_url (compose sets
 * GF_SERVER_ROOT_URL from SDOPS_GRAFANA_URL). Grafana's provisioned rules read it at evaluation time
 * (the `externalURL` template function, alert-render.ts), so a notification's runbook and dashboard
 * links open wherever Grafana is published. Prometheus's copies of the rules carry
 * GRAFANA_URL_DEFAULT, the compose default (Prometheus does not notify; Grafana does).
 */
export const GRAFANA_URL_ENV = 'SDOPS_GRAFANA_URL';
export const GRAFANA_URL_DEFAULT = 'http://localhost:3000';
/** Kept for callers of the old name: the default base. */
export const GRAFANA_URL = GRAFANA_URL_DEFAULT;

/**
 * Where Grafana serves the runbook (compose mounts grafana/public on Grafana's static folder):
 * the rendered HTML of docs/operational/soft-delete-runbook.md with GitHub-style heading anchors.
 */
export const RUNBOOK_HTML_FILE = 'grafana/public/soft-delete-runbook.html';
export const RUNBOOK_URL_PATH = '/public/sdops/soft-delete-runbook.html';

/** Log streams of every sdops role (service.name = sdops-<role> becomes Loki's service_name label). */
export const LOKI_SERVICE_SELECTOR = '{service_name=~"sdops.*"}';

/** Span names the span-metrics panels look at: the product's own spans, not HTTP or SQL spans. */
export const PRODUCT_SPAN_REGEX = 'soft_delete[.].*|migration[.].*|cleanup[.].*';

export const RUNBOOK_PATH = 'docs/operational/soft-delete-runbook.md';

/**
 * The collectors' own scrape targets (prometheus/prometheus.yml, job `otel-collector`: their :8888
 * telemetry), whose `up` Prometheus writes itself, so it is there when the collector is not.
 */
export const COLLECTOR_UP = 'up{job="otel-collector"}';

/**
 * The targets Prometheus reads the apps' series from (job `otel-collector-exporter`): the one
 * collector of the default layout, every gateway of the two-tier one.
 */
export const APP_METRICS_UP = 'up{job="otel-collector-exporter"}';

/**
 * How long a collector target that left discovery still counts as down. The agents and gateways of
 * the two-tier layout are found by DNS (prometheus.yml): a stopped container's name stops resolving,
 * DNS discovery then drops its target, and its `up` goes stale instead of reading 0.
 */
export const VANISHED_COLLECTOR_WINDOW = '1h';

/**
 * Collector targets that are down: answering no scrape (`up` 0), or gone from discovery within
 * VANISHED_COLLECTOR_WINDOW and not back (named by their DNS name, so one started again is the
 * same series).
 */
const COLLECTOR_TARGETS_DOWN = `(${COLLECTOR_UP} == 0) or (last_over_time(${COLLECTOR_UP}[${VANISHED_COLLECTOR_WINDOW}]) unless ${COLLECTOR_UP})`;

/** How many collectors are down (no series while they all answer). */
export const COLLECTORS_DOWN = `count by (job) (${COLLECTOR_TARGETS_DOWN})`;

/** The collectors' exporters of traces and logs (to Tempo and Loki), from their own telemetry. */
const EXPORTER_IN_FLIGHT = 'otelcol_exporter_in_flight_requests';
const TRACE_AND_LOG_EXPORTS = {
  traces: 'otelcol_exporter_sent_spans',
  logs: 'otelcol_exporter_sent_log_records',
};

/** Collectors per exporter of traces or logs: what the stuck count below is out of. */
export const TRACE_AND_LOG_EXPORTERS = `count by (exporter, data_type) (${EXPORTER_IN_FLIGHT}{data_type=~"traces|logs"})`;

/**
 * Collectors per exporter of traces or logs whose backend (Tempo, Loki) takes nothing: a request of
 * theirs in flight at every scrape of `window` (a batch being retried holds its request through the
 * backoff) and nothing of that kind delivered in it (its sent count did not move). A healthy
 * exporter's request lasts milliseconds, so a busy one is seldom in flight at a scrape, and its sent
 * count moves anyway.
 */
export const stuckExporters = (window: string): string =>
  `count by (exporter, data_type) (${Object.entries(TRACE_AND_LOG_EXPORTS)
    .map(
      ([dataType, sent]) =>
        `(min_over_time(${EXPORTER_IN_FLIGHT}{data_type="${dataType}"}[${window}]) > 0 ` +
        `unless on (instance, exporter) (changes(${sent}[${window}]) > 0))`,
    )
    .join(' or ')})`;

/**
 * The collectors' exporters that queue what they send (Tempo, Loki, the agents' load balancing), by
 * data type: their queue capacity is there from the collector's start, before anything was sent.
 */
export const QUEUED_EXPORTERS = 'count by (exporter, data_type) (otelcol_exporter_queue_capacity)';

/**
 * What an exporter drops, per data type: refused by its backend or out of retries (send_failed), or
 * turned away by its full sending queue (enqueue_failed). The counters are born at the first drop.
 */
const DROP_COUNTERS: Readonly<Record<string, readonly string[]>> = {
  traces: ['otelcol_exporter_send_failed_spans', 'otelcol_exporter_enqueue_failed_spans'],
  logs: ['otelcol_exporter_send_failed_log_records', 'otelcol_exporter_enqueue_failed_log_records'],
  metrics: ['otelcol_exporter_send_failed_metric_points', 'otelcol_exporter_enqueue_failed_metric_points'],
};

/**
 * How much a drop counter rose within `window`: for a series older than it, its value now less its
 * value then (a collector restarted since counts from its restart); for one born inside it (its
 * first drop), its whole value, which a rise between samples would miss.
 */
const droppedIn = (counter: string, window: string): string =>
  `((${counter} - ${counter} offset ${window}) > 0) or (${counter} < ${counter} offset ${window}) ` +
  `or ((${counter} + 0) unless (${counter} offset ${window}))`;

/**
 * Items each collector exporter dropped within `window`, per exporter and data type (`traces`, `logs`,
 * `metrics`). Each counter's rises carry a label of their own until the sum, so that `or` keeps the
 * send and the queue drops of one exporter apart.
 */
export const droppedItems = (window: string): string =>
  `sum by (exporter, data_type) (${Object.entries(DROP_COUNTERS)
    .flatMap(([dataType, counters]) =>
      counters.map(
        (counter) =>
          `label_replace(label_replace(${droppedIn(counter, window)}, "data_type", "${dataType}", "", ""), ` +
          `"dropped_by", "${counter}", "", "")`,
      ),
    )
    .join(' or ')})`;

/**
 * The processes (job, instance) that showed a sign of life within `window`: their
 * process_uptime_seconds moved, or they reported for the first time. A dead or hung process leaves
 * its last value in the scrape, unchanged, for the exporter's metric_expiration (5 minutes), so
 * "present" would be minutes late, and "moved" alone missed a process that reported once and died
 * (a crash loop of processes killed within their second export).
 */
const signOfLife = (window: string): string =>
  `(changes(${METRICS.processUptime}[${window}]) > 0) or ` +
  `(present_over_time(${METRICS.processUptime}[${window}]) unless on (job, instance) (${METRICS.processUptime} offset ${window}))`;

/**
 * Every collector scrape target on the apps' path: the collectors' own telemetry (job
 * `otel-collector`: the one collector, or each agent and gateway) and the apps' series (job
 * `otel-collector-exporter`).
 */
const COLLECTORS_ON_APP_PATH_UP = 'up{job=~"otel-collector|otel-collector-exporter"}';

/**
 * A collector on the apps' path is down (no scrape answered, or gone from discovery): the series of
 * the processes behind it stopped with it, whether or not the processes did.
 */
export const COLLECTOR_ON_APP_PATH_DOWN = `(${COLLECTORS_ON_APP_PATH_UP} == 0) or (${COLLECTOR_TARGETS_DOWN})`;

/** The last moment within `window` (one sample per evaluation) at which a process was live while `collectors` held. */
const lastLiveWhile = (live: string, collectors: string, window: string): string =>
  `max_over_time((((${signOfLife(live)}) and on () (${collectors})) * 0 + time())[${window}:])`;

/**
 * The processes (job, instance) whose last sign of life within `live`, in the last `window`, came
 * while a collector on the apps' path answered no scrape: their series may have stopped with that
 * collector, not with them, and the service alerts spare them. A process seen live again since
 * every collector answered (it died after the outage) is not spared, nor one already down before.
 */
export const lastLiveWhileACollectorWasDown = (live: string, window: string): string => {
  const down = COLLECTOR_ON_APP_PATH_DOWN;
  const whileDown = lastLiveWhile(live, `count(${down})`, window);
  const whileUp = lastLiveWhile(
    live,
    `(min(${COLLECTORS_ON_APP_PATH_UP}) > 0) unless on () (${down})`,
    window,
  );
  return `((${whileDown} > on (job, instance) ${whileUp}) or (${whileDown} unless on (job, instance) ${whileUp}))`;
};

/**
 * When each process (job, instance) seen within `window` ended, estimated from its uptime: its
 * earliest start (the evaluation time less the uptime it reported, lowest while it reported
 * promptly) plus the highest uptime it reported.
 */
const endedAt = (window: string): string =>
  `max by (job, instance) (max_over_time(${METRICS.processUptime}[${window}])) + on (job, instance) ` +
  `min by (job, instance) (min_over_time((time() - ${METRICS.processUptime})[${window}:]))`;

/**
 * When the newest process of each service that is live now (a sign of life within `live`) started:
 * its earliest estimate within `live` (evaluation time less uptime, one per evaluation), as
 * endedAt's. An instant read missed every process for a scrape after a collector restart (its series
 * stale until the process exported again), and each loss they had replaced counted as lost again
 * (probe L); the evaluation time less the last uptime moved later as that sample aged, so during a
 * collector outage a process started before a loss read as started after it, and the loss as
 * replaced (probe D).
 */
const newestLiveStart = (live: string): string =>
  `max by (job) (min by (job, instance) (min_over_time((time() - ${METRICS.processUptime})[${live}:])) ` +
  `and on (job, instance) (${signOfLife(live)}))`;

/**
 * Processes (job, instance) that showed a sign of life within `window`, none within `live`, and
 * never said they were asked to stop (sdops_process_stopping): lost, killed or crashed or their host
 * gone, not stopped. One is no longer counted once a process of its service that started after it
 * ended (less `slackSeconds`, the estimates' error and a surge deploy's overlap) is live: replaced.
 */
export const lostProcesses = (window: string, live: string, slackSeconds: number): string =>
  `max by (job, instance) (${signOfLife(window)}) ` +
  `unless on (job, instance) (${signOfLife(live)}) ` +
  `unless on (job, instance) max_over_time(${METRICS.processStopping}[${window}]) ` +
  `unless on (job, instance) ((${endedAt(window)}) - ${slackSeconds} < on (job) group_left () ${newestLiveStart(live)})`;

/** Processes of each long-running service (Prometheus `job`) that showed a sign of life within `window`. */
export const liveProcesses = (window: string): string => `count by (job) (${signOfLife(window)})`;

/**
 * Processes of each long-running service that showed a sign of life within `window` and have not
 * since `live`, having run less than `lifeSeconds`: ended soon after they started. Each leaves the
 * count `window` after its last sign of life.
 */
export const endedYoungProcesses = (
  window: string,
  live: string,
  lifeSeconds: number,
  spared?: string,
): string =>
  `count by (job) (((${signOfLife(window)}) and on (job, instance) ` +
  `(max_over_time(${METRICS.processUptime}[${window}]) < ${lifeSeconds})) ` +
  `unless on (job, instance) (${signOfLife(live)})${spared === undefined ? '' : ` unless on (job, instance) ${spared}`})`;

/** Processes of each long-running service that reported at all within `window`. */
export const seenProcesses = (window: string): string =>
  `count by (job) (max_over_time(${METRICS.processUptime}[${window}]))`;
