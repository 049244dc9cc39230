import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { listQueries } from '../../../grafana/src/index.ts';
import { REPO_ROOT } from '../support/paths.ts';
import type { World } from './world.ts';
import { logqlUse, lokiIndexLabels, syntaxErrors, traceqlUse } from '../../support/query-grammar.ts';

/**
 * The dashboard's LogQL and TraceQL against the logs and spans the workload exported (its PromQL
 * and the alert expressions: panel-tests.ts).
 */
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
