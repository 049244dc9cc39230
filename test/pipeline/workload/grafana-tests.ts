import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { listQueries } from '../../../grafana/src/index.ts';
import { REPO_ROOT } from '../support/paths.ts';
import { promQuery } from '../support/prom-api.ts';
import type { World } from './world.ts';
import { promRangeSeries } from './prom.ts';
import { logqlUse, lokiIndexLabels, syntaxErrors, traceqlUse } from '../../support/query-grammar.ts';

/** The dashboard's and alert rules' queries against the data the workload produced. */
export function registerGrafanaTests(world: World): void {
  const queries = () =>
    listQueries({
      entity: 'customers|orders',
      jobType: 'noop',
      runId: world.ledger.sessions[0]?.runId,
      rateInterval: '1m',
      range: '1h',
    });

  describe('Grafana dashboard and alert queries', () => {
    it('every PromQL query parses, and returns data where the workload must have produced some', async () => {
      const problems: string[] = [];
      const promql = queries().filter((q) => q.language === 'promql');
      expect(promql.length).to.be.greaterThan(20);
      for (const q of promql) {
        try {
          const n = q.instant
            ? (await promQuery(world.prometheus.url, q.query)).length
            : await promRangeSeries(world.prometheus.url, q.query, world.startedAt);
          if (q.expectData && n === 0) problems.push(`${q.source} ${q.origin}: no data for ${q.query}`);
        } catch (error) {
          problems.push(`${q.source} ${q.origin}: ${(error as Error).message}`);
        }
      }
      expect(problems).to.deep.equal([]);
    });

    it('the MigrationRunFailed probe shows the failed runs of the workload', async () => {
      const probe = queries().find(
        (q) => q.source === 'alert-probe' && q.origin.startsWith('MigrationRunFailed'),
      );
      const result = await promQuery(world.prometheus.url, probe!.query);
      expect(result.map((s) => [s.metric.migration, s.value])).to.deep.equal([['backfill-deleted-at', 2]]);
    });

    it('every LogQL query is well-formed and uses only index labels Loki makes and attributes the logs carry', () => {
      const lokiConfig = parse(readFileSync(join(REPO_ROOT, 'loki/loki.yaml'), 'utf8')) as unknown;
      const records = world.collector.readLogs();
      const indexLabels = lokiIndexLabels(
        lokiConfig,
        new Set(records.flatMap((r) => Object.keys(r.resource))),
      );
      const resourceLabels = new Set(
        records.flatMap((r) => Object.keys(r.resource).map((k) => k.replace(/[.-]/g, '_'))),
      );
      const metadata = new Set(
        records.flatMap((r) => Object.keys(r.attributes).map((k) => k.replace(/[.-]/g, '_'))),
      );
      const logql = queries().filter((q) => q.language === 'logql');
      expect(logql.length).to.be.greaterThan(0);
      const problems: string[] = [];
      for (const q of logql) {
        const errors = syntaxErrors('logql', q.query);
        if (errors.length > 0) {
          problems.push(`${q.origin}: ${errors.join('; ')}`);
          continue;
        }
        const parsed = logqlUse(q.query);
        for (const l of parsed.streamMatchers.map((m) => m.label)) {
          if (!indexLabels.has(l)) problems.push(`${q.origin}: ${l} is not a Loki index label`);
          if (!resourceLabels.has(l))
            problems.push(`${q.origin}: no exported log has resource attribute ${l}`);
        }
        for (const l of parsed.filterLabels) {
          if (indexLabels.has(l) || parsed.createdLabels.includes(l)) continue;
          if (!metadata.has(l)) problems.push(`${q.origin}: no exported log has attribute ${l}`);
        }
        const selector = parsed.streamMatchers.find((m) => m.label === 'service_name');
        if (selector) {
          const services = [...new Set(records.map((r) => String(r.resource['service.name'])))];
          const re = new RegExp(`^(?:${selector.value})$`);
          if (!services.some((s) => re.test(s)))
            problems.push(`${q.origin}: service_name matches no exported service`);
        }
      }
      expect(problems).to.deep.equal([]);
    });

    it('every TraceQL query is well-formed and uses only span attributes the exported spans carry', () => {
      const spans = world.collector.readSpans();
      const spanAttributes = new Set(spans.flatMap((s) => Object.keys(s.attributes)));
      const resourceAttributes = new Set(spans.flatMap((s) => Object.keys(s.resource)));
      const traceql = queries().filter((q) => q.language === 'traceql');
      expect(traceql.length).to.be.greaterThan(0);
      const problems: string[] = [];
      for (const q of traceql) {
        const errors = syntaxErrors('traceql', q.query);
        if (errors.length > 0) {
          problems.push(`${q.origin}: ${errors.join('; ')}`);
          continue;
        }
        for (const a of traceqlUse(q.query)) {
          const known =
            a.scope === 'resource' ? resourceAttributes : a.scope === 'span' ? spanAttributes : undefined;
          if (known && !known.has(a.name))
            problems.push(`${q.origin}: no exported span has ${a.scope}.${a.name}`);
        }
        const runId = world.ledger.sessions[0]?.runId;
        if (runId && q.query.includes(runId) && !spans.some((s) => s.attributes.run_id === runId)) {
          problems.push(`${q.origin}: no span of run ${runId}`);
        }
      }
      expect(problems).to.deep.equal([]);
    });
  });
}
