/**
 * Dashboards, data sources and alert rules as code. `npm run generate` writes the files; the
 * pipeline end-to-end test uses listQueries() and runPintOnline() against its real Prometheus.
 */
export type { ListedQuery, QueryValues } from './queries.ts';
export { dashboardQueries, listQueries, substituteVariables } from './queries.ts';
export type { AlertRuleDefinition, Severity } from './alerts.ts';
export { ALERT_RULES, RUNBOOK_ANCHORS, panelUrl, prometheusExpr, runbookUrl } from './alerts.ts';
export {
  ALERT_FOLDER,
  ALERT_GROUP,
  CONTACT_POINT,
  grafanaAlertRules,
  grafanaContactPoints,
  grafanaNotificationPolicies,
  prometheusRules,
  WEBHOOK_URL_ENV,
} from './alert-render.ts';
export {
  DASHBOARD_FILE,
  DASHBOARD_TITLE,
  DASHBOARD_UID,
  DATASOURCE_UIDS,
  GRAFANA_URL,
  LOKI_SERVICE_SELECTOR,
  METRICS,
  RUNBOOK_PATH,
} from './catalog.ts';
export { buildDashboard, renderDashboard, variableQueries } from './dashboard.ts';
export { PANEL_IDS, RUN_LOGS_LOGQL, RUN_TRACES_TRACEQL } from './dashboard-panels.ts';
export { DATASOURCE_URLS, datasources, EXEMPLAR_TRACE_ID_LABEL } from './datasources.ts';
export type { GeneratedFile } from './generate.ts';
export {
  GRAFANA_MOUNTS,
  generatedFiles,
  PROMETHEUS_RULES_FILE,
  REPO_ROOT,
  writeGeneratedFiles,
} from './generate.ts';
export type { LintViolation } from './lint.ts';
export { lintDashboard, lintPanel, lintPromQL } from './lint.ts';
export type { DashboardJson, PanelJson, QueryLanguage } from './model.ts';
export type { PintResult } from './pint.ts';
export {
  ensurePint,
  PINT_CONFIG,
  PINT_ONLINE_CHECKS,
  PINT_VERSION,
  PintUnavailableError,
  runPintOffline,
  runPintOnline,
} from './pint.ts';
export {
  FAILURE_RATIO_THRESHOLD,
  MIGRATION_FAILURE_WINDOW,
  MIN_JOBS_PER_HOUR,
  QUEUE_BACKLOG_FOR,
  QUEUE_LENGTH_THRESHOLD,
} from './thresholds.ts';
