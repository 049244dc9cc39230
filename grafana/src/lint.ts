import { allPanels, type DashboardJson, type PanelJson, targetLanguage, targetText } from './model.ts';

/**
 * The rules of Grafana's dashboard-linter that matter here (it cannot be `go install`ed: its
 * go.mod has a replace directive), applied to the dashboard JSON:
 * - every panel has a title and a description, and a unit (logs panels excepted: text has none);
 * - every panel and query uses a data-source *variable*, never a hard-coded UID;
 * - rate()/irate()/increase() windows are `$__rate_interval`, `$__range`, or a fixed window the
 *   panel's description names;
 * - counters (`_total`, `_count`, `_sum`, `_bucket`) are never graphed raw, only inside
 *   rate()/irate()/increase().
 */

export interface LintViolation {
  readonly panel: string;
  readonly rule: 'title' | 'description' | 'unit' | 'datasource-variable' | 'rate-window' | 'raw-counter';
  readonly message: string;
}

const NO_UNIT_PANEL_TYPES = new Set(['logs', 'text', 'news', 'dashlist']);
const VARIABLE_UID = /^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$/;
const RANGE_FUNCTIONS = new Set(['rate', 'irate', 'increase']);
const COUNTER_NAME = /\b([a-zA-Z_:][a-zA-Z0-9_:]*(?:_total|_count|_sum|_bucket))\b/g;

function label(panel: PanelJson): string {
  return `${panel.id ?? '?'} ${panel.title ?? '(untitled)'}`;
}

/** The identifier right before the innermost `(` that encloses position `at`, if any. */
function enclosingFunction(expr: string, at: number): string | undefined {
  let depth = 0;
  for (let i = at - 1; i >= 0; i--) {
    const ch = expr[i];
    if (ch === ')') depth++;
    else if (ch === '(') {
      if (depth === 0) return /([a-zA-Z_][a-zA-Z0-9_]*)\s*$/.exec(expr.slice(0, i))?.[1];
      depth--;
    }
  }
  return undefined;
}

/** Skips an optional `{...}` matcher after a metric name; returns the index after it. */
function skipMatchers(expr: string, from: number): number {
  let i = from;
  while (expr[i] === ' ') i++;
  if (expr[i] !== '{') return from;
  const close = expr.indexOf('}', i);
  return close < 0 ? expr.length : close + 1;
}

export function lintPromQL(panel: PanelJson, expr: string): LintViolation[] {
  const out: LintViolation[] = [];
  const where = label(panel);
  const description = panel.description ?? '';
  for (const match of expr.matchAll(/\b(rate|irate|increase)\s*\(/g)) {
    const open = (match.index ?? 0) + match[0].length;
    const window = /\[([^\]]+)\]/.exec(expr.slice(open))?.[1];
    if (!window) continue;
    if (window === '$__rate_interval' || window === '$__range') continue;
    if (!description.includes(window)) {
      out.push({
        panel: where,
        rule: 'rate-window',
        message: `${match[1]}() over a fixed [${window}] window that the description does not mention`,
      });
    }
  }
  // Label values inside matchers (e.g. status="x_total") are not metric names.
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, (s) => ' '.repeat(s.length));
  for (const match of withoutStrings.matchAll(COUNTER_NAME)) {
    const start = match.index ?? 0;
    const after = skipMatchers(withoutStrings, start + match[0].length);
    const inRange = withoutStrings.slice(after).trimStart().startsWith('[');
    const fn = enclosingFunction(withoutStrings, start);
    if (!inRange || !fn || !RANGE_FUNCTIONS.has(fn)) {
      out.push({
        panel: where,
        rule: 'raw-counter',
        message: `counter ${match[1]} is used outside rate()/irate()/increase()`,
      });
    }
  }
  return out;
}

export function lintPanel(panel: PanelJson): LintViolation[] {
  const out: LintViolation[] = [];
  const where = label(panel);
  if (!panel.title?.trim()) out.push({ panel: where, rule: 'title', message: 'panel has no title' });
  if (!panel.description?.trim())
    out.push({ panel: where, rule: 'description', message: 'panel has no description' });
  if (!NO_UNIT_PANEL_TYPES.has(panel.type) && !panel.fieldConfig?.defaults?.unit) {
    out.push({ panel: where, rule: 'unit', message: 'panel has no unit (fieldConfig.defaults.unit)' });
  }
  const refs = [panel.datasource, ...(panel.targets ?? []).map((t) => t.datasource)];
  for (const ref of refs) {
    if (ref?.uid !== undefined && !VARIABLE_UID.test(ref.uid)) {
      out.push({
        panel: where,
        rule: 'datasource-variable',
        message: `data source uid "${ref.uid}" is hard-coded; use a data-source variable`,
      });
    }
  }
  if (!panel.datasource?.uid) {
    out.push({ panel: where, rule: 'datasource-variable', message: 'panel has no data source' });
  }
  for (const target of panel.targets ?? []) {
    const text = targetText(target);
    if (text && targetLanguage(panel, target) === 'promql') out.push(...lintPromQL(panel, text));
  }
  return out;
}

export function lintDashboard(dashboard: DashboardJson): LintViolation[] {
  return allPanels(dashboard).flatMap(lintPanel);
}
