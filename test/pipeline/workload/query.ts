import { type ListedQuery, listQueries, type QueryValues, SPAN_METRICS } from '../../../grafana/src/index.ts';
import type { ExportedSpan } from '../support/otlp-sink.ts';
import type { Expected } from './expected.ts';
import { waitUntil } from '../../support/wait.ts';

/**
 * Evaluating the dashboard's and the alerts' queries the way Grafana and Prometheus do, at chosen
 * times and windows, and turning results into `label|label -> value` maps to compare with the truth.
 */

interface Sample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

interface Series {
  readonly metric: Record<string, string>;
  readonly values: [number, string][];
}

async function api<T>(baseUrl: string, path: string, params: Record<string, string>): Promise<T> {
  const response = await fetch(`${baseUrl}${path}?${new URLSearchParams(params)}`, {
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await response.json()) as { status: string; error?: string; data: T };
  if (body.status !== 'success') throw new Error(`${path} failed for ${params.query}: ${body.error}`);
  return body.data;
}

/** Instant query at `atMs` (epoch ms; default now); NaN values are kept, as Grafana would show them. */
export async function instantAt(baseUrl: string, expr: string, atMs = Date.now()): Promise<Sample[]> {
  const data = await api<{
    resultType: string;
    result: { metric: Record<string, string>; value: [number, string] }[];
  }>(baseUrl, '/api/v1/query', { query: expr, time: String(atMs / 1000) });
  if (data.resultType !== 'vector') throw new Error(`expected a vector from ${expr}, got ${data.resultType}`);
  return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

/** Range query (what a time-series panel sends). */
export async function rangeOf(
  baseUrl: string,
  expr: string,
  startMs: number,
  endMs: number,
  stepSeconds: number,
): Promise<Series[]> {
  const data = await api<{ result: Series[] }>(baseUrl, '/api/v1/query_range', {
    query: expr,
    start: String(startMs / 1000),
    end: String(endMs / 1000),
    step: String(stepSeconds),
  });
  return data.result;
}

/** `label|label -> value`, by the given labels (missing label: empty). */
export function keyed(samples: readonly Sample[], labels: readonly string[]): Expected {
  const out: Expected = {};
  for (const s of samples) out[labels.map((l) => s.metric[l] ?? '').join('|')] = s.value;
  return out;
}

/** Drops zero entries and rounds away float noise, so "no series" and "0" compare equal. */
export function nonZero(map: Expected, digits = 6): Expected {
  const out: Expected = {};
  for (const [k, v] of Object.entries(map)) {
    const r = Number(v.toFixed(digits));
    if (r !== 0) out[k] = r;
  }
  return out;
}

/**
 * A rate panel integrated over [startMs, endMs]: evaluated with $__rate_interval = the step, each
 * point is the rate over the step before it, so the sum of rate x step is the counted total. Exact
 * with `anchored` windows: each window starts at the last sample of the previous one.
 */
export async function integrate(
  baseUrl: string,
  rateQuery: (rateInterval: string) => string,
  labels: readonly string[],
  startMs: number,
  endMs: number,
  stepSeconds = 5,
): Promise<Expected> {
  const series = await rangeOf(
    baseUrl,
    rateQuery(`${stepSeconds}s`),
    startMs + stepSeconds * 1000,
    endMs,
    stepSeconds,
  );
  const out: Expected = {};
  for (const s of series) {
    const key = labels.map((l) => s.metric[l] ?? '').join('|');
    const total = s.values.reduce((sum, [, v]) => sum + Number(v) * stepSeconds, 0);
    out[key] = (out[key] ?? 0) + total;
  }
  return nonZero(out);
}

/** The query a panel target or alert sends, with the given template values. */
export function findQuery(origin: RegExp, values: QueryValues, source?: ListedQuery['source']): ListedQuery {
  const found = listQueries(values).filter((q) => origin.test(q.origin) && (!source || q.source === source));
  if (found.length !== 1)
    throw new Error(`${found.length} queries match ${origin} (${source ?? 'any source'})`);
  return found[0] as ListedQuery;
}

/** The PromQL of panel `id`, target `refId`, with the given template values. */
export function panelQuery(id: number, refId: string, values: QueryValues = {}): string {
  return findQuery(
    new RegExp(`^${id} .*\\[${refId}\\]$`),
    { entity: '.*', jobType: '.*', ...values },
    'dashboard',
  ).query;
}

/** Waits until Prometheus has scraped the collector's exporter after `afterMs`. */
export async function scrapedAfter(baseUrl: string, afterMs: number): Promise<void> {
  await waitUntil(
    'a scrape of the collector exporter after the last export',
    async () => {
      const [up] = await instantAt(baseUrl, 'timestamp(up{job="otel-collector-exporter"} == 1)');
      return up && up.value * 1000 > afterMs + 250 ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
}

/** Firing ALERTS of one alert name, by `label` (e.g. job_type), in one rule group (scaled or not). */
export async function firing(
  baseUrl: string,
  alertname: string,
  scaled: boolean,
  label: string,
  atMs = Date.now(),
): Promise<string[]> {
  const selector = `ALERTS{alertname="${alertname}",alertstate="firing",scaled${scaled ? '="true"' : '=""'}}`;
  return (await instantAt(baseUrl, selector, atMs)).map((s) => s.metric[label] ?? '').sort();
}

/**
 * Waits until the span metrics in Prometheus count every span the trace sink received: spans reach
 * the span_metrics connector and the sink through the same traces pipeline, and the connector's
 * counts reach Prometheus one flush and one scrape later (anchored increase over the whole run, so
 * counter resets at a collector restart and series that left the scrape still count).
 */
export async function spanMetricsCaughtUp(
  baseUrl: string,
  spans: () => readonly ExportedSpan[],
): Promise<void> {
  await waitUntil(
    'the span metrics to count every span the collector exported',
    async () => {
      const exported = new Set(spans().map((s) => `${s.traceId}/${s.spanId}`)).size;
      const [counted] = await instantAt(baseUrl, `sum(increase(${SPAN_METRICS.calls}[30m] anchored))`);
      return counted && counted.value >= exported ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
}
