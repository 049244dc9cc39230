// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings hold Grafana variables, not JS templates
import { DATASOURCE_UIDS, LOKI_SERVICE_SELECTOR, SPAN_METRICS } from './catalog.ts';
import { explorePaneUrl } from './panels.ts';

/**
 * Grafana data-source provisioning and the links between the signals (README "Following one run"
 * lists each with the query it runs):
 * - Prometheus exemplar -> its trace in Tempo (exemplarTraceIdDestinations, label trace_id);
 * - Tempo span -> Loki: the logs of its whole migration/bulk run when the span has run_id, plus
 *   the logs of its trace (tracesToLogsV2, RUN_OR_TRACE_LOGS_LOGQL);
 * - Tempo span -> span metrics in Prometheus (tracesToMetrics) and the service graph (serviceMap);
 * - Loki record -> its trace (derived field trace_id, an internal Tempo link);
 * - Loki record -> the logs of its run (derived field run_id, an Explore link carrying `expr`:
 *   Grafana's internal derived-field links only target tracing data sources).
 * Grafana expands environment variables in provisioning files (os.ExpandEnv after splitting on
 * `$$`), so every literal `$` of a Grafana link variable is written `$$` in the YAML; the
 * constants below hold the text Grafana ends up with (one `$`) and escapeForProvisioning() doubles it.
 */

/** Addresses inside the compose network (service names and default ports of compose.yaml). */
export const DATASOURCE_URLS = {
  prometheus: 'http://prometheus:9090',
  tempo: 'http://tempo:3200',
  loki: 'http://loki:3100',
} as const;
const URLS = DATASOURCE_URLS;

/** Label the collector's span-metrics exemplars carry the trace id in (prometheus exporter). */
export const EXEMPLAR_TRACE_ID_LABEL = 'trace_id';

/**
 * Trace -> logs. Grafana drops a span link whose query has an undefined variable, and one run
 * spans several traces, so the run's logs cannot be a plain `run_id="${__span.tags.run_id}"`
 * filter. `${__tags}` is Grafana's rendering of the configured span tags the span HAS
 * (`run_id="<id>"`, or empty): label_format renders each record's own run_id the same way into
 * `run_match`, so a span of a run selects every record of the run, and a span without run_id
 * (empty `${__tags}`, no record has an empty run_match) still selects its trace's records.
 */
export const TRACE_TO_LOGS_TAGS = [{ key: 'run_id', value: 'run_id' }] as const;
export const RUN_OR_TRACE_LOGS_LOGQL =
  `${LOKI_SERVICE_SELECTOR} | label_format run_match=\`run_id="{{.run_id}}"\`` +
  ' | run_match=`${__tags}` or trace_id="${__trace.traceId}"';
/** How far around the span Grafana searches: a run's logs come from before and after one span. */
export const TRACE_TO_LOGS_SHIFT = { start: '-24h', end: '24h' } as const;

/** Log record -> the other records of its run (the derived field's Explore link). */
export const RUN_LOGS_FROM_RECORD_LOGQL = `${LOKI_SERVICE_SELECTOR} | run_id="\${__value.raw}"`;
/** Loki keeps 7 days (loki/loki.yaml retention_period), so the run's logs are within this range. */
export const RUN_LOGS_RANGE = { from: 'now-7d', to: 'now' } as const;

/** Tempo span -> span metrics of the span's service (Grafana fills $__tags: service_name="..."). */
export const TRACE_TO_METRICS_QUERIES = [
  {
    name: 'Span p95 latency',
    query: `histogram_quantile(0.95, sum by (le) (rate(${SPAN_METRICS.latency}_bucket{$__tags}[5m])))`,
  },
  { name: 'Span rate', query: `sum(rate(${SPAN_METRICS.calls}{$__tags}[5m]))` },
] as const;

/** An Explore URL opening `expr` on the Loki data source (`${...}` stays for Grafana to fill). */
export function lokiExploreUrl(expr: string, range: { from: string; to: string }): string {
  return explorePaneUrl(
    DATASOURCE_UIDS.loki,
    { datasource: { type: 'loki', uid: DATASOURCE_UIDS.loki }, expr },
    range,
  );
}

