// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings hold Grafana variables, not JS templates
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import {
  buildDashboard,
  generatedFiles,
  listQueries,
  REPO_ROOT,
  RUN_LOGS_FROM_RECORD_LOGQL,
  RUN_OR_TRACE_LOGS_LOGQL,
  TRACE_TO_METRICS_QUERIES,
} from '../../../grafana/src/index.ts';
import { explorePanes, fillLinkVariables } from '../../support/grafana-interpolation.ts';
import { type Language, syntaxErrors } from '../../support/query-grammar.ts';
import { codeBlocks } from '../docs/support/markdown.ts';

/**
 * Every query the project ships, parsed by the grammars Grafana's editors use: dashboard targets
 * and variables, alert expressions in both generated rule files, the top-bar and panel links,
 * the data-source link templates (after Grafana's variable substitution), and every promql, logql
 * and traceql block of the README, the runbook and docs/.
 */

const RUN = '0192f3a4-5b6c-7d8e-9f00-112233445566';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const DOCS = [
  'README.md',
  'docs/operational/soft-delete-runbook.md',
  'docs/architecture.md',
  'docs/telemetry.md',
  'docs/performance.md',
];

interface Shipped {
  readonly origin: string;
  readonly language: Language;
  readonly query: string;
}

const LINK_VALUES = {
  run_id: RUN,
  tempo: 'tempo',
  loki: 'loki',
  datasource: 'prometheus',
  __from: '0',
  __to: '1',
  '__value.raw': RUN,
  '__trace.traceId': TRACE,
};

function shipped(): Shipped[] {
  const out: Shipped[] = listQueries({ runId: RUN }).map((q) => ({
    origin: `${q.source} ${q.origin}`,
    language: q.language,
    query: q.query,
  }));
  const dashboard = buildDashboard() as unknown as {
    links?: { url?: string }[];
    panels?: { links?: { url?: string }[] }[];
  };
  const urls = [...(dashboard.links ?? []), ...(dashboard.panels ?? []).flatMap((p) => p.links ?? [])];
  for (const { url } of urls) {
    for (const pane of explorePanes(url ?? '')) {
      for (const q of pane.queries) {
        const language: Language = typeof q.expr === 'string' ? 'logql' : 'traceql';
        const text = String(q.expr ?? q.query);
        out.push({
          origin: `dashboard link ${url?.slice(0, 40)}`,
          language,
          query: fillLinkVariables(text, LINK_VALUES),
        });
      }
    }
  }
  for (const tags of [`run_id="${RUN}"`, '']) {
    out.push({
      origin: `Tempo traces-to-logs (__tags=${tags || 'empty'})`,
      language: 'logql',
      query: fillLinkVariables(RUN_OR_TRACE_LOGS_LOGQL, { ...LINK_VALUES, __tags: tags }),
    });
  }
  for (const q of TRACE_TO_METRICS_QUERIES) {
    out.push({
      origin: `Tempo traces-to-metrics ${q.name}`,
      language: 'promql',
      query: fillLinkVariables(q.query, { __tags: 'service_name="sdops-api"' }),
    });
  }
  out.push({
    origin: 'Loki derived field run_id',
    language: 'logql',
    query: fillLinkVariables(RUN_LOGS_FROM_RECORD_LOGQL, LINK_VALUES),
  });
  const rules = parse(
    generatedFiles().find((f) => f.path === 'prometheus/rules/soft-delete.rules.yml')?.content ?? '',
  ) as {
    groups: { rules: { alert: string; expr: string }[] }[];
  };
  for (const r of rules.groups.flatMap((g) => g.rules))
    out.push({ origin: `prometheus rule ${r.alert}`, language: 'promql', query: r.expr });
  const grafanaRules = parse(
    generatedFiles().find((f) => f.path === 'grafana/provisioning/alerting/rules.yaml')?.content ?? '',
  ) as {
    groups: { rules: { title: string; data: { model: { expr?: string } }[] }[] }[];
  };
  for (const r of grafanaRules.groups.flatMap((g) => g.rules)) {
    for (const d of r.data.filter((x) => x.model.expr))
      out.push({ origin: `grafana rule ${r.title}`, language: 'promql', query: d.model.expr as string });
  }
  for (const doc of DOCS) {
    for (const block of codeBlocks(readFileSync(join(REPO_ROOT, doc), 'utf8'))) {
      if (block.lang !== 'promql' && block.lang !== 'logql' && block.lang !== 'traceql') continue;
      // A block may hold several queries, one per paragraph; `$RUN_ID` is the reader's shell value.
      for (const query of block.text
        .split(/\n\s*\n/)
        .map((q) => q.trim())
        .filter(Boolean)) {
        out.push({
          origin: `${doc}:${block.line}`,
          language: block.lang,
          query: query
            .replace(/^#.*$/gm, '')
            .trim()
            .replaceAll('$RUN_ID', RUN)
            .replaceAll('$TRACE_ID', TRACE),
        });
      }
    }
  }
  return out.filter((q) => q.query !== '');
}

describe("every shipped query parses with Grafana's own grammars", () => {
  const all = shipped();

  it('finds the dashboard, alert, link and documentation queries in all three languages', () => {
    const count = (l: Language) => all.filter((q) => q.language === l).length;
    expect(count('promql')).to.be.greaterThan(40);
    expect(count('logql')).to.be.greaterThan(6);
    expect(count('traceql')).to.be.greaterThan(3);
    expect(all.filter((q) => q.origin.includes('runbook')).length).to.be.greaterThan(10);
  });

  it('has no error node in any of them', () => {
    const problems = all.flatMap((q) =>
      syntaxErrors(q.language, q.query).map((e) => `${q.origin} [${q.language}] ${e}\n  ${q.query}`),
    );
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });

  it('rejects what Grafana would underline (the check can fail)', () => {
    expect(syntaxErrors('promql', 'sum(rate(x_total[5m])')).to.not.be.empty;
    expect(syntaxErrors('logql', '{service_name=~"sdops.*"} | run_id=')).to.not.be.empty;
    expect(syntaxErrors('traceql', '{ span.run_id = }')).to.not.be.empty;
  });
});
