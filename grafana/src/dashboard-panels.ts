import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type { Panel } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as HeatmapPanel } from '@grafana/grafana-foundation-sdk/heatmap';
import {
  COLLECTOR_ON_APP_PATH_DOWN,
  COLLECTOR_UP,
  COLLECTORS_DOWN,
  liveProcesses,
  METRICS,
  PRODUCT_SPAN_REGEX,
  seenProcesses,
  droppedItems,
  QUEUED_EXPORTERS,
  stuckExporters,
  TRACE_AND_LOG_EXPORTERS,
} from './catalog.ts';
import {
  API_AUTH_REFUSAL_FOR,
  API_AUTH_REFUSAL_RATIO_THRESHOLD,
  API_AUTH_REFUSAL_WINDOW,
  API_ERROR_RATIO_FOR,
  API_ERROR_RATIO_THRESHOLD,
  API_ERROR_RATIO_WINDOW,
  API_RECENT_WINDOW,
  BACKEND_DOWN_FOR,
  DROPPED_WINDOW,
  BACKEND_STUCK_WINDOW,
  COLLECTOR_DOWN_FOR,
  MIN_API_REQUESTS_PER_WINDOW,
  SERVICE_DOWN_FOR,
  SERVICE_LIVE_WINDOW,
  SERVICE_SEEN_WINDOW,
} from './thresholds.ts';
import {
  PROMETHEUS,
  promTarget,
  thresholds,
  THRESHOLD_LINES,
  ENTITY,
  RATE,
  at,
  type GridPos,
  quantile,
  timeseries,
} from './panels.ts';

/** Stable panel ids: alert rules link to `viewPanel=<id>`, so these never change meaning. */
export const PANEL_IDS = {
  throughput: 1,
  errorRate: 2,
  durationHeatmap: 3,
  durationQuantiles: 4,
  spanLatency: 5,
  queueLength: 6,
  jobsProcessed: 7,
  jobFailureRatio: 8,
  jobDurations: 9,
  migrationRuns: 10,
  migrationRowsRate: 11,
  migrationBatchDuration: 12,
  migrationProgress: 13,
  runLogs: 14,
  runTraces: 15,
  queueOldestWait: 16,
  staleRuns: 17,
  deadJobs: 18,
  apiRequests: 19,
  apiLatency: 20,
  collectorsDown: 21,
  liveProcesses: 22,
} as const;

/** Requests the API answered, as the HTTP server histogram counts them (one observation each). */
const HTTP_REQUESTS = `${METRICS.httpServerDuration}_count`;

