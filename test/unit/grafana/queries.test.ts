import { expect } from 'chai';
import { ALERT_RULES, listQueries, PANEL_IDS, substituteVariables } from '../../../grafana/src/index.ts';

describe('listing every query for the pipeline test', () => {
  const queries = listQueries({
    entity: 'orders',
    jobType: 'purge',
    runId: 'r-1',
    rateInterval: '2m',
    range: '3h',
  });

  it('substitutes every template variable', () => {
    for (const q of queries) expect(q.query, q.origin).to.not.include('$');
    const throughput = queries.find((q) => q.origin.startsWith(`${PANEL_IDS.throughput} `));
    expect(throughput?.query).to.equal(
      'sum by (entity, status) (rate(soft_delete_operations_total{entity=~"orders"}[2m] anchored))',
    );
  });

  it('covers every dashboard target, both variables and every alert rule', () => {
    const by = (s: string) => queries.filter((q) => q.source === s).length;
    expect(by('dashboard')).to.equal(32);
    expect(by('variable')).to.equal(2);
    expect(by('alert-prometheus')).to.equal(ALERT_RULES.length);
    expect(by('alert-probe')).to.equal(ALERT_RULES.length);
  });

  it('includes the run logs LogQL and the run traces TraceQL with the given run id', () => {
    expect(queries.filter((q) => q.language === 'logql').map((q) => q.query)).to.deep.equal([
      '{service_name=~"sdops.*"} | run_id!="" | run_id="r-1"',
    ]);
    expect(queries.filter((q) => q.language === 'traceql').map((q) => q.query)).to.deep.equal([
      '{ span.run_id = "r-1" }',
    ]);
  });

  it('does not expect data from thresholded alert expressions, but does from their probes', () => {
    for (const q of queries)
      expect(q.expectData, q.origin).to.equal(!q.source.startsWith('alert-') || q.source === 'alert-probe');
  });

  it('refuses a template variable it does not know', () => {
    expect(() => substituteVariables('rate(x_total[$__unknown])')).to.throw(/unknown template variable/);
  });
});
