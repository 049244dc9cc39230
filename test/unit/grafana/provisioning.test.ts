// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings hold Grafana variables, not JS templates
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
  GRAFANA_URL_DEFAULT,
  panelUrl,
  RUN_LOGS_FROM_RECORD_LOGQL,
  RUN_OR_TRACE_LOGS_LOGQL,
  RUNBOOK_URL_PATH,
  runbookUrl,
  TRACE_TO_METRICS_QUERIES,
  WEBHOOK_URL_ENV,
} from '../../../grafana/src/index.ts';
import {
  explorePanes,
  fillLinkVariables,
  grafanaAnnotation,
  grafanaProvisioned,
} from '../../support/grafana-interpolation.ts';
import { logqlUse, promqlUse, syntaxErrors } from '../../support/query-grammar.ts';

const RUN = '0192f3a4-5b6c-7d8e-9f00-112233445566';

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

  it('keeps Prometheus rules out of Grafana alerting: Grafana-managed rules notify (manageAlerts false)', () => {
    expect(byUid('prometheus').jsonData.manageAlerts).to.equal(false);
    expect(byUid('loki').jsonData.manageAlerts).to.equal(false);
  });

  it('links a Tempo span to the logs of its whole run, and a span without run_id to its trace logs', () => {
    const j = byUid('tempo').jsonData as Record<string, Record<string, unknown>>;
    const logs = j.tracesToLogsV2 as {
      datasourceUid: string;
      query: string;
      tags: unknown;
      customQuery: boolean;
    };
    expect(logs.datasourceUid).to.equal('loki');
    expect(logs.customQuery).to.equal(true);
    expect(logs.tags).to.deep.equal([{ key: 'run_id', value: 'run_id' }]);
    const query = grafanaProvisioned(logs.query);
    expect(query).to.equal(RUN_OR_TRACE_LOGS_LOGQL);
    // Grafana fills ${__tags} with the configured tags the span has, `key="value"`, or nothing.
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const spanOfRun = fillLinkVariables(query, { __tags: `run_id="${RUN}"`, '__trace.traceId': traceId });
    const spanWithoutRun = fillLinkVariables(query, { __tags: '', '__trace.traceId': traceId });
    for (const q of [spanOfRun, spanWithoutRun]) {
      expect(syntaxErrors('logql', q), q).to.deep.equal([]);
      const use = logqlUse(q);
      expect(use.streamMatchers).to.deep.equal([{ label: 'service_name', op: '=~', value: 'sdops.*' }]);
      expect(use.filterLabels.sort()).to.deep.equal(['run_match', 'trace_id']);
      expect(use.createdLabels).to.deep.equal(['run_match']);
    }
    // The label_format template renders a record's run_id exactly as Grafana renders the tag.
    const template = /label_format run_match=`([^`]*)`/.exec(query)?.[1] ?? '';
    const runMatch = (record: { run_id?: string }) => template.replace('{{.run_id}}', record.run_id ?? '');
    const selects = (tags: string, record: { run_id?: string; trace_id: string }) =>
      runMatch(record) === tags || record.trace_id === traceId;
    const otherTraceOfRun = { run_id: RUN, trace_id: 'ffffffffffffffffffffffffffffffff' };
    const sameTraceNoRun = { trace_id: traceId };
    const unrelated = { trace_id: 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee' };
    expect(
      [otherTraceOfRun, sameTraceNoRun, unrelated].map((r) => selects(`run_id="${RUN}"`, r)),
    ).to.deep.equal([true, true, false]);
    expect([otherTraceOfRun, sameTraceNoRun, unrelated].map((r) => selects('', r))).to.deep.equal([
      false,
      true,
      false,
    ]);
  });

  it('links Tempo spans to span metrics under the one span-metrics name, and to the service map', () => {
    const j = byUid('tempo').jsonData as Record<
      string,
      { datasourceUid?: string; queries?: { query: string }[] }
    >;
    expect(j.tracesToMetrics?.datasourceUid).to.equal('prometheus');
    const queries = (j.tracesToMetrics?.queries ?? []).map((q) => grafanaProvisioned(q.query));
    expect(queries).to.deep.equal(TRACE_TO_METRICS_QUERIES.map((q) => q.query));
    for (const q of queries) {
      const filled = fillLinkVariables(q, { __tags: 'service_name="sdops-api"' });
      expect(syntaxErrors('promql', filled), filled).to.deep.equal([]);
      expect(promqlUse(filled).metrics.every((m) => m.startsWith('traces_spanmetrics_'))).to.equal(true);
    }
    expect(j.serviceMap?.datasourceUid).to.equal('prometheus');
  });

  it('turns Loki trace_id into a Tempo link, and run_id into an Explore link whose Loki query is in expr', () => {
    const fields = byUid('loki').jsonData.derivedFields as {
      name: string;
      datasourceUid?: string;
      url: string;
    }[];
    expect(fields.map((f) => [f.name, f.datasourceUid])).to.deep.equal([
      ['trace_id', 'tempo'],
      ['run_id', undefined],
    ]);
    expect(grafanaProvisioned(fields[0]?.url ?? '')).to.equal('${__value.raw}');
    const url = grafanaProvisioned(fields[1]?.url ?? '');
    expect(url).to.match(/^\/explore\?schemaVersion=1&panes=/);
    const [pane] = explorePanes(url);
    expect(pane?.datasource).to.equal('loki');
    const query = pane?.queries[0] as { expr?: string; query?: string; datasource?: { uid: string } };
    expect(query.datasource?.uid).to.equal('loki');
    expect(query.query, 'Loki reads expr, not query').to.equal(undefined);
    expect(query.expr).to.equal(RUN_LOGS_FROM_RECORD_LOGQL);
    const filled = fillLinkVariables(query.expr ?? '', { '__value.raw': RUN });
    expect(syntaxErrors('logql', filled)).to.deep.equal([]);
    expect(logqlUse(filled).filterLabels).to.deep.equal(['run_id']);
  });

  it('leaves only the documented environment variables for Grafana to expand in provisioning files', () => {
    const allowed = new Set([WEBHOOK_URL_ENV]);
    for (const f of generatedFiles().filter((g) => g.path.startsWith('grafana/provisioning/'))) {
      // Alert annotations are stored as written (not interpolated): they are Go templates, checked below.
      const doc = parse(f.content) as { groups?: { rules?: { annotations?: unknown }[] }[] };
      for (const rule of doc.groups?.flatMap((g) => g.rules ?? []) ?? []) delete rule.annotations;
      // Split like Grafana: `$$` is a literal `$`; any other `$NAME`/`${NAME}` is an env variable.
      for (const part of JSON.stringify(doc).split('$$')) {
        for (const m of part.matchAll(/\$\{?([A-Za-z0-9_]*)/g)) {
          expect(allowed.has(m[1] as string), `${f.path}: $${m[1]}`).to.equal(true);
        }
      }
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

  it('define the fourteen rules once, under the same names, in both files', () => {
    const names = ALERT_RULES.map((r) => r.name);
    expect(names).to.deep.equal([
      'CleanupJobFailureRatioHigh',
      'CleanupQueueBacklog',
      'CleanupQueueStalled',
      'CleanupJobsDead',
      'MigrationRunFailed',
      'MigrationRunStale',
      'ApiServerErrorRatioHigh',
      'ApiAuthRefusalRatioHigh',
      'ServiceDown',
      'ServiceCrashLooping',
      'ServiceProcessLost',
      'TelemetryCollectorDown',
      'TelemetryBackendDown',
      'TelemetryDataDropped',
    ]);
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
      // Stored as written, whether or not Grafana's provisioning expands annotations (it does not;
      // a proposed change would expand only braced `${NAME}`): no `$$`, no `${`.
      for (const text of Object.values(g.annotations)) expect(text).to.not.match(/\$\$|\$\{/);
      // What a notification reads: the templates for Grafana's engine, links from its root_url.
      const ga = Object.fromEntries(
        Object.entries(g.annotations).map(([k, v]) => [
          k,
          grafanaAnnotation(v, 'https://grafana.example.com'),
        ]),
      );
      expect(ga.runbook_url).to.equal(`https://grafana.example.com${RUNBOOK_URL_PATH}#${rule.runbookAnchor}`);
      expect(ga.dashboard_url).to.equal(
        `https://grafana.example.com/d/${DASHBOARD_UID}/soft-delete-operations?viewPanel=${rule.panelId}`,
      );
      expect(ga.description).to.include('{{ $values.A.Value');
      expect(`${ga.summary} ${ga.description}`).to.match(
        /\{\{ \$labels\.(job_type|migration|job|exporter) \}\}/,
      );
      // Prometheus cannot read the environment: its copies carry the compose default base.
      expect(p?.annotations.runbook_url).to.equal(runbookUrl(rule, GRAFANA_URL_DEFAULT));
      expect(p?.annotations.dashboard_url).to.equal(panelUrl(rule, GRAFANA_URL_DEFAULT));
      expect(p?.annotations.runbook_url).to.match(
        /^http:\/\/localhost:3000\/public\/sdops\/soft-delete-runbook\.html#alert-/,
      );
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