/** The API row: what clients got back, by status class, and the errors by route. */
export function apiPanels(y: number): cog.Builder<Panel>[] {
  const answered = `${HTTP_REQUESTS}{http_response_status_code!=""}`;
  // 204 -> 2xx, one fixed replacement per class: a `$1` in a query is a Grafana variable to Grafana.
  const byClass = ['2', '3', '4', '5'].reduce(
    (expr, c) => `label_replace(${expr}, "status_class", "${c}xx", "http_response_status_code", "${c}..")`,
    `rate(${answered}${RATE})`,
  );
  const errors = `${HTTP_REQUESTS}{http_response_status_code=~"4..|5.."}`;
  return [
    timeseries(
      PANEL_IDS.apiRequests,
      'API requests by status class',
      `Requests per second the API answered, by status class (2xx, 3xx, 4xx, 5xx), and its 4xx and 5xx answers by status code and route (route empty: no route matched). Source: ${HTTP_REQUESTS} (labels http_response_status_code, http_route); a request the client abandoned before the answer has no status code and is left out, and so are the answers of the last 10 s of a process killed with SIGKILL (its last export never went). The ApiServerErrorRatioHigh alert fires when 5xx answers are more than ${API_ERROR_RATIO_THRESHOLD * 100}% of the requests over ${API_ERROR_RATIO_WINDOW} (evaluated only with at least ${MIN_API_REQUESTS_PER_WINDOW} requests in that window) for ${API_ERROR_RATIO_FOR}, while 5xx answers go on (one in the last ${API_RECENT_WINDOW}: a burst that is over does not page): 503 is the database unreachable, 500 an error the log line of the request names. A wall of 401 or 403 is a token the clients send that the API does not accept: ApiAuthRefusalRatioHigh fires when they are more than ${API_AUTH_REFUSAL_RATIO_THRESHOLD * 100}% of the requests to token routes (probes left out) over ${API_AUTH_REFUSAL_WINDOW} for ${API_AUTH_REFUSAL_FOR}, while refusals go on: a wall that starts now crosses the ratio once it makes half that window's requests (after about 2.5 minutes when every request is refused, later with good traffic beside it), so it pages about 5.5 minutes or more after it starts.`,
      'reqps',
      at(0, y, 10, 8),
    )
      .thresholds(thresholds('green'))
      .min(0)
      .withTarget(promTarget('A', { expr: `sum by (status_class) (${byClass})`, legend: '{{status_class}}' }))
      .withTarget(
        promTarget('B', {
          expr: `sum by (http_response_status_code, http_route) (rate(${errors}${RATE}))`,
          legend: '{{http_response_status_code}} {{http_route}}',
        }),
      ),
    spanLatencyPanel(
      PANEL_IDS.apiLatency,
      'API request latency p95 with exemplars',
      `p95 duration of the API's requests by route (the HTTP server spans, named "{method} {route}", from the collector span-metrics connector), read inside its bucket. The dots are exemplars: click one to open that request's trace in Tempo (its server span, the operation under it and its statements), and from there its access line in Loki. Each latency bucket of a route shows at most one dot per 15 s (Prometheus keeps one exemplar per bucket per scrape), so a slow request, in a bucket of its own, usually has one, and of many fast ones only one does; a slow request sharing its bucket may have none: Tempo finds it with TraceQL { span.http.route = "/v1/:entity/:id" && duration > 1s }. Orange from 1 s, red from 5 s.`,
      at(10, y, 10, 8),
      'span_kind="SPAN_KIND_SERVER", service_name=~"sdops.*"',
    ),
    timeseries(
      PANEL_IDS.collectorsDown,
      'Telemetry collectors down, exports stuck or dropped',
      `"not answering": collectors (the one collector, or the agents and gateways of the two-tier layout) that answered no Prometheus scrape, 0 while all answer. Above 0 the services' telemetry is being dropped, every other panel shows a gap and the other alerts are blind; the TelemetryCollectorDown alert fires once it lasts ${COLLECTOR_DOWN_FOR}. The product keeps working meanwhile, and the database tells its state (sdops queue status, sdops migrate list). Source: up{job="otel-collector"}, written by Prometheus itself. "stuck", per exporter of traces (to Tempo) or logs (to Loki): collectors that have been retrying a batch through it at every scrape of the last ${BACKEND_STUCK_WINDOW} and delivered nothing, 0 while they deliver: that backend is down or refuses the data, and the trace and log links lead nowhere for that time. The collector drops each batch after 10 minutes of retries; the TelemetryBackendDown alert fires once it lasts ${BACKEND_DOWN_FOR} more. Source: otelcol_exporter_in_flight_requests and otelcol_exporter_sent_spans / otelcol_exporter_sent_log_records, the collectors' own metrics. "dropped", per exporter and data type: spans, log records or metric points the collectors dropped in the last ${DROPPED_WINDOW} (refused by the backend, out of retries, or a full sending queue), 0 while nothing is lost; the TelemetryDataDropped alert fires for any. Source: otelcol_exporter_send_failed_* and otelcol_exporter_enqueue_failed_*. Red from 1.`,
      'short',
      at(20, y, 4, 4),
    )
      .thresholds(thresholds('green', [1, 'red']))
      .thresholdsStyle(THRESHOLD_LINES)
      .min(0)
      .withTarget(
        promTarget('A', {
          expr: `${COLLECTORS_DOWN} or (count by (job) (${COLLECTOR_UP}) * 0)`,
          legend: 'not answering',
        }),
      )
      .withTarget(
        promTarget('B', {
          expr: `${stuckExporters(BACKEND_STUCK_WINDOW)} or (${TRACE_AND_LOG_EXPORTERS} * 0)`,
          legend: '{{exporter}} {{data_type}} stuck',
        }),
      )
      .withTarget(
        promTarget('C', {
          expr: `${droppedItems(DROPPED_WINDOW)} or (${QUEUED_EXPORTERS} * 0)`,
          legend: '{{exporter}} {{data_type}} dropped',
        }),
      ),
    timeseries(
      PANEL_IDS.liveProcesses,
      'Live sdops processes by service',
      `Running sdops serve (sdops-api) and sdops worker (sdops-worker) processes, per service: those whose process_uptime_seconds moved, or that reported for the first time, in the last ${SERVICE_LIVE_WINDOW} (a killed, crashed or hung process leaves its last value in the scrape, unchanged, for 5 minutes). 0 is a service that reported in the last ${SERVICE_SEEN_WINDOW} and has no live process now: the ServiceDown alert fires once that lasts ${SERVICE_DOWN_FOR}. A line above the service's process count time and again is a crash loop (an ended process counts for ${SERVICE_LIVE_WINDOW} beside its replacement; ServiceCrashLooping). A count that dropped while the service still runs is a process stopped, or lost if it ended without being asked to stop (ServiceProcessLost). A service never deployed has no line, and a service with no live process has a gap instead of 0 while a collector is down (its processes' series stopped with the collector: ServiceDown holds back, TelemetryCollectorDown pages). Red at 0.`,
      'short',
      at(20, y + 4, 4, 4),
    )
      .thresholds(thresholds('red', [1, 'green']))
      .thresholdsStyle(THRESHOLD_LINES)
      .min(0)
      .withTarget(
        promTarget('A', {
          // No 0 while a collector is down: the processes' series stopped with it, not they.
          expr: `${liveProcesses(SERVICE_LIVE_WINDOW)} or ((${seenProcesses(SERVICE_SEEN_WINDOW)} * 0) unless on () (${COLLECTOR_ON_APP_PATH_DOWN}))`,
          legend: '{{job}}',
        }),
      ),
  ];
}

