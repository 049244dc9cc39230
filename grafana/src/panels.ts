import {
  GraphThresholdsStyleConfigBuilder,
  GraphThresholdsStyleMode,
  LegendDisplayMode,
  LegendPlacement,
  SortOrder,
  TooltipDisplayMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import {
  DashboardLinkBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { DataSourceRef, Threshold } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder as LokiQuery } from '@grafana/grafana-foundation-sdk/loki';
import { DataqueryBuilder as PromQuery, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import {
  DataqueryBuilder as TempoQuery,
  SearchTableType,
  TempoQueryType,
} from '@grafana/grafana-foundation-sdk/tempo';

/**
 * Small helpers over the Foundation SDK so every panel is built the same way: data source from the
 * dashboard's data-source variable, explicit id and grid position (ids are what alert links point
 * at, so they must never be renumbered by accident), description and unit always given.
 */

/** Dashboard variables holding the data-source UIDs; every query goes through one of these. */
export const DS_VARS = { prometheus: 'datasource', loki: 'loki', tempo: 'tempo' } as const;

/** A Grafana template variable reference, `${name}` (kept out of JS template syntax on purpose). */
export function gvar(name: string): string {
  return `$\{${name}}`;
}

export const PROMETHEUS: DataSourceRef = { type: 'prometheus', uid: `\${${DS_VARS.prometheus}}` };
export const LOKI: DataSourceRef = { type: 'loki', uid: `\${${DS_VARS.loki}}` };
export const TEMPO: DataSourceRef = { type: 'tempo', uid: `\${${DS_VARS.tempo}}` };

export interface GridPos {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** Threshold steps: the base colour, then [value, colour] pairs in ascending order. */
export function thresholds(base: string, ...steps: readonly [number, string][]): ThresholdsConfigBuilder {
  const list: Threshold[] = [
    { value: null, color: base },
    ...steps.map(([value, color]) => ({ value, color })),
  ];
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(list);
}

/**
 * Draws a time series panel's threshold steps as dashed lines: Grafana's default draws nothing, so
 * the colours its description names ("orange from 1%, red from 5%") would not show.
 */
export const THRESHOLD_LINES = new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed);

export interface PromTarget {
  readonly expr: string;
  readonly legend: string;
  /** Show exemplars (only meaningful on a _bucket histogram query). */
  readonly exemplar?: boolean;
  readonly heatmap?: boolean;
  readonly instant?: boolean;
}

export function promTarget(refId: string, t: PromTarget): PromQuery {
  const q = new PromQuery()
    .refId(refId)
    .datasource(PROMETHEUS)
    .expr(t.expr)
    .legendFormat(t.legend)
    .exemplar(t.exemplar ?? false);
  if (t.heatmap) q.format(PromQueryFormat.Heatmap);
  if (t.instant) q.instant();
  else q.range();
  return q;
}

export function lokiTarget(refId: string, expr: string): LokiQuery {
  return new LokiQuery().refId(refId).datasource(LOKI).expr(expr).maxLines(500);
}

export function tempoTarget(refId: string, traceql: string): TempoQuery {
  return new TempoQuery()
    .refId(refId)
    .datasource(TEMPO)
    .queryType(TempoQueryType.Traceql)
    .query(traceql)
    .tableType(SearchTableType.Traces)
    .limit(20);
}

/** An Explore URL with one pane; `${name}` variables stay literal for Grafana to fill on click. */
export function explorePaneUrl(
  datasource: string,
  query: Record<string, unknown>,
  range: { readonly from: string; readonly to: string } = { from: gvar('__from'), to: gvar('__to') },
): string {
  const pane = { datasource, queries: [{ refId: 'A', ...query }], range };
  // Variables must survive the encoding: Grafana looks for a literal `${name}` in link URLs.
  const encoded = encodeURIComponent(JSON.stringify({ run: pane })).replace(
    /%24%7B([A-Za-z0-9_.]+)%7D/g,
    (_match, name: string) => `\${${name}}`,
  );
  return `/explore?schemaVersion=1&panes=${encoded}`;
}

/** A link to Grafana Explore running a TraceQL query on the Tempo variable's data source. */
export function tempoExploreLink(title: string, traceql: string): DashboardLinkBuilder {
  const url = explorePaneUrl(`\${${DS_VARS.tempo}}`, {
    datasource: TEMPO,
    queryType: 'traceql',
    query: traceql,
  });
  return new DashboardLinkBuilder(title).url(url).targetBlank(true).tooltip('Open in Explore (Tempo)');
}

/** A link to Grafana Explore running a LogQL query on the Loki variable's data source. */
export function lokiExploreLink(title: string, logql: string): DashboardLinkBuilder {
  const url = explorePaneUrl(`\${${DS_VARS.loki}}`, { datasource: LOKI, expr: logql });
  return new DashboardLinkBuilder(title).url(url).targetBlank(true).tooltip('Open in Explore (Loki)');
}

/** Query and layout helpers shared by the dashboard's rows (dashboard-, worker-, migration-panels.ts). */
export const ENTITY = 'entity=~"$entity"';
export const JOB_TYPE = 'job_type=~"$job_type"';
/**
 * `anchored` (Prometheus --enable-feature=promql-extended-range-selectors): from the sample at the
 * window's start to the last one in it, no extrapolation, so windows that tile a range add up exactly
 * to the counted total, and a series born inside a window (a CLI process) counts from its 0. Both
 * ends are read from samples, so at the right edge ("now") they are equally old and a steady rate
 * reads steady. `smoothed` was tried for rates and reverted: it interpolates the window's start but
 * not an end with no sample after it yet, so the newest point of every rate panel read up to a scrape
 * interval's share low, on every refresh. Its gain, a collector restart's gap read as its average
 * rate instead of a dip and then a surge (runbook, "What is lost, what is not"), is the rarer case.
 */
export const RATE = '[$__rate_interval] anchored';
export const anchoredWindow = (window: string) => `[${window}] anchored`;
export const at = (x: number, y: number, w: number, h: number): GridPos => ({ x, y, w, h });

export function quantile(q: number, bucket: string, by: string): string {
  return `histogram_quantile(${q}, sum by (${by}) (rate(${bucket}${RATE})))`;
}

export function timeseries(id: number, title: string, description: string, unit: string, pos: GridPos) {
  return new TimeseriesPanel()
    .id(id)
    .title(title)
    .description(description)
    .unit(unit)
    .datasource(PROMETHEUS)
    .gridPos(pos)
    .fillOpacity(10)
    .legend(
      new VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(LegendDisplayMode.List)
        .placement(LegendPlacement.Bottom),
    )
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending));
}
