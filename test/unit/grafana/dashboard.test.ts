// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings hold Grafana variables, not JS templates
import { expect } from 'chai';
import {
  buildDashboard,
  DASHBOARD_TITLE,
  DASHBOARD_UID,
  type DashboardJson,
  lintDashboard,
  lintPanel,
  PANEL_IDS,
  type PanelJson,
  SPAN_METRICS,
} from '../../../grafana/src/index.ts';
import { explorePanes, fillLinkVariables } from '../../support/grafana-interpolation.ts';
import { logqlUse, syntaxErrors } from '../../support/query-grammar.ts';

const dashboard = buildDashboard() as unknown as DashboardJson & {
  links?: { url?: string; title?: string }[];
  templating: { list: { name: string; type: string; query?: unknown }[] };
};
const panels = (dashboard.panels ?? []).filter((p) => p.type !== 'row') as (PanelJson & {
  fieldConfig: { defaults: { unit?: string; thresholds?: { steps: { value: number | null }[] } } };
  links?: { url?: string }[];
})[];

function panel(id: number) {
  const found = panels.find((p) => p.id === id);
  if (!found) throw new Error(`panel ${id} is missing`);
  return found;
}
function exprs(id: number): string[] {
  return (panel(id).targets ?? []).map((t) => t.expr ?? t.query ?? '');
}

