import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { ALERT_RULES, RUNBOOK_ANCHORS } from '../../../grafana/src/alerts.ts';
import {
  anchors,
  codeBlocks,
  codeSpans,
  prose,
  RUNBOOK_PATH,
  readDoc,
  ROOT,
  tableRows,
} from './support/markdown.ts';
import {
  GRAFANA_LINK_BASE,
  GRAFANA_URL_DEFAULT,
  RUNBOOK_HTML_FILE,
  RUNBOOK_URL_PATH,
} from '../../../grafana/src/index.ts';
import {
  lokiIndexLabels,
  logqlUse,
  promqlUse,
  syntaxErrors,
  traceqlUse,
} from '../../support/query-grammar.ts';

const runbook = readDoc(RUNBOOK_PATH);
const catalog = readDoc('docs/telemetry.md');
const blocks = codeBlocks(runbook);

const cells = (header: string, column: number): string[] =>
  tableRows(catalog, header).flatMap((row) => codeSpans(row[column] ?? ''));

/** What docs/telemetry.md promises. */
const CATALOG = {
  metrics: new Set(cells('OTel name', 1)),
  // An attribute's Prometheus label is its name with dots as underscores (http.route: http_route).
  metricLabels: new Set([
    ...cells('OTel name', 4).flatMap((a) => [a, a.replaceAll('.', '_')]),
    ...cells('Attribute', 0).filter((a) => !a.includes('.')),
  ]),
  spanAttributes: new Set(cells('Span name', 2)),
  resourceAttributes: new Set(cells('Attribute', 0).filter((a) => a.includes('.'))),
  logFields: new Set(cells('Field', 0)),
};

/**
 * Names the pipeline adds on top of the catalog, each with where it comes from. Kept short and
 * explicit: anything else in a runbook query is a typo or a rename.
 */
const PIPELINE_METRICS = new Map<string, string>([
  ['up', 'Prometheus scrape health of each scrape job'],
  ['target_info', "collector prometheus exporter: a process's resource attributes as labels"],
  ['traces_spanmetrics_latency_bucket', 'span_metrics connector + rename (otel-collector/config.yaml)'],
  ['traces_spanmetrics_latency_count', 'span_metrics connector'],
  ['traces_spanmetrics_latency_sum', 'span_metrics connector'],
  ['traces_spanmetrics_calls_total', 'span_metrics connector'],
  ['traces_service_graph_request_total', "Tempo's service-graph processor (remote write)"],
  ['traces_service_graph_request_failed_total', "Tempo's service-graph processor"],
  // The collector's own metrics (service.telemetry, :8888). Collector 0.165 exposes counters
  // without a _total suffix (seen on its /metrics endpoint).
  ['otelcol_exporter_queue_size', 'collector: batches in an exporter sending queue'],
  [
    'otelcol_exporter_in_flight_requests',
    'collector: requests an exporter has out (a retried batch holds one)',
  ],
  ['otelcol_exporter_queue_capacity', 'collector: sending queue capacity'],
  ['otelcol_exporter_sent_spans', 'collector: spans an exporter delivered'],
  ['otelcol_exporter_sent_log_records', 'collector: log records an exporter delivered'],
  ['otelcol_exporter_send_failed_spans', 'collector: spans dropped after retries'],
  ['otelcol_exporter_send_failed_log_records', 'collector: log records dropped after retries'],
  ['otelcol_exporter_enqueue_failed_spans', 'collector: spans dropped, sending queue full'],
  ['otelcol_exporter_enqueue_failed_log_records', 'collector: log records dropped, sending queue full'],
  ['otelcol_exporter_send_failed_metric_points', 'collector: metric points refused or dropped after retries'],
  ['otelcol_exporter_enqueue_failed_metric_points', 'collector: metric points dropped, sending queue full'],
  ['otelcol_receiver_refused_spans', 'collector: spans refused (memory limiter)'],
  ['otelcol_receiver_refused_log_records', 'collector: log records refused (memory limiter)'],
  [
    'otelcol_loadbalancer_backend_outcome',
    'agent (two-tier layout): batches handed to a gateway queue, by success',
  ],
  [
    'otelcol_processor_tail_sampling_sampling_trace_dropped_too_early',
    'gateway: traces dropped before a decision',
  ],
]);

const PIPELINE_LABELS = new Map<string, string>([
  ['le', 'histogram bucket bound'],
  ['host_name', 'resource attribute host.name, on target_info (telemetry.md: host detector)'],
  ['process_pid', 'resource attribute process.pid, on target_info'],
  ['job', 'service.name (collector prometheus exporter, honor_labels) or the scrape job'],
  ['instance', 'service.instance.id (collector prometheus exporter) or the scrape target'],
  ['service_name', 'span_metrics connector dimension'],
  ['span_name', 'span_metrics connector dimension'],
  ['span_kind', 'span_metrics connector dimension'],
  ['status_code', 'span_metrics connector dimension'],
  ['exporter', 'collector internal metrics'],
  ['receiver', 'collector internal metrics'],
  ['data_type', 'collector internal metrics'],
  ['transport', 'collector internal metrics'],
  ['client', 'service graph: calling service'],
  ['server', 'service graph: called service or database (server.address)'],
  ['connection_type', 'service graph: database, messaging_system, virtual_node'],
  ['success', 'collector internal metrics (load_balancing exporter)'],
]);

