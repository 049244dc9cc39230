import { ALERT_RULES, prometheusExpr } from './alerts.ts';
import { buildDashboard, variableQueries } from './dashboard.ts';
import { allPanels, type DashboardJson, type QueryLanguage, targetLanguage, targetText } from './model.ts';

/**
 * Every query the dashboard and the alert rules run, ready to send to a real backend: template
 * variables replaced by concrete values. The pipeline end-to-end test runs each PromQL query
 * against its Prometheus and expects a non-empty result, and syntax-checks LogQL and TraceQL.
 */

export interface QueryValues {
  /** Regex for $entity (default `.*`, Grafana's "All" here). */
  readonly entity?: string;
  readonly jobType?: string;
  /** A real migration run id; queries filtered by it return that run's logs/traces. */
  readonly runId?: string;
  /** What Grafana would put for $__rate_interval (default 1m: 4x a 15s scrape interval). */
  readonly rateInterval?: string;
  /** What Grafana would put for $__range (the dashboard time range; default 1h). */
  readonly range?: string;
}

export interface ListedQuery {
  readonly source: 'dashboard' | 'variable' | 'alert-prometheus' | 'alert-grafana' | 'alert-probe';
  /** Panel "id title" + refId, variable name, or alert name. */
  readonly origin: string;
  readonly language: QueryLanguage;
  /** The query with every template variable substituted. */
  readonly query: string;
  /** A Prometheus query the panel sends as an instant query (vs. a range query). */
  readonly instant: boolean;
  /**
   * Whether a backend that saw the pipeline workload must return data for it. False for alert
   * expressions with their threshold applied: those are empty while nothing is wrong.
   */
  readonly expectData: boolean;
}

/** Replaces Grafana template variables; throws if one is left, so a new variable cannot slip by. */
export function substituteVariables(text: string, values: QueryValues = {}): string {
  const map: Record<string, string> = {
    __rate_interval: values.rateInterval ?? '1m',
    __interval: values.rateInterval ?? '1m',
    __range: values.range ?? '1h',
    entity: values.entity ?? '.*',
    job_type: values.jobType ?? '.*',
    run_id: values.runId ?? '00000000-0000-0000-0000-000000000000',
  };
  const out = text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, a, b) => {
      const name = (a ?? b) as string;
      const value = map[name];
      if (value === undefined) throw new Error(`unknown template variable ${whole} in: ${text}`);
      return value;
    },
  );
  return out;
}

export function dashboardQueries(dashboard: DashboardJson, values: QueryValues = {}): ListedQuery[] {
  const out: ListedQuery[] = [];
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      const text = targetText(target);
      const language = targetLanguage(panel, target);
      if (!text || !language) continue;
      out.push({
        source: 'dashboard',
        origin: `${panel.id ?? '?'} ${panel.title ?? ''} [${target.refId ?? '?'}]`,
        language,
        query: substituteVariables(text, values),
        instant: target.instant === true,
        expectData: true,
      });
    }
  }
  return out;
}

/**
 * Every query: dashboard panels, the label_values() variables (as the `group by` query Grafana's
 * series lookup amounts to), the Prometheus alert expressions and the Grafana rules' query A.
 */
export function listQueries(values: QueryValues = {}): ListedQuery[] {
  const dashboard = buildDashboard() as unknown as DashboardJson;
  const variables: ListedQuery[] = variableQueries().map((v) => ({
    source: 'variable',
    origin: `variable ${v.name}: ${v.query}`,
    language: 'promql',
    query: `group by (${v.name}) (${v.metric})`,
    instant: true,
    expectData: true,
  }));
  const alerts: ListedQuery[] = ALERT_RULES.flatMap((rule): ListedQuery[] => [
    {
      source: 'alert-prometheus',
      origin: rule.name,
      language: 'promql',
      query: prometheusExpr(rule),
      instant: true,
      expectData: false,
    },
    {
      source: 'alert-grafana',
      origin: rule.name,
      language: 'promql',
      query: rule.valueExpr,
      instant: true,
      expectData: false,
    },
    {
      source: 'alert-probe',
      origin: `${rule.name} (without threshold and guards)`,
      language: 'promql',
      query: rule.probeExpr ?? rule.valueExpr,
      instant: true,
      expectData: true,
    },
  ]);
  return [...dashboardQueries(dashboard, values), ...variables, ...alerts];
}