describe('the Soft Delete Operations dashboard', () => {
  it('has the fixed uid and title the alerts and links use', () => {
    expect(dashboard.uid).to.equal(DASHBOARD_UID);
    expect(dashboard.title).to.equal(DASHBOARD_TITLE);
  });

  it('passes our dashboard lint (title, description, unit, data-source variable, rate windows, no raw counters)', () => {
    expect(lintDashboard(dashboard)).to.deep.equal([]);
  });

  it('offers data-source variables and entity, job_type and run_id variables', () => {
    const vars = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v.type]));
    expect(vars).to.include({
      datasource: 'datasource',
      loki: 'datasource',
      tempo: 'datasource',
      entity: 'query',
      job_type: 'query',
      run_id: 'textbox',
    });
  });

  it('has unique panel ids, every one listed in PANEL_IDS', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).to.equal(ids.length);
    expect([...ids].sort((a, b) => Number(a) - Number(b))).to.deep.equal(
      Object.values(PANEL_IDS).sort((a, b) => a - b),
    );
  });

  it('gives every metric panel thresholds', () => {
    for (const p of panels.filter((x) => x.type !== 'logs')) {
      expect(p.fieldConfig.defaults.thresholds?.steps.length ?? 0, String(p.title)).to.be.greaterThan(0);
    }
  });

  it('draws the threshold steps of every time series panel that has some (Grafana draws none by default)', () => {
    const stepped = panels.filter(
      (p) => p.type === 'timeseries' && (p.fieldConfig.defaults.thresholds?.steps.length ?? 0) > 1,
    );
    expect(stepped.length).to.be.greaterThan(5);
    for (const p of stepped) {
      const custom = (p.fieldConfig.defaults as { custom?: { thresholdsStyle?: { mode?: string } } }).custom;
      expect(custom?.thresholdsStyle?.mode, String(p.title)).to.equal('dashed');
    }
  });

  it('shows throughput by entity and status, and an error rate', () => {
    expect(exprs(PANEL_IDS.throughput)[0]).to.match(
      /sum by \(entity, status\) \(rate\(soft_delete_operations_total/,
    );
    expect(exprs(PANEL_IDS.errorRate)[0]).to.include('status="failure"');
    expect(panel(PANEL_IDS.errorRate).fieldConfig.defaults.unit).to.equal('percentunit');
  });

  it('shows the duration as a heatmap and as p50/p95/p99', () => {
    expect(panel(PANEL_IDS.durationHeatmap).type).to.equal('heatmap');
    const qs = exprs(PANEL_IDS.durationQuantiles);
    expect(qs.map((q) => /histogram_quantile\((0\.\d+)/.exec(q)?.[1])).to.deep.equal(['0.5', '0.95', '0.99']);
  });

  it('shows span-metrics latency with exemplars enabled', () => {
    const target = panel(PANEL_IDS.spanLatency).targets?.[0] as { exemplar?: boolean; expr?: string };
    expect(target.exemplar).to.equal(true);
    expect(target.expr).to.include(`${SPAN_METRICS.latency}_bucket`);
  });

  it('marks the alert thresholds on the queue, oldest-wait, stale-run and failure-ratio panels, and any dead job red', () => {
    const steps = (id: number) =>
      (panel(id).fieldConfig.defaults.thresholds?.steps ?? []).map((s) => s.value);
    expect(steps(PANEL_IDS.queueLength)).to.deep.equal([null, 101]);
    expect(steps(PANEL_IDS.jobFailureRatio)).to.deep.equal([null, 0.05]);
    expect(steps(PANEL_IDS.queueOldestWait)).to.deep.equal([null, 600]);
    expect(steps(PANEL_IDS.staleRuns)).to.deep.equal([null, 300]);
    expect(steps(PANEL_IDS.deadJobs)).to.deep.equal([null, 1]);
  });

  it("reads the queue, dead jobs and stale runs from the database's gauges, not from the workers", () => {
    expect(exprs(PANEL_IDS.queueLength)).to.deep.equal([
      'max by (job_type) (cleanup_queue_length{job_type=~"$job_type"})',
      // Held jobs, a killed worker's too: before, such a job showed on no panel for its whole lease.
      'max by (job_type) (cleanup_queue_active{job_type=~"$job_type"})',
    ]);
    expect(exprs(PANEL_IDS.queueOldestWait)[0]).to.include('cleanup_queue_oldest_wait_seconds');
    expect(exprs(PANEL_IDS.queueOldestWait)[1]).to.include('cleanup_queue_oldest_active_seconds');
    expect(exprs(PANEL_IDS.staleRuns)).to.deep.equal(['max by (migration) (migration_runs_stale_seconds)']);
    expect(exprs(PANEL_IDS.deadJobs)).to.deep.equal([
      'max by (job_type) (cleanup_queue_dead{job_type=~"$job_type"})',
    ]);
  });

  it('counts without extrapolation: every rate() and increase() of a panel is anchored', () => {
    const ranged = panels
      .flatMap((p) => (p.targets ?? []).map((t) => (t.expr ?? '').replace(/"[^"]*"/g, '""')))
      .flatMap((expr) => [
        ...expr.matchAll(/\b(?:rate|increase)\((?:[^()]|\([^()]*\))*?\[[^\]]+\]\s*(\w*)/g),
      ]);
    expect(ranged.length).to.be.greaterThan(10);
    expect(ranged.filter((m) => m[1] !== 'anchored').map((m) => m[0])).to.deep.equal([]);
  });

  it('shows 0, not NaN, for an idle entity or job type: ratios divide only by a positive count', () => {
    expect(exprs(PANEL_IDS.errorRate)[0]).to.match(/\/ \(sum by \(entity\) .* > 0\)\) or \(/);
    expect(exprs(PANEL_IDS.jobFailureRatio)[0]).to.match(/\/ \(sum by \(job_type\) .* > 0\)\) or \(/);
  });

  it('shows no logs in the run-logs panel until a run is chosen (an empty run_id matches no record)', () => {
    const [expr] = exprs(PANEL_IDS.runLogs);
    expect(expr).to.equal('{service_name=~"sdops.*"} | run_id!="" | run_id="${run_id}"');
    // With the variable empty the two filters contradict: run_id!="" and run_id="".
    const empty = fillLinkVariables(expr ?? '', { run_id: '' });
    expect(logqlUse(empty).filterLabels).to.deep.equal(['run_id']);
    expect(syntaxErrors('logql', empty)).to.deep.equal([]);
    expect(empty).to.include('| run_id!="" | run_id=""');
  });

  it('puts its links in the top bar (no placement), opening the run traces in Tempo and the run logs in Loki', () => {
    expect(dashboard.links?.map((l) => [l.title, (l as { placement?: string }).placement])).to.deep.equal([
      ['Traces of run ${run_id}', undefined],
      ['Logs of run ${run_id}', undefined],
    ]);
    const [traces, logs] = (dashboard.links ?? []).map((l) => explorePanes(l.url ?? '')[0]);
    expect(traces?.datasource).to.equal('${tempo}');
    expect(traces?.queries[0]?.query).to.equal('{ span.run_id = "${run_id}" }');
    expect(logs?.datasource).to.equal('${loki}');
    expect(logs?.queries[0]?.expr).to.equal(exprs(PANEL_IDS.runLogs)[0]);
  });

  it('shows the selected run logs from Loki and links the run traces in Tempo', () => {
    expect(exprs(PANEL_IDS.runTraces)).to.deep.equal(['{ span.run_id = "${run_id}" }']);
    const url = panel(PANEL_IDS.runTraces).links?.[0]?.url ?? '';
    expect(url).to.match(/^\/explore\?/);
    expect(url).to.include('${run_id}').and.include('${tempo}');
    const pane = JSON.parse(decodeURIComponent(url.split('panes=')[1] ?? '')) as {
      run: { queries: { query: string }[] };
    };
    expect(pane.run.queries[0]?.query).to.equal('{ span.run_id = "${run_id}" }');
    expect(dashboard.links?.[0]?.url).to.equal(url);
  });
});

describe('the dashboard linter', () => {
  const good: PanelJson = {
    id: 1,
    type: 'timeseries',
    title: 'T',
    description: 'D',
    datasource: { type: 'prometheus', uid: '${datasource}' },
    fieldConfig: { defaults: { unit: 's' } },
    targets: [{ expr: 'sum(rate(x_total[$__rate_interval]))', datasource: { uid: '${datasource}' } }],
  };
  const rules = (p: PanelJson) => lintPanel(p).map((v) => v.rule);

  it('accepts a well-formed panel', () => {
    expect(lintPanel(good)).to.deep.equal([]);
  });

  it('reports a missing title, description or unit', () => {
    expect(rules({ ...good, title: '', description: ' ', fieldConfig: { defaults: {} } })).to.deep.equal([
      'title',
      'description',
      'unit',
    ]);
  });

  it('reports a hard-coded data-source uid', () => {
    expect(rules({ ...good, datasource: { type: 'prometheus', uid: 'prometheus' } })).to.deep.equal([
      'datasource-variable',
    ]);
  });

  it('reports a counter graphed raw, including inside sum() or with a range but no rate', () => {
    for (const expr of ['x_total', 'sum(x_total{a="b"})', 'max_over_time(x_total[5m])', 'h_bucket']) {
      expect(rules({ ...good, targets: [{ expr }] }), expr).to.include('raw-counter');
    }
  });

  it('ignores counter-like words inside label values', () => {
    expect(
      rules({ ...good, targets: [{ expr: 'sum(rate(x_total{kind="y_total"}[$__rate_interval]))' }] }),
    ).to.deep.equal([]);
  });

  it('requires a fixed rate window to be named in the description', () => {
    const target = { expr: 'sum(increase(x_total[1h]))' };
    expect(rules({ ...good, targets: [target] })).to.deep.equal(['rate-window']);
    expect(rules({ ...good, description: 'over a 1h window', targets: [target] })).to.deep.equal([]);
  });
});
