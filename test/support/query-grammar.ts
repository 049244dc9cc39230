import { parser as logqlParser } from '@grafana/lezer-logql';
import { parser as traceqlParser } from '@grafana/lezer-traceql';
import type { LRParser } from '@lezer/lr';
import { parser as promqlParser } from '@prometheus-io/lezer-promql';

/**
 * Every query the project ships, parsed by the grammars Grafana's own query editors use
 * (@grafana/lezer-logql, @grafana/lezer-traceql, @prometheus-io/lezer-promql): a query with an
 * error node is one Grafana's editor would underline. From the same syntax tree it lists what a
 * query relies on: metric names and labels (PromQL), stream labels and filtered labels (LogQL),
 * span/resource attributes (TraceQL), so tests can check them against what the pipeline exports.
 */

export type Language = 'promql' | 'logql' | 'traceql';

const PARSERS: Record<Language, LRParser> = {
  promql: promqlParser as unknown as LRParser,
  logql: logqlParser as unknown as LRParser,
  traceql: traceqlParser as unknown as LRParser,
};

interface Node {
  readonly name: string;
  readonly from: number;
  readonly to: number;
  readonly isError: boolean;
  readonly parent: string | undefined;
}

function nodes(language: Language, query: string): Node[] {
  const out: Node[] = [];
  const stack: string[] = [];
  PARSERS[language].parse(query).iterate({
    enter(n) {
      out.push({ name: n.name, from: n.from, to: n.to, isError: n.type.isError, parent: stack.at(-1) });
      stack.push(n.name);
    },
    leave() {
      stack.pop();
    },
  });
  return out;
}

/** Positions (with some context) of every error node; empty when the grammar accepts the query. */
export function syntaxErrors(language: Language, query: string): string[] {
  if (query.trim() === '') return ['empty query'];
  return nodes(language, query)
    .filter((n) => n.isError)
    .map((n) => `error at ${n.from}: ...${query.slice(Math.max(0, n.from - 20), n.from + 20)}...`);
}

function unquote(text: string): string {
  if (text.startsWith('`')) return text.slice(1, -1);
  return JSON.parse(text) as string;
}

export interface PromQLUse {
  readonly metrics: string[];
  /** Label names in matchers, by/without and on/ignoring clauses. */
  readonly labels: string[];
}

export function promqlUse(query: string): PromQLUse {
  const metrics = new Set<string>();
  const labels = new Set<string>();
  for (const n of nodes('promql', query)) {
    const text = query.slice(n.from, n.to);
    if (n.name === 'Identifier' && n.parent === 'VectorSelector') metrics.add(text);
    if (n.name === 'LabelName') labels.add(text);
  }
  return { metrics: [...metrics], labels: [...labels] };
}

export interface Matcher {
  readonly label: string;
  readonly op: string;
  readonly value: string;
}

export interface LogQLUse {
  /** Matchers of the stream selector `{...}` (index labels). */
  readonly streamMatchers: Matcher[];
  /** Labels a pipeline label filter tests (structured metadata or index labels). */
  readonly filterLabels: string[];
  /** Labels the query itself creates (label_format), which need not exist in the data. */
  readonly createdLabels: string[];
}

/** The Matcher children (Identifier, operator, String) in document order. */
function matchers(all: Node[], query: string, parent: string): Matcher[] {
  const out: Matcher[] = [];
  all.forEach((n, i) => {
    if (n.name !== 'Matcher' || n.parent !== parent) return;
    const [id, op, value] = [all[i + 1], all[i + 2], all[i + 3]];
    if (id?.name !== 'Identifier' || !op || value?.name !== 'String') return;
    out.push({
      label: query.slice(id.from, id.to),
      op: query.slice(op.from, op.to),
      value: unquote(query.slice(value.from, value.to)),
    });
  });
  return out;
}

export function logqlUse(query: string): LogQLUse {
  const all = nodes('logql', query);
  const streamMatchers = matchers(all, query, 'Matchers');
  const filterLabels = new Set(matchers(all, query, 'LabelFilter').map((m) => m.label));
  const createdLabels = all
    .filter((n) => n.name === 'Identifier' && n.parent === 'LabelFormatMatcher')
    .map((n) => query.slice(n.from, n.to));
  return { streamMatchers, filterLabels: [...filterLabels], createdLabels };
}

export interface TraceQLAttribute {
  /** span, resource, or any (a leading `.`). */
  readonly scope: string;
  readonly name: string;
}

export function traceqlUse(query: string): TraceQLAttribute[] {
  const all = nodes('traceql', query);
  const out: TraceQLAttribute[] = [];
  all.forEach((n, i) => {
    if (n.name !== 'AttributeField') return;
    const scopeNode = all[i + 1];
    const scoped = scopeNode && scopeNode.parent === 'AttributeField' && scopeNode.name !== 'Identifier';
    const id = all.slice(i + 1).find((c) => c.name === 'Identifier' && c.from < n.to);
    if (!id) return;
    out.push({ scope: scoped ? scopeNode.name.toLowerCase() : 'any', name: query.slice(id.from, id.to) });
  });
  return out;
}

/** Loki 3.7's default resource attributes made index labels (pkg/loghttp/push/otlp_config.go). */
export const LOKI_DEFAULT_INDEX = [
  'service.name',
  'service.namespace',
  'service.instance.id',
  'deployment.environment',
  'deployment.environment.name',
  'cloud.region',
  'cloud.availability_zone',
  'k8s.cluster.name',
  'k8s.namespace.name',
  'k8s.pod.name',
  'k8s.container.name',
  'container.name',
  'k8s.replicaset.name',
  'k8s.deployment.name',
  'k8s.statefulset.name',
  'k8s.daemonset.name',
  'k8s.cronjob.name',
  'k8s.job.name',
];

interface AttrConfig {
  action?: string;
  attributes?: string[];
  regex?: string;
}
interface LokiConfig {
  limits_config?: {
    otlp_config?: { resource_attributes?: { ignore_defaults?: boolean; attributes_config?: AttrConfig[] } };
  };
  distributor?: { otlp_config?: { default_resource_attributes_as_index_labels?: string[] } };
}

/**
 * Index labels (underscored) Loki makes from these OTLP resource attributes under this config.
 * As in Loki's actionForAttribute: the defaults come first unless ignore_defaults, then the
 * configured rules; the first rule naming an attribute decides; anything unnamed is metadata.
 */
export function lokiIndexLabels(raw: unknown, resourceAttributes: Iterable<string>): Set<string> {
  const config = (raw ?? {}) as LokiConfig;
  const resource = config.limits_config?.otlp_config?.resource_attributes;
  const defaults =
    config.distributor?.otlp_config?.default_resource_attributes_as_index_labels ?? LOKI_DEFAULT_INDEX;
  const rules: AttrConfig[] = [
    ...(resource?.ignore_defaults ? [] : [{ action: 'index_label', attributes: defaults }]),
    ...(resource?.attributes_config ?? []),
  ];
  const out = new Set<string>();
  for (const attribute of resourceAttributes) {
    const rule = rules.find(
      (r) =>
        r.attributes?.includes(attribute) ||
        (r.regex !== undefined && new RegExp(`^(?:${r.regex})$`).test(attribute)),
    );
    if (rule?.action === 'index_label') out.add(attribute.replace(/[.-]/g, '_'));
  }
  return out;
}
