import { waitUntil } from '../../support/wait.ts';
/** Thin typed helpers over the Prometheus HTTP API (v1), shared by the pipeline tests. */

export type Labels = Readonly<Record<string, string>>;

export interface InstantSample {
  readonly metric: Labels;
  readonly value: number;
}

export interface Exemplar {
  readonly labels: Labels;
  readonly value: number;
  readonly timestamp: number;
}

export interface ExemplarSeries {
  readonly seriesLabels: Labels;
  readonly exemplars: readonly Exemplar[];
}

interface ApiResponse<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
  errorType?: string;
}

async function api<T>(baseUrl: string, path: string, params: Record<string, string | string[]>): Promise<T> {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? value : [value]) query.append(key, v);
  }
  const response = await fetch(`${baseUrl}${path}?${query.toString()}`, {
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as ApiResponse<T>;
  if (body.status !== 'success') {
    throw new Error(
      `Prometheus ${path} failed: ${body.errorType ?? ''} ${body.error ?? response.statusText}`,
    );
  }
  return body.data;
}

/** Instant query; returns the vector (scalars and matrices are rejected: tests should not need them). */
export async function promQuery(baseUrl: string, expr: string): Promise<InstantSample[]> {
  const data = await api<{ resultType: string; result: { metric: Labels; value: [number, string] }[] }>(
    baseUrl,
    '/api/v1/query',
    { query: expr },
  );
  if (data.resultType !== 'vector')
    throw new Error(`expected a vector from '${expr}', got ${data.resultType}`);
  return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

/** Label sets of all series matching the selector. */
export async function promSeries(baseUrl: string, match: string): Promise<Labels[]> {
  return api<Labels[]>(baseUrl, '/api/v1/series', { 'match[]': match });
}

/** Metric names currently known to Prometheus. */
export async function promMetricNames(baseUrl: string): Promise<string[]> {
  return api<string[]>(baseUrl, '/api/v1/label/__name__/values', {});
}

/** Exemplars stored for the query within the last `lookbackSeconds`. */
export async function promExemplars(
  baseUrl: string,
  expr: string,
  lookbackSeconds = 600,
): Promise<ExemplarSeries[]> {
  const end = Date.now() / 1000;
  return api<ExemplarSeries[]>(baseUrl, '/api/v1/query_exemplars', {
    query: expr,
    start: String(end - lookbackSeconds),
    end: String(end),
  });
}

/** label values joined by "|" -> value; zero values are left out so "no series" and "0" compare equal. */
export type Totals = Record<string, number>;

export interface TotalsOptions {
  /** Label matchers inside the braces, e.g. `job=~"sdops-.*"`. */
  readonly selector: string;
  /** Long enough to cover the test: a finished process's (or restarted collector's) series keeps its last sample. */
  readonly window?: string;
}

/** `sum by (labels) (last_over_time(metric{selector}[window]))`: totals over every series, ended ones included. */
export async function promTotals(
  baseUrl: string,
  metric: string,
  by: readonly string[],
  { selector, window = '30m' }: TotalsOptions,
): Promise<Totals> {
  const expr = `sum by (${by.join(', ')}) (last_over_time(${metric}{${selector}}[${window}]))`;
  const out: Totals = {};
  for (const s of await promQuery(baseUrl, expr)) {
    if (s.value !== 0) out[by.map((l) => s.metric[l] ?? '').join('|')] = s.value;
  }
  return out;
}

export function sameTotals(a: Totals, b: Totals): boolean {
  return Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);
}

/** Polls until promTotals equals `expected`; resolves with what Prometheus last showed either way. */
export async function promUntilTotals(
  baseUrl: string,
  metric: string,
  by: readonly string[],
  expected: Totals,
  { timeoutMs = 45_000, ...options }: TotalsOptions & { timeoutMs?: number },
): Promise<Totals> {
  let last: Totals = {};
  return waitUntil(
    `${metric} by (${by.join(',')}) to equal the expected totals`,
    async () => {
      last = await promTotals(baseUrl, metric, by, options);
      return sameTotals(last, expected) ? last : undefined;
    },
    { timeoutMs, intervalMs: 500 },
  ).catch(() => last);
}
