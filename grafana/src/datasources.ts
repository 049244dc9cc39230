import { DATASOURCE_UIDS, LOKI_SERVICE_SELECTOR, METRICS } from './catalog.ts';

/**
 * Grafana data-source provisioning. The links make one path through the signals: a latency
 * exemplar opens its trace (Prometheus -> Tempo), a span opens its logs (Tempo -> Loki by trace id),
 * a log record opens its trace (Loki trace_id -> Tempo) and the other logs of its migration run
 * (Loki run_id -> Loki). Grafana interpolates `$VAR` in provisioning files, so every literal `$`
 * of a Grafana link variable is written `$$`.
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

export function datasources(): Record<string, unknown> {
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
            spanStartTimeShift: '-5m',
            spanEndTimeShift: '5m',
            filterByTraceID: false,
            filterBySpanID: false,
            customQuery: true,
            // trace_id is structured metadata on every record logged inside a span.
            query: `${LOKI_SERVICE_SELECTOR} | trace_id="$\${__trace.traceId}"`,
          },
          tracesToMetrics: {
            datasourceUid: DATASOURCE_UIDS.prometheus,
            spanStartTimeShift: '-5m',
            spanEndTimeShift: '5m',
            tags: [{ key: 'service.name', value: 'service_name' }],
            queries: [
              {
                name: 'Span p95 latency',
                query: `histogram_quantile(0.95, sum by (le) (rate(${METRICS.spanDuration}_bucket{$$__tags}[5m])))`,
              },
              {
                name: 'Span rate',
                query: `sum(rate(${METRICS.spanDuration}_count{$$__tags}[5m]))`,
              },
            ],
          },
          serviceMap: { datasourceUid: DATASOURCE_UIDS.prometheus },
          nodeGraph: { enabled: true },
          search: { hide: false },
          traceQuery: { timeShiftEnabled: true, spanStartTimeShift: '-1h', spanEndTimeShift: '1h' },
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
          derivedFields: [
            {
              name: 'trace_id',
              matcherType: 'label',
              matcherRegex: 'trace_id',
              datasourceUid: DATASOURCE_UIDS.tempo,
              url: '$${__value.raw}',
              urlDisplayLabel: 'Open trace',
            },
            {
              // The other records of the same migration run, whatever service or trace wrote them.
              name: 'run_id',
              matcherType: 'label',
              matcherRegex: 'run_id',
              datasourceUid: DATASOURCE_UIDS.loki,
              url: `${LOKI_SERVICE_SELECTOR} | run_id="$\${__value.raw}"`,
              urlDisplayLabel: 'Logs of this run',
            },
          ],
        },
      },
    ],
  };
}