/**
 * Log attributes the runbook filters on that docs/telemetry.md does not list as fields: logged by
 * the code (checked below), or put there by the OTLP -> Loki mapping.
 */
const LOG_FIELDS_FROM_CODE = ['batch', 'cursor_from', 'cursor_to'];
const LOKI_OTLP_FIELDS = new Map<string, string>([
  ['severity_text', 'LogRecord.SeverityText (the winston level)'],
  ['exception_message', 'exception.message, set by sdk-logs from the logged error'],
  ['exception_type', 'exception.type, set by sdk-logs from the logged error'],
]);

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

function blocksOf(lang: string): string[] {
  return blocks.filter((b) => b.lang === lang).map((b) => b.text.trim());
}

function section(heading: string): string {
  const start = runbook.indexOf(`\n## ${heading}\n`);
  expect(start, `runbook section "## ${heading}"`).to.be.greaterThan(-1);
  const end = runbook.indexOf('\n## ', start + 1);
  return runbook.slice(start, end < 0 ? undefined : end);
}

describe('the runbook (docs/operational/soft-delete-runbook.md)', () => {
  it('reads its facts from a catalog that has metrics, labels, span attributes and log fields', () => {
    for (const [name, set] of Object.entries(CATALOG)) expect(set.size, name).to.be.greaterThan(2);
  });

  it('queries only metrics and labels the catalog or the pipeline provides', () => {
    const queries = blocksOf('promql');
    expect(queries.length).to.be.greaterThan(10);
    const problems: string[] = [];
    for (const q of queries) {
      expect(syntaxErrors('promql', q), q).to.deep.equal([]);
      const { metrics, labels } = promqlUse(q);
      expect(metrics, q).to.not.be.empty;
      for (const m of metrics) {
        if (!CATALOG.metrics.has(m) && !PIPELINE_METRICS.has(m)) problems.push(`metric ${m} in ${q}`);
      }
      for (const l of labels) {
        if (!CATALOG.metricLabels.has(l) && !PIPELINE_LABELS.has(l)) problems.push(`label ${l} in ${q}`);
      }
    }
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });

  it('names only known metrics in its prose too', () => {
    const known = [...CATALOG.metrics, ...PIPELINE_METRICS.keys()];
    const mentioned = codeSpans(prose(runbook)).filter((s) =>
      /^(soft_delete|cleanup|migration|traces|otelcol)_[a-z0-9_]+\*?$/.test(s),
    );
    expect(mentioned).to.not.be.empty;
    for (const m of mentioned) {
      const ok = m.endsWith('*') ? known.some((k) => k.startsWith(m.slice(0, -1))) : known.includes(m);
      expect(ok, `${m} is not a metric the catalog or the pipeline provides`).to.equal(true);
    }
  });

  it('selects Loki streams by index labels the OTLP resource really has and filters on fields the code logs', () => {
    const loki = parse(readFileSync(join(ROOT, 'loki/loki.yaml'), 'utf8')) as unknown;
    const indexLabels = lokiIndexLabels(loki, CATALOG.resourceAttributes);
    expect([...indexLabels].sort()).to.deep.equal(['deployment_environment_name', 'service_name']);
    const fields = new Set([...CATALOG.logFields, ...LOG_FIELDS_FROM_CODE, ...LOKI_OTLP_FIELDS.keys()]);
    const queries = blocksOf('logql');
    expect(queries.length).to.be.greaterThan(3);
    for (const q of queries) {
      expect(syntaxErrors('logql', q.replaceAll('$RUN_ID', 'r')), q).to.deep.equal([]);
      const { streamMatchers, filterLabels } = logqlUse(q.replaceAll('$RUN_ID', 'r'));
      const streamLabels = streamMatchers.map((m) => m.label);
      expect(streamLabels, q).to.not.be.empty;
      for (const l of streamLabels) expect(indexLabels.has(l), `stream label ${l} in ${q}`).to.equal(true);
      for (const l of filterLabels) expect(fields.has(l), `field ${l} in ${q}`).to.equal(true);
    }
  });

  it('relies only on log fields that the code really logs', () => {
    const code = sourceFiles('src')
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    for (const field of LOG_FIELDS_FROM_CODE) {
      expect(new RegExp(`\\b${field}[:,]`).test(code), `src/ logs a "${field}" field`).to.equal(true);
    }
  });

  it('searches traces only by span attributes and resource attributes in the catalog', () => {
    const queries = blocksOf('traceql');
    expect(queries.some((q) => q.includes('span.run_id'))).to.equal(true);
    for (const q of queries) {
      const text = q.replaceAll('$RUN_ID', 'r');
      // Intrinsics (name, status, kind, duration) are known to the grammar; anything else is an error.
      expect(syntaxErrors('traceql', text), q).to.deep.equal([]);
      for (const a of traceqlUse(text)) {
        const known = a.scope === 'resource' ? CATALOG.resourceAttributes : CATALOG.spanAttributes;
        expect(known.has(a.name), `${a.scope}.${a.name} in ${q}`).to.equal(true);
      }
    }
  });

  it('has a heading for every runbook_url of the Prometheus rules and the Grafana-managed rules', () => {
    const targets = anchors(runbook);
    const urls: { origin: string; url: string }[] = [];
    const promDir = join(ROOT, 'prometheus/rules');
    for (const file of readdirSync(promDir).filter((f) => /\.ya?ml$/.test(f))) {
      const doc = parse(readFileSync(join(promDir, file), 'utf8')) as {
        groups: { rules: { alert?: string; annotations?: { runbook_url?: string } }[] }[];
      };
      for (const rule of doc.groups.flatMap((g) => g.rules).filter((r) => r.alert)) {
        urls.push({ origin: `prometheus ${rule.alert}`, url: rule.annotations?.runbook_url ?? '' });
      }
    }
    const grafanaDir = join(ROOT, 'grafana/provisioning/alerting');
    for (const file of readdirSync(grafanaDir).filter((f) => /\.ya?ml$/.test(f))) {
      const doc = parse(readFileSync(join(grafanaDir, file), 'utf8')) as {
        groups?: { rules: { title: string; annotations?: { runbook_url?: string } }[] }[];
      };
      for (const rule of (doc.groups ?? []).flatMap((g) => g.rules)) {
        urls.push({ origin: `grafana ${rule.title}`, url: rule.annotations?.runbook_url ?? '' });
      }
    }
    expect(urls.filter((u) => u.origin.startsWith('prometheus'))).to.have.length(ALERT_RULES.length);
    expect(urls.filter((u) => u.origin.startsWith('grafana'))).to.have.length(ALERT_RULES.length);
    const html = readFileSync(join(ROOT, RUNBOOK_HTML_FILE), 'utf8');
    for (const { origin, url } of urls) {
      const [path, anchor] = url.split('#');
      // Grafana's externalURL ends with `/`: its links carry the path without the leading one.
      const want = origin.startsWith('grafana')
        ? `${GRAFANA_LINK_BASE}${RUNBOOK_URL_PATH.slice(1)}`
        : `${GRAFANA_URL_DEFAULT}${RUNBOOK_URL_PATH}`;
      expect(path, origin).to.equal(want);
      expect(targets.has(anchor ?? ''), `${origin}: #${anchor} is not a heading of the runbook`).to.equal(
        true,
      );
      expect(html, `${origin}: the served runbook has id="${anchor}"`).to.include(`id="${anchor}"`);
    }
    for (const anchor of RUNBOOK_ANCHORS) expect(targets.has(anchor), anchor).to.equal(true);
  });

  it('links only to headings that exist', () => {
    const targets = anchors(runbook);
    const links = [...prose(runbook).matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1] as string);
    expect(links).to.not.be.empty;
    for (const link of links) expect(targets.has(link), `#${link}`).to.equal(true);
  });

  it('gives every alert its meaning, impact, dashboard check, queries, commands, mitigation, recovery and escalation', () => {
    for (const rule of ALERT_RULES) {
      const text = section(`Alert: ${rule.name}`);
      for (const part of [
        '**Meaning.**',
        '**Impact',
        '**Confirm on the dashboard**',
        '**Mitigation.**',
        '**Verify recovery.**',
        '**Escalate**',
      ]) {
        expect(text, `${rule.name}: ${part}`).to.include(part);
      }
      const langs = codeBlocks(text).map((b) => b.lang);
      for (const lang of ['promql', 'logql', 'bash'])
        expect(langs, `${rule.name}: a ${lang} block`).to.include(lang);
    }
  });

  it('points at dashboard panels by their real titles', () => {
    const dashboard = JSON.parse(
      readFileSync(join(ROOT, 'grafana/dashboards/soft-delete-operations.json'), 'utf8'),
    ) as { panels: { title: string; type: string }[] };
    const titles = new Set(dashboard.panels.filter((p) => p.type !== 'row').map((p) => p.title));
    for (const rule of ALERT_RULES) {
      const text = section(`Alert: ${rule.name}`);
      const confirm = text.slice(text.indexOf('**Confirm on the dashboard**'));
      const paragraph = confirm.slice(0, confirm.indexOf('\n\n'));
      const named = [...paragraph.matchAll(/\*\*([^*]+)\*\*/g)]
        .map((m) => (m[1] as string).replace(/\s+/g, ' '))
        .slice(1);
      expect(named, rule.name).to.not.be.empty;
      for (const title of named) expect(titles.has(title), `${rule.name}: panel "${title}"`).to.equal(true);
    }
  });

  it('has the procedures an on-call engineer needs', () => {
    for (const heading of [
      'Procedure: partial failures during a migration',
      'Procedure: stopping and resuming a migration run',
      'Procedure: investigating job failures and a growing queue',
      'Procedure: the collector or a backend is down',
    ]) {
      expect(section(heading).length, heading).to.be.greaterThan(500);
    }
  });
});
