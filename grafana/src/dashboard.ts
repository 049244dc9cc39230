import {
  DashboardBuilder,
  DashboardCursorSync,
  type Dashboard,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  TextBoxVariableBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARD_TITLE, DASHBOARD_UID, METRICS } from './catalog.ts';
import { apiPanels, operationPanels } from './dashboard-panels.ts';
import { migrationPanels, RUN_LOGS_LOGQL, RUN_TRACES_TRACEQL } from './migration-panels.ts';
import { DS_VARS, gvar, lokiExploreLink, PROMETHEUS, tempoExploreLink } from './panels.ts';
import { workerPanels } from './worker-panels.ts';

/** Label-value variables: name, the metric whose label feeds it, and what an operator reads. */
const LABEL_VARIABLES = [
  { name: 'entity', metric: METRICS.softDeleteOperations, label: 'Entity' },
  { name: 'job_type', metric: METRICS.workerJobsProcessed, label: 'Job type' },
] as const;

/** The variable queries as written in the dashboard (Prometheus `label_values`). */
export function variableQueries(): { name: string; metric: string; query: string }[] {
  return LABEL_VARIABLES.map((v) => ({
    name: v.name,
    metric: v.metric,
    query: `label_values(${v.metric}, ${v.name})`,
  }));
}

function labelVariable(name: string, label: string, query: string): QueryVariableBuilder {
  return (
    new QueryVariableBuilder(name)
      .label(label)
      .datasource(PROMETHEUS)
      .query(query)
      .definition(query)
      .refresh(VariableRefresh.OnTimeRangeChanged)
      .sort(VariableSort.AlphabeticalAsc)
      .multi(true)
      .includeAll(true)
      // A regex, not Grafana's `{a,b,c}` list: "All" must also match values that appear later.
      .allValue('.*')
      .current({ text: 'All', value: '$__all', selected: true })
  );
}

/** Builds the "Soft Delete Operations" dashboard model (what grafana/dashboards/*.json holds). */
export function buildDashboard(): Dashboard {
  const builder = new DashboardBuilder(DASHBOARD_TITLE)
    .uid(DASHBOARD_UID)
    .description(
      'Soft-delete operations, cleanup worker and migration runs of soft-delete-ops: throughput, errors, latency with exemplar traces, queue backlog, and the logs and traces of one migration run.',
    )
    .tags(['soft-delete-ops', 'generated'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .time({ from: 'now-1h', to: 'now' })
    .refresh('30s')
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder(DS_VARS.prometheus).label('Prometheus').type('prometheus'))
    .withVariable(new DatasourceVariableBuilder(DS_VARS.loki).label('Loki').type('loki'))
    .withVariable(new DatasourceVariableBuilder(DS_VARS.tempo).label('Tempo').type('tempo'));
  for (const v of LABEL_VARIABLES) {
    builder.withVariable(labelVariable(v.name, v.label, `label_values(${v.metric}, ${v.name})`));
  }
  builder
    .withVariable(
      new TextBoxVariableBuilder('run_id')
        .label('Migration run id')
        .description('run_id of one migration run (from `sdops migrate status` or a log record).'),
    )
    .link(
      tempoExploreLink(`Traces of run ${gvar('run_id')}`, RUN_TRACES_TRACEQL)
        .includeVars(true)
        .keepTime(true),
    )
    .link(
      lokiExploreLink(`Logs of run ${gvar('run_id')}`, RUN_LOGS_LOGQL)
        .includeVars(true)
        .keepTime(true),
    );

  // Rows stay expanded: a collapsed row would hide its panels from anyone skimming the JSON.
  // Row ids, like panel ids, are kept: the API row came last (103) but sits first, where a client-facing failure is seen.
  builder.withRow(new RowBuilder('API').id(103).gridPos({ x: 0, y: 0, w: 24, h: 1 }));
  for (const panel of apiPanels(1)) builder.withPanel(panel);
  builder.withRow(new RowBuilder('Soft-delete operations').id(100).gridPos({ x: 0, y: 9, w: 24, h: 1 }));
  for (const panel of operationPanels(10)) builder.withPanel(panel);
  builder.withRow(new RowBuilder('Cleanup worker').id(101).gridPos({ x: 0, y: 34, w: 24, h: 1 }));
  for (const panel of workerPanels(35)) builder.withPanel(panel);
  builder.withRow(new RowBuilder('Migrations').id(102).gridPos({ x: 0, y: 51, w: 24, h: 1 }));
  for (const panel of migrationPanels(52)) builder.withPanel(panel);
  const dashboard = builder.build();
  // The SDK's link builder places links in the controls menu; without `placement` Grafana shows
  // them in the dashboard's top bar, where an operator sees them.
  for (const link of dashboard.links ?? []) delete link.placement;
  return dashboard;
}

/** The dashboard file's exact text: stable key order from the builder, two-space indent, final newline. */
export function renderDashboard(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}
