import { expect } from 'chai';
import { parse } from 'yaml';
import {
  ALERT_RULES,
  DASHBOARD_UID,
  DATASOURCE_UIDS,
  generatedFiles,
  GRAFANA_MOUNTS,
  grafanaAlertRules,
  grafanaContactPoints,
  prometheusExpr,
  prometheusRules,
  WEBHOOK_URL_ENV,
} from '../../../grafana/src/index.ts';

interface Ds {
  name: string;
  uid: string;
  type: string;
  jsonData: Record<string, unknown>;
}
function file(path: string): string {
  const found = generatedFiles().find((f) => f.path === path);
  if (!found) throw new Error(`${path} is not generated`);
  return found.content;
}
const ds = (parse(file('grafana/provisioning/datasources/datasources.yaml')) as { datasources: Ds[] })
  .datasources;
function byUid(uid: string): Ds {
  const found = ds.find((d) => d.uid === uid);
  if (!found) throw new Error(`no data source ${uid}`);
  return found;
}

describe('Grafana data-source provisioning', () => {
  it('provisions Prometheus, Tempo and Loki under their fixed UIDs', () => {
    expect(ds.map((d) => [d.uid, d.type])).to.deep.equal([
      [DATASOURCE_UIDS.prometheus, 'prometheus'],
      [DATASOURCE_UIDS.tempo, 'tempo'],
      [DATASOURCE_UIDS.loki, 'loki'],
    ]);
  });

  it('links Prometheus exemplars to Tempo by the trace_id label', () => {
    expect(byUid('prometheus').jsonData.exemplarTraceIdDestinations).to.deep.equal([
      { name: 'trace_id', datasourceUid: 'tempo', urlDisplayLabel: 'Open trace' },
    ]);
  });

  it('links Tempo spans to their Loki logs by trace id, to metrics and to the service map', () => {
    const j = byUid('tempo').jsonData as Record<string, { datasourceUid?: string; query?: string }>;
    expect(j.tracesToLogsV2?.datasourceUid).to.equal('loki');
    // `$$` in the file is Grafana's escape for a literal `$`.
    expect(j.tracesToLogsV2?.query).to.equal('{service_name=~"sdops.*"} | trace_id="$${__trace.traceId}"');
    expect(j.tracesToMetrics?.datasourceUid).to.equal('prometheus');
    expect(j.serviceMap?.datasourceUid).to.equal('prometheus');
  });

  it('turns Loki trace_id into a Tempo link and run_id into the logs of the same run', () => {
    const fields = byUid('loki').jsonData.derivedFields as {
      name: string;
      datasourceUid: string;
      url: string;
    }[];
    expect(fields.map((f) => [f.name, f.datasourceUid, f.url])).to.deep.equal([
      ['trace_id', 'tempo', '$${__value.raw}'],
      ['run_id', 'loki', '{service_name=~"sdops.*"} | run_id="$${__value.raw}"'],
    ]);
  });

  it('escapes every Grafana link variable in provisioning files as $$', () => {
    for (const f of generatedFiles().filter((g) => g.path.startsWith('grafana/provisioning/'))) {
      // A `${` not preceded by `$` would be eaten by Grafana's environment-variable interpolation.
      expect(f.content, f.path).to.not.match(/(^|[^$])\$\{/m);
    }
  });

  it('points the dashboard provider at the folder compose mounts grafana/dashboards on', () => {
    const providers = parse(file('grafana/provisioning/dashboards/dashboards.yaml')) as {
      providers: { options: { path: string } }[];
    };
    expect(providers.providers[0]?.options.path).to.equal(GRAFANA_MOUNTS.dashboards.target);
  });
});

describe('alert rules generated for Grafana and for Prometheus', () => {
  const grafana = grafanaAlertRules() as {
    groups: { rules: Record<string, unknown>[] }[];
  };
  const gRules = grafana.groups[0]?.rules ?? [];
  const pRules = prometheusRules().groups[0]?.rules ?? [];

  it('define the three rules once, under the same names, in both files', () => {
    const names = ALERT_RULES.map((r) => r.name);
    expect(names).to.deep.equal(['CleanupJobFailureRatioHigh', 'CleanupQueueBacklog', 'MigrationRunFailed']);
    expect(gRules.map((r) => r.title)).to.deep.equal(names);
    expect(pRules.map((r) => r.alert)).to.deep.equal(names);
  });

  for (const rule of ALERT_RULES) {
    it(`${rule.name}: Grafana evaluates the same query, threshold, for and labels as Prometheus`, () => {
      const g = gRules.find((r) => r.title === rule.name) as {
        data: { refId: string; datasourceUid: string; model: Record<string, unknown> }[];
        for: string;
        labels: Record<string, string>;
        annotations: Record<string, string>;
        dashboardUid: string;
        panelId: number;
        condition: string;
      };
      const p = pRules.find((r) => r.alert === rule.name);
      expect(p?.expr).to.equal(prometheusExpr(rule));
      expect(g.data[0]).to.deep.include({ refId: 'A', datasourceUid: 'prometheus' });
      expect(g.data[0]?.model.expr).to.equal(rule.valueExpr);
      expect(g.condition).to.equal('C');
      expect(g.data[1]?.model).to.deep.include({ type: 'threshold', expression: 'A' });
      expect(g.data[1]?.model.conditions).to.deep.equal([
        { evaluator: { type: 'gt', params: [rule.threshold] } },
      ]);
      expect(g.for).to.equal(p?.for);
      expect(g.labels).to.deep.equal(p?.labels);
      expect(g.dashboardUid).to.equal(DASHBOARD_UID);
      expect(g.panelId).to.equal(rule.panelId);
      expect(g.annotations.runbook_url).to.equal(p?.annotations.runbook_url);
      expect(g.annotations.description).to.include('$values.A.Value');
      expect(p?.annotations.description).to.include('$value');
    });
  }

  it('sends notifications to a webhook whose URL comes from the environment', () => {
    const cp = grafanaContactPoints() as {
      contactPoints: { receivers: { type: string; settings: { url: string } }[] }[];
    };
    expect(cp.contactPoints[0]?.receivers[0]).to.deep.include({ type: 'webhook' });
    expect(cp.contactPoints[0]?.receivers[0]?.settings.url).to.equal(`$${WEBHOOK_URL_ENV}`);
  });
});
