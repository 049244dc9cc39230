/**
 * Just enough PromQL, LogQL and TraceQL reading to list the metric names, labels and attributes a
 * runbook query relies on. Syntax itself is proven elsewhere (promtool for PromQL).
 */

const PROMQL_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'inf',
  'nan',
]);

const PROMQL_FUNCTIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
  'group',
  'rate',
  'irate',
  'increase',
  'delta',
  'idelta',
  'deriv',
  'histogram_quantile',
  'abs',
  'absent',
  'absent_over_time',
  'ceil',
  'floor',
  'round',
  'clamp_min',
  'clamp_max',
  'label_replace',
  'label_join',
  'time',
  'timestamp',
  'vector',
  'scalar',
  'sort',
  'sort_desc',
  'changes',
  'resets',
  'avg_over_time',
  'max_over_time',
  'min_over_time',
  'sum_over_time',
  'count_over_time',
  'last_over_time',
]);

export interface PromQLNames {
  readonly metrics: string[];
  readonly labels: string[];
  readonly unknownFunctions: string[];
}

export function promqlNames(query: string): PromQLNames {
  const labels: string[] = [];
  // Matchers inside selectors, then the selectors, strings and ranges themselves.
  for (const sel of query.matchAll(/\{([^}]*)\}/g)) {
    for (const m of (sel[1] as string).matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)\s*"/g)) {
      labels.push(m[1] as string);
    }
  }
  for (const g of query.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) {
    for (const l of (g[1] as string).split(',')) if (l.trim()) labels.push(l.trim());
  }
  const stripped = query
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/"(?:[^"\\]|\\.)*"/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const metrics: string[] = [];
  const unknownFunctions: string[] = [];
  for (const m of stripped.matchAll(/(?<![A-Za-z0-9_:.])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)) {
    const name = m[1] as string;
    if (/^\d/.test(name) || PROMQL_KEYWORDS.has(name.toLowerCase())) continue;
    if (m[2]) {
      if (!PROMQL_FUNCTIONS.has(name)) unknownFunctions.push(name);
      continue;
    }
    metrics.push(name);
  }
  return { metrics, labels, unknownFunctions };
}

export interface LogQLNames {
  readonly streamLabels: string[];
  readonly filterLabels: string[];
}

/** `{stream selector} [|= "x" | |~ "x" | != "x" | label op "v"]*` */
export function logqlNames(query: string): LogQLNames {
  const m = /^\s*\{([^}]*)\}(.*)$/s.exec(query);
  if (!m) throw new Error(`no stream selector in ${query}`);
  const streamLabels = [...(m[1] as string).matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map(
    (x) => x[1] as string,
  );
  const rest = (m[2] as string).replace(/"(?:[^"\\]|\\.)*"|`[^`]*`/g, '""');
  const filterLabels = [...rest.matchAll(/\|\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|==|=|>=|<=|>|<)/g)].map(
    (x) => x[1] as string,
  );
  return { streamLabels, filterLabels };
}

export interface TraceQLNames {
  readonly attributes: { scope: string; name: string }[];
  readonly intrinsics: string[];
}

/** `{ cond && cond ... }` with `span.x`, `resource.x` or an intrinsic on the left of each comparison. */
export function traceqlNames(query: string): TraceQLNames {
  const body = /^\s*\{(.*)\}\s*$/s.exec(query)?.[1];
  if (body === undefined) throw new Error(`not a spanset filter: ${query}`);
  const attributes: { scope: string; name: string }[] = [];
  const intrinsics: string[] = [];
  for (const cond of body.replace(/"(?:[^"\\]|\\.)*"/g, '""').split(/&&|\|\|/)) {
    const c =
      /^\s*\(*\s*(?:(span|resource)?\.([A-Za-z_][A-Za-z0-9_.]*)|([A-Za-z_]+))\s*(?:=~|!~|!=|=|>=|<=|>|<)/.exec(
        cond,
      );
    if (!c) throw new Error(`bad TraceQL condition "${cond.trim()}" in ${query}`);
    if (c[3] !== undefined) intrinsics.push(c[3]);
    else attributes.push({ scope: c[1] ?? 'any', name: c[2] as string });
  }
  return { attributes, intrinsics };
}
