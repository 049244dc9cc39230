/**
 * Dashboards, data sources and alert rules as code. `npm run generate` writes the files; the
 * pipeline end-to-end test uses listQueries() and runPintOnline() against its real Prometheus.
 */
export type { ListedQuery, QueryValues } from './queries.ts';
export { dashboardQueries, listQueries, substituteVariables } from './queries.ts';
export type { AlertRuleDefinition, Severity } from './alerts.ts';
export { ALERT_RULES, alertRules, RUNBOOK_ANCHORS, panelUrl, prometheusExpr, runbookUrl } from './alerts.ts';
export {
  ALERT_FOLDER,
  ALERT_GROUP,
  CONTACT_POINT,
  grafanaAlertRules,
  grafanaContactPoints,
  grafanaNotificationPolicies,
  prometheusRules,
  GRAFANA_LINK_BASE,
  WEBHOOK_URL_ENV,
} from './alert-render.ts';
export {
  DASHBOARD_FILE,
  DASHBOARD_TITLE,
  DASHBOARD_UID,
  DATASOURCE_UIDS,
  GRAFANA_URL,
  GRAFANA_URL_DEFAULT,
  GRAFANA_URL_ENV,
  LOKI_SERVICE_SELECTOR,
  METRICS,
  RUNBOOK_HTML_FILE,
  PRODUCT_SPAN_REGEX,
  RUNBOOK_PATH,
  RUNBOOK_URL_PATH,
  SPAN_METRICS,
} from './catalog.ts';
export { buildDashboard, renderDashboard, variableQueries } from './dashboard.ts';
export { PANEL_IDS } from './dashboard-panels.ts';
export { RUN_LOGS_LOGQL, RUN_TRACES_TRACEQL } from './migration-panels.ts';
export {
  DATASOURCE_URLS,
  datasources,
  EXEMPLAR_TRACE_ID_LABEL,
  RUN_LOGS_FROM_RECORD_LOGQL,
  RUN_OR_TRACE_LOGS_LOGQL,
  TRACE_TO_LOGS_TAGS,
  TRACE_TO_METRICS_QUERIES,
} from './datasources.ts';
export { headingSlug, renderRunbookHtml } from './runbook-html.ts';
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
  ALERT_PARAMS,
  type AlertParams,
  FAILURE_RATIO_THRESHOLD,
  MIGRATION_FAILURE_WINDOW,
  MIGRATION_STALE_SECONDS,
  MIN_JOBS_PER_HOUR,
  QUEUE_BACKLOG_FOR,
  QUEUE_LENGTH_THRESHOLD,
  QUEUE_STALLED_SECONDS,
} from './thresholds.ts';