/** `$` -> `$$`: Grafana's escape for a literal `$` in provisioning files. */
export function escapeForProvisioning(text: string): string {
  return text.replaceAll('$', '$$$$');
}

export function datasources(): Record<string, unknown> {
  const esc = escapeForProvisioning;
  return {
    apiVersion: 1,
    datasources: [
      {
        name: 'Prometheus',
        uid: DATASOURCE_UIDS.prometheus,
        type: 'prometheus',
        access: 'proxy',
        url: URLS.prometheus,
        isDefault: true,
        editable: false,
        jsonData: {
          httpMethod: 'POST',
          timeInterval: '15s',
          // Grafana-managed rules notify (grafana/provisioning/alerting); Prometheus evaluates the
          // same rules without an Alertmanager. This keeps its copies out of Grafana's alert list.
          manageAlerts: false,
          exemplarTraceIdDestinations: [
            {
              name: EXEMPLAR_TRACE_ID_LABEL,
              datasourceUid: DATASOURCE_UIDS.tempo,
              urlDisplayLabel: 'Open trace',
            },
          ],
        },
      },
      {
        name: 'Tempo',
        uid: DATASOURCE_UIDS.tempo,
        type: 'tempo',
        access: 'proxy',
        url: URLS.tempo,
        editable: false,
        jsonData: {
          tracesToLogsV2: {
            datasourceUid: DATASOURCE_UIDS.loki,
            spanStartTimeShift: TRACE_TO_LOGS_SHIFT.start,
            spanEndTimeShift: TRACE_TO_LOGS_SHIFT.end,
            tags: TRACE_TO_LOGS_TAGS,
            filterByTraceID: false,
            filterBySpanID: false,
            customQuery: true,
            query: esc(RUN_OR_TRACE_LOGS_LOGQL),
          },
          tracesToMetrics: {
            datasourceUid: DATASOURCE_UIDS.prometheus,
            spanStartTimeShift: '-5m',
            spanEndTimeShift: '5m',
            tags: [{ key: 'service.name', value: 'service_name' }],
            queries: TRACE_TO_METRICS_QUERIES.map((q) => ({ name: q.name, query: esc(q.query) })),
          },
          serviceMap: { datasourceUid: DATASOURCE_UIDS.prometheus },
          nodeGraph: { enabled: true },
          search: { hide: false },
          // Search and TraceQL metrics over Tempo's streaming endpoint (stream_over_http_enabled).
          streamingEnabled: { search: true, metrics: true },
          // A trace opened by id (an exemplar, a log line) is looked for in the range +-24 h: a
          // migration session's trace lasts as long as the session, and with +-1 h one opened from a
          // short range came back without its early spans.
          traceQuery: {
            timeShiftEnabled: true,
            spanStartTimeShift: TRACE_TO_LOGS_SHIFT.start,
            spanEndTimeShift: TRACE_TO_LOGS_SHIFT.end,
          },
          spanBar: { type: 'Tag', tag: 'run_id' },
        },
      },
      {
        name: 'Loki',
        uid: DATASOURCE_UIDS.loki,
        type: 'loki',
        access: 'proxy',
        url: URLS.loki,
        editable: false,
        jsonData: {
          maxLines: 1000,
          // No Loki ruler runs; Grafana would otherwise ask Loki for rules on the alert list.
          manageAlerts: false,
          derivedFields: [
            {
              name: 'trace_id',
              matcherType: 'label',
              // Anchored: Grafana takes the first label whose name the regex finds anywhere in.
              matcherRegex: esc('^trace_id$'),
              datasourceUid: DATASOURCE_UIDS.tempo,
              url: esc('${__value.raw}'),
              urlDisplayLabel: 'Open trace',
            },
            {
              // The other records of the same run, whatever service or trace wrote them: an
              // Explore link (not an internal one, which only targets tracing data sources).
              name: 'run_id',
              matcherType: 'label',
              matcherRegex: esc('^run_id$'),
              url: esc(lokiExploreUrl(RUN_LOGS_FROM_RECORD_LOGQL, RUN_LOGS_RANGE)),
              urlDisplayLabel: 'Logs of this run',
              targetBlank: false,
            },
          ],
        },
      },
    ],
  };
}