export function operationPanels(y: number): cog.Builder<Panel>[] {
  const calls = `${METRICS.softDeleteDuration}_count`;
  const failing = `sum by (entity) (rate(${calls}{${ENTITY},status="failure"}${RATE}))`;
  const all = `sum by (entity) (rate(${calls}{${ENTITY}}${RATE}))`;
  // Every entity has row counters (long-running processes start them at 0): its 0% when idle.
  const idle = `sum by (entity) (rate(${METRICS.softDeleteOperations}{${ENTITY}}${RATE}))`;
  const buckets = `${METRICS.softDeleteDuration}_bucket{${ENTITY}}`;
  return [
    timeseries(
      PANEL_IDS.throughput,
      'Operation throughput by entity and status',
      'Rows per second that soft-delete calls (delete, restore, purge, archive: API requests, CLI commands, cleanup jobs) dealt with, per entity and outcome: success = rows changed, noop = rows already in the requested state, failure = rows not found, or refused one by one (a single-row call; a batch a database rule refuses rolls back whole and counts none of its rows: the error-rate panel shows it as a failed call). All operations of an entity add up on one line per outcome (split them in Explore by `operation`). Migrations are not here: their rows are on the migration panels. Short of what a command that ended while the collector was down, or within the 15 s before the collector stopped (Prometheus had not read it yet), counted (its one export at exit was lost), and of the last 10 s of a process killed with SIGKILL. Source: soft_delete_operations_total.',
      'suffix: rows/s',
      at(0, y, 12, 8),
    )
      .thresholds(thresholds('green'))
      .withTarget(
        promTarget('A', {
          expr: `sum by (entity, status) (rate(${METRICS.softDeleteOperations}{${ENTITY}}${RATE}))`,
          legend: '{{entity}} {{status}}',
        }),
      ),
    timeseries(
      PANEL_IDS.errorRate,
      'Operation error rate by entity',
      'Share of soft-delete operation calls whose overall outcome was failure, per entity (failed calls / all calls, from the duration histogram counts). A failure is also a caller asking for a row that does not exist or is in the way (an API 404 not_found or 409): no fault of the service, and with few calls one such request is a high share. Read it beside API requests by status class (5xx) and the error alerts. Entities with no failures, or no calls, show 0%. Orange from 1%, red from 5%.',
      'percentunit',
      at(12, y, 12, 8),
    )
      .thresholds(thresholds('green', [0.01, 'orange'], [0.05, 'red']))
      .thresholdsStyle(THRESHOLD_LINES)
      .min(0)
      .withTarget(
        promTarget('A', { expr: `(${failing} / (${all} > 0)) or (${idle} * 0)`, legend: '{{entity}}' }),
      ),
    new HeatmapPanel()
      .id(PANEL_IDS.durationHeatmap)
      .title('Operation duration distribution')
      .description(
        'Heatmap of soft-delete operation call durations (soft_delete_operations_duration_seconds buckets), all operations of the selected entities. Darker cells = more calls in that duration bucket.',
      )
      .unit('s')
      .thresholds(thresholds('green'))
      .datasource(PROMETHEUS)
      .gridPos(at(0, y + 8, 12, 8))
      .calculate(false)
      .withTarget(
        promTarget('A', {
          expr: `sum by (le) (rate(${buckets}${RATE}))`,
          legend: '{{le}}',
          heatmap: true,
        }),
      ),
    timeseries(
      PANEL_IDS.durationQuantiles,
      'Operation duration p50 / p95 / p99',
      'Quantiles of soft-delete operation call duration, estimated from the histogram buckets (accuracy is limited by bucket width). Orange from 1 s, red from 5 s at p99.',
      's',
      at(12, y + 8, 12, 8),
    )
      .thresholds(thresholds('green', [1, 'orange'], [5, 'red']))
      .thresholdsStyle(THRESHOLD_LINES)
      .withTarget(promTarget('A', { expr: quantile(0.5, buckets, 'le'), legend: 'p50' }))
      .withTarget(promTarget('B', { expr: quantile(0.95, buckets, 'le'), legend: 'p95' }))
      .withTarget(promTarget('C', { expr: quantile(0.99, buckets, 'le'), legend: 'p99' })),
    spanLatencyPanel(
      PANEL_IDS.spanLatency,
      'Span latency p95 with exemplars',
      'p95 duration of the product spans (soft_delete.*, migration.*, cleanup.*) from the collector span-metrics connector, by span name, read inside its bucket (up to 60 s finely; then 5, 15, 30 and 60 min, so a 20-minute migration.run session reads between 15 and 30 min; past 1 h it reads 1 h). The dots are exemplars: click one to open that exact trace in Tempo (at most one per latency bucket of a span name per 15 s: Prometheus keeps one exemplar per bucket per scrape). Orange from 1 s, red from 5 s.',
      at(0, y + 16, 24, 8),
      `span_name=~"${PRODUCT_SPAN_REGEX}"`,
    ),
  ];
}

/** p95 of the spans `selector` picks, by span name, with their exemplars (each a trace to open). */
function spanLatencyPanel(id: number, title: string, description: string, pos: GridPos, selector: string) {
  return timeseries(id, title, description, 's', pos)
    .thresholds(thresholds('green', [1, 'orange'], [5, 'red']))
    .thresholdsStyle(THRESHOLD_LINES)
    .withTarget(
      promTarget('A', {
        expr: quantile(0.95, `${METRICS.spanDuration}_bucket{${selector}}`, 'le, span_name'),
        legend: '{{span_name}}',
        exemplar: true,
      }),
    );
}
