/**
 * Offline syntax checks for the LogQL and TraceQL the dashboard sends (no Loki or Tempo binary is
 * available here): a strict grammar for the subset the dashboard may use, so anything else fails
 * loudly instead of being waved through, plus the labels and attributes each query relies on.
 */

export interface Matcher {
  readonly label: string;
  readonly op: string;
  readonly value: string;
}

const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
const STRING = '"(?:[^"\\\\]|\\\\.)*"|`[^`]*`';
const MATCHER = new RegExp(`^\\s*(${IDENT})\\s*(=~|!~|!=|=)\\s*(${STRING})\\s*$`);

function unquote(s: string): string {
  return s.startsWith('`') ? s.slice(1, -1) : (JSON.parse(s) as string);
}

function splitTopLevel(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === '\\' && quote === '"') {
        current += c + (text[++i] ?? '');
        continue;
      }
      if (c === quote) quote = '';
    } else if (c === '"' || c === '`') quote = c;
    else if (c === '(' || c === '{') depth++;
    else if (c === ')' || c === '}') depth--;
    if (!quote && depth === 0 && text.startsWith(sep, i)) {
      parts.push(current);
      current = '';
      i += sep.length - 1;
      continue;
    }
    current += c;
  }
  parts.push(current);
  return parts;
}

export type LogQLCheck =
  | { streamMatchers: Matcher[]; streamLabels: string[]; filterLabels: string[] }
  | { error: string };

/** `{matchers} [|= "x" | != "x" | |~ "x" | !~ "x" | | json | | logfmt | | label op "v"]*` */
export function checkLogQL(query: string): LogQLCheck {
  const m = /^\s*\{([^}]*)\}(.*)$/s.exec(query);
  if (!m) return { error: `no stream selector in ${query}` };
  const streamMatchers: Matcher[] = [];
  for (const part of splitTopLevel(m[1] as string, ',')) {
    const mm = MATCHER.exec(part);
    if (!mm) return { error: `bad stream matcher "${part.trim()}"` };
    const value = unquote(mm[3] as string);
    if (mm[2]?.includes('~')) {
      try {
        new RegExp(value);
      } catch {
        return { error: `bad regex ${value}` };
      }
    }
    streamMatchers.push({ label: mm[1] as string, op: mm[2] as string, value });
  }
  if (
    !streamMatchers.some((x) => x.op === '=' || (x.op === '=~' && !new RegExp(`^(?:${x.value})$`).test('')))
  ) {
    return { error: 'a stream selector needs at least one matcher that does not match the empty string' };
  }
  const filterLabels: string[] = [];
  let rest = (m[2] as string).trim();
  const LINE = new RegExp(`^(\\|=|!=|\\|~|!~)\\s*(${STRING})`);
  const PARSER = /^\|\s*(json|logfmt|unpack)\b/;
  const LABEL = new RegExp(`^\\|\\s*(${IDENT})\\s*(=~|!~|!=|==|=|>=|<=|>|<)\\s*(${STRING}|-?[0-9.]+[a-z]*)`);
  while (rest !== '') {
    const line = LINE.exec(rest);
    const parser = PARSER.exec(rest);
    const label = LABEL.exec(rest);
    const hit = line ?? parser ?? label;
    if (!hit) return { error: `unsupported pipeline stage at "${rest}"` };
    if (label && hit === label) filterLabels.push(label[1] as string);
    rest = rest.slice(hit[0].length).trim();
  }
  return { streamMatchers, streamLabels: streamMatchers.map((x) => x.label), filterLabels };
}

export type TraceQLCheck = { attributes: { scope: string; name: string }[] } | { error: string };

const INTRINSICS = new Set([
  'name',
  'status',
  'kind',
  'duration',
  'statusMessage',
  'rootName',
  'rootServiceName',
  'traceDuration',
]);

/** `{ cond (&& | ||) cond ... }` with cond `[span|resource]?.attr op value` or an intrinsic. */
export function checkTraceQL(query: string): TraceQLCheck {
  const m = /^\s*\{(.*)\}\s*$/s.exec(query);
  if (!m) return { error: `not a spanset filter: ${query}` };
  const attributes: { scope: string; name: string }[] = [];
  const body = (m[1] as string).trim();
  if (body === '') return { attributes };
  const COND = new RegExp(
    `^\\s*(?:(span|resource)?\\.([A-Za-z_][A-Za-z0-9_.]*)|(${IDENT}))\\s*(=~|!~|!=|=|>=|<=|>|<)\\s*(${STRING}|-?[0-9.]+(?:ms|s|m|h|ns|us)?|true|false|error|ok|unset)\\s*$`,
  );
  for (const cond of body.split(/&&|\|\|/)) {
    const c = COND.exec(cond.replace(/^\s*\(+|\)+\s*$/g, ''));
    if (!c) return { error: `bad condition "${cond.trim()}"` };
    if (c[3] !== undefined) {
      if (!INTRINSICS.has(c[3])) return { error: `unknown intrinsic ${c[3]}` };
      continue;
    }
    attributes.push({ scope: c[1] ?? 'any', name: c[2] as string });
  }
  return { attributes };
}

/** Loki 3's default resource attributes that become index labels (distributor otlp_config). */
const LOKI_DEFAULT_INDEX = [
  'cloud.availability_zone',
  'cloud.region',
  'container.name',
  'deployment.environment',
  'deployment.environment.name',
  'k8s.cluster.name',
  'k8s.container.name',
  'k8s.cronjob.name',
  'k8s.daemonset.name',
  'k8s.deployment.name',
  'k8s.job.name',
  'k8s.namespace.name',
  'k8s.pod.name',
  'k8s.replicaset.name',
  'k8s.statefulset.name',
  'service.instance.id',
  'service.name',
  'service.namespace',
];

interface AttrConfig {
  action?: string;
  attributes?: string[];
}
interface LokiConfig {
  limits_config?: {
    otlp_config?: { resource_attributes?: { ignore_defaults?: boolean; attributes_config?: AttrConfig[] } };
  };
  distributor?: { otlp_config?: { default_resource_attributes_as_index_labels?: string[] } };
}

/** Index labels (underscored) Loki creates from OTLP resource attributes under this config. */
export function lokiIndexLabels(raw: unknown): Set<string> {
  const config = (raw ?? {}) as LokiConfig;
  const resource = config.limits_config?.otlp_config?.resource_attributes;
  const defaults =
    config.distributor?.otlp_config?.default_resource_attributes_as_index_labels ?? LOKI_DEFAULT_INDEX;
  const out = new Set(resource?.ignore_defaults ? [] : defaults);
  for (const c of resource?.attributes_config ?? []) {
    for (const a of c.attributes ?? []) {
      if (c.action === 'index_label') out.add(a);
      else out.delete(a);
    }
  }
  return new Set([...out].map((a) => a.replace(/[.-]/g, '_')));
}
