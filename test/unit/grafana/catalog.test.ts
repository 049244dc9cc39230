import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { expect } from 'chai';
import { METRICS, REPO_ROOT, SPAN_METRICS } from '../../../grafana/src/index.ts';
import { DATABASE_GAUGES, INSTRUMENTS, PROCESS_GAUGES } from '../../../src/observability/instruments.ts';

/**
 * The collector's prometheus exporter (translation_strategy UnderscoreEscapingWithSuffixes) turns
 * dots into underscores, adds `_total` to counters and the unit suffix (`s` -> `_seconds`) unless
 * the name already ends with it; curly-brace units such as `{row}` add nothing.
 */
function prometheusName(def: { name: string; kind: string; unit: string }): string {
  let name = def.name.replaceAll('.', '_');
  if (def.unit === 's' && !name.endsWith('_seconds')) name += '_seconds';
  if (def.kind === 'counter' && !name.endsWith('_total')) name += '_total';
  return name;
}

describe('metric names used by the dashboard and alerts', () => {
  const instruments = { ...INSTRUMENTS, ...DATABASE_GAUGES, ...PROCESS_GAUGES };
  for (const [id, def] of Object.entries(instruments)) {
    it(`${def.name} is queried as the name the collector's Prometheus exporter gives it`, () => {
      expect(METRICS[id as keyof typeof instruments]).to.equal(prometheusName(def));
    });
  }

  it('knows no instrument the product does not emit, besides the collector span metrics', () => {
    const extra = Object.keys(METRICS).filter((id) => !(id in instruments));
    expect(extra).to.deep.equal(['spanDuration', 'spanCalls']);
  });

  it("names the span metrics as Grafana's Tempo service-graph view queries them, and the collector makes them so", () => {
    // Grafana's service-graph table: rate/errors from traces_spanmetrics_calls_total, the p90
    // column from traces_spanmetrics_latency_bucket (public/app/plugins/datasource/tempo).
    expect(SPAN_METRICS.calls).to.equal('traces_spanmetrics_calls_total');
    expect(`${SPAN_METRICS.latency}_bucket`).to.equal('traces_spanmetrics_latency_bucket');
    const config = parse(readFileSync(join(REPO_ROOT, 'otel-collector/config.yaml'), 'utf8')) as {
      connectors: { span_metrics: { namespace: string } };
      processors: Record<string, { metric_statements?: { conditions?: string[]; statements: string[] }[] }>;
      service: { pipelines: { metrics: { processors: string[] } } };
    };
    expect(config.connectors.span_metrics.namespace).to.equal(SPAN_METRICS.namespace);
    const rename = config.processors['transform/spanmetrics_names']?.metric_statements?.[0];
    expect(rename?.conditions).to.deep.equal([`metric.name == "${SPAN_METRICS.durationOtelName}"`]);
    expect(rename?.statements).to.include(`set(metric.name, "${SPAN_METRICS.latencyOtelName}")`);
    expect(rename?.statements).to.include('set(metric.unit, "")');
    expect(config.service.pipelines.metrics.processors).to.include('transform/spanmetrics_names');
    // The Prometheus translation of the connector's counter and of the renamed, unit-less histogram.
    expect(`${SPAN_METRICS.namespace.replaceAll('.', '_')}_calls_total`).to.equal(SPAN_METRICS.calls);
    expect(SPAN_METRICS.latencyOtelName.replaceAll('.', '_')).to.equal(SPAN_METRICS.latency);
  });
});
