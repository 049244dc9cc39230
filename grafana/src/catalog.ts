/**
 * Names the dashboard and the alert rules share: Prometheus metric names as the collector's
 * `prometheus` exporter publishes them (UnderscoreEscapingWithSuffixes: dots -> underscores,
 * `_total` on counters, `_seconds` from unit `s`), data-source UIDs and where links point.
 * test/unit/grafana/catalog.test.ts derives the same names from src/observability/instruments.ts,
 * so a renamed instrument breaks a test instead of silently emptying a panel.
 */

export const METRICS = {
  softDeleteOperations: 'soft_delete_operations_total',
  softDeleteDuration: 'soft_delete_operations_duration_seconds',
  workerJobsProcessed: 'cleanup_worker_jobs_processed_total',
  workerJobFailures: 'cleanup_worker_job_failures_total',
  workerQueueLength: 'cleanup_worker_queue_length',
  workerJobDuration: 'cleanup_worker_job_duration_seconds',
  workerQueueWait: 'cleanup_worker_queue_wait_seconds',
  migrationRunSuccess: 'migration_run_success_total',
  migrationRunFailure: 'migration_run_failure_total',
  migrationRowsProcessed: 'migration_rows_processed_total',
  migrationBatchDuration: 'migration_batch_duration_seconds',
  httpServerDuration: 'http_server_request_duration_seconds',
  /** span_metrics connector (otel-collector/config.yaml): namespace traces.span.metrics, unit s. */
  spanDuration: 'traces_span_metrics_duration_seconds',
} as const;

export type MetricId = keyof typeof METRICS;

/** Fixed data-source UIDs: provisioning, dashboard links and alert queries all refer to these. */
export const DATASOURCE_UIDS = { prometheus: 'prometheus', tempo: 'tempo', loki: 'loki' } as const;

export const DASHBOARD_UID = 'soft-delete-ops';
export const DASHBOARD_TITLE = 'Soft Delete Operations';
export const DASHBOARD_FILE = 'soft-delete-operations.json';

/**
 * Where Grafana is reached by whoever receives an alert (compose publishes it on :3000). Prometheus
 * rules cannot know Grafana's address, so their dashboard links are absolute URLs built from this.
 */
export const GRAFANA_URL = 'http://localhost:3000';

/** Log streams of every sdops role (service.name = sdops-<role> becomes Loki's service_name label). */
export const LOKI_SERVICE_SELECTOR = '{service_name=~"sdops.*"}';

/** Span names the span-metrics panels look at: the product's own spans, not HTTP or SQL spans. */
export const PRODUCT_SPAN_REGEX = 'soft_delete[.].*|migration[.].*|cleanup[.].*';

export const RUNBOOK_PATH = 'docs/operational/soft-delete-runbook.md';
