import {
  DEFAULT_ENDPOINT,
  DEFAULT_ENVIRONMENT,
  DEFAULT_METRIC_EXPORT_INTERVAL_MS,
  EXPORT_TIMEOUT_MS,
  LOG_LEVELS,
} from './observability/index.ts';
import {
  MAX_BATCH_SIZE,
  MAX_FAILED_BATCHES,
  MAX_OLDER_THAN_DAYS,
  MAX_WORKER_CONCURRENCY,
} from './validation/index.ts';

// pg-boss refuses a job lease or maintenance interval past 24 hours (and past int4, a retry
// count); a backoff doubling a day is already longer than anyone waits.
export const DAY_SECONDS = 86_400;
export const MAX_JOB_RETRIES = 1000;

/**
 * The catalogue of configuration, which src/config.ts reads. Every environment variable the product
 * reads is declared here with its default and meaning; README's configuration table is checked
 * against ENV_VARS by a test (test/unit/docs/config.test.ts), and so is every variable name the code,
 * the collector config and the Grafana provisioning mention. `readBy` says who reads it: variables of
 * the OTel SDK, the collector or Grafana are listed so operators find them in one place.
 */
type EnvReader = 'sdops' | 'otel-sdk' | 'collector' | 'grafana' | 'compose';

export interface EnvVarSpec {
  readonly name: string;
  /** Default as an operator would write it; undefined means "unset". */
  readonly default: string | undefined;
  readonly description: string;
  /** Default 'sdops'. */
  readonly readBy?: EnvReader;
}

const v = (name: string, def: string | undefined, description: string, readBy?: EnvReader): EnvVarSpec =>
  readBy ? { name, default: def, description, readBy } : { name, default: def, description };

// biome-ignore format: one variable per line keeps this readable as a table
export const ENV_VARS: readonly EnvVarSpec[] = [
  v(
    'DATABASE_URL',
    undefined,
    'PostgreSQL connection string, naming its database: `postgres://<user>:<password>@<host>:<port>/<database>`, a `%` in the password written `%25`. Unset: the embedded PGlite database in SDOPS_DATA_DIR; set but empty (an unset shell variable in `DATABASE_URL=$PG_URL`) is refused, exit 2, rather than taken for unset. Read by node-postgres, not libpq: a query parameter it does not read (libpq\'s `connect_timeout` or `target_session_attrs`, a misspelt `ssl_mode`) is refused; `sslmode` `allow`, `prefer`, `require` and `verify-ca` all mean `verify-full` (SSL with the certificate checked; the warning node-postgres gives for the last three is not logged: this row says it; a refused certificate is a configuration error naming `sslrootcert`, `sslmode=no-verify` and `uselibpqcompat=true`, which gives sslmode the meaning libpq gives it) and none falls back to a plain connection, so for a server without SSL leave `sslmode` out (or give `disable`); `no-verify` encrypts without checking the certificate.',
  ),
  v('SDOPS_DATA_DIR', './.sdops/data', 'Where the embedded PGlite database keeps its files (ignored when DATABASE_URL is set); set but empty is refused (without DATABASE_URL), as `--data-dir \'\'` is.'),
  v('SDOPS_DB_POOL_SIZE', '10', 'Maximum connections in the PostgreSQL pool (2 to 1000: a migration runner heartbeats on a second connection while a batch holds one).'),
  v('SDOPS_STARTUP_OUTAGE_BUDGET_MS', '60000', 'How long any sdops command or process but `db status` (which answers at once) waits at its start for an unreachable database (not up yet, restarting) before it exits 1 with "the database is unavailable". 0: exit at once.'),
  v('SDOPS_CLI_OUTAGE_BUDGET_MS', '60000', 'How long a CLI delete, restore, purge, archive or seed waits for an unreachable database (restart, outage) mid-operation before it fails; the batches it committed stay (a seed, one transaction, runs again whole). 0: fail at once.'),
  v('LOG_LEVEL', 'info', `Log level: ${LOG_LEVELS.join(', ')}.`),
  v('SDOPS_ENVIRONMENT', DEFAULT_ENVIRONMENT, 'Value of the deployment.environment.name resource attribute.'),
  v('SDOPS_API_TOKENS', undefined, 'API bearer tokens, `admin:<token>,read:<token>` (each at least 16 characters of visible ASCII, no token twice). Unset: no authentication, and `sdops serve` binds to loopback only and answers only loopback callers (not a web page of another origin).'),
  // Worker and queue (src/cleanup).
  v('SDOPS_WORKER_CONCURRENCY', '4', `Jobs one worker process runs at a time, at most ${MAX_WORKER_CONCURRENCY} (\`sdops worker --concurrency\` overrides).`),
  v('SDOPS_WORKER_JOB_TYPES', undefined, 'Comma-separated job types a worker takes (unset: all).'),
  v('SDOPS_QUEUE_POLL_INTERVAL_MS', '1000', 'How long an idle worker slot waits before asking the queue again (at least 10).'),
  v('SDOPS_QUEUE_SAMPLE_INTERVAL_MS', '5000', 'How often sdops serve and sdops worker read the queue and migration tables for the database gauges (cleanup.queue.length, cleanup.queue.oldest_wait, cleanup.queue.active, cleanup.queue.oldest_active, cleanup.queue.dead, migration.runs.stale_seconds, migration.runs.last_failure_timestamp), at least 100; "off" (any case): this process reports none (processes of a second collector tier beside the first, whose collectors Prometheus scrapes in one job, would expose the same series twice).'),
  v('SDOPS_JOB_RETRY_LIMIT', '3', `Retries after a failed attempt before a job is dead (moved to the dead-letter queue); at most ${MAX_JOB_RETRIES}.`),
  v('SDOPS_JOB_RETRY_DELAY_SECONDS', '5', `Base of the exponential retry backoff: retry n waits a random time from delay * 2^(n-1) to twice that; at most ${DAY_SECONDS}.`),
  v('SDOPS_JOB_EXPIRE_SECONDS', '900', `A job's lease: an attempt running longer fails, and a crashed worker's job runs again after it at the latest (on PostgreSQL, its heartbeat brings it back sooner: SDOPS_JOB_HEARTBEAT_SECONDS). A starting worker applies it to the jobs already waiting. At most ${DAY_SECONDS} (pg-boss: 24 hours).`),
  v('SDOPS_JOB_HEARTBEAT_SECONDS', '60', `On PostgreSQL, a running job's heartbeat: a starting worker puts it on the queues, so a job is covered from the moment it is claimed; its worker stamps it about 20 ms after the claim and then every quarter of this, and a job whose stamp is older is failed by the next maintenance pass and runs again, so a killed worker's job comes back after about this long (plus that pass and the retry delay) instead of its whole lease; an attempt that finds its job so taken (its worker was cut off from the database that long) stops. 0: off (such a worker leaves the queues' time to the others and takes it off each job it claims). With different values the last worker started with heartbeats on sets the queues', and each worker stamps its own on its jobs. From 10 to ${DAY_SECONDS}.`),
  v('SDOPS_QUEUE_MAINTENANCE_INTERVAL_SECONDS', '30', `How often workers fail jobs whose lease expired or whose heartbeat went stale (they are retried) and delete finished jobs past their 7-day retention; at most ${DAY_SECONDS}.`),
  v('SDOPS_WORKER_SHUTDOWN_TIMEOUT_MS', '30000', 'On SIGTERM/SIGINT, how long a worker waits for running jobs before handing them back (their statements still running are cancelled, then up to 5 s more for them to leave their batch in flight). On the embedded database a statement cannot be cancelled and holds the process while it runs, so a stop also waits for each batch in flight, however long it takes: a smaller `SDOPS_CLEANUP_BATCH_SIZE` shortens it.'),
  v('SDOPS_PURGE_CRON', '0 * * * *', 'Cron (UTC) on which purge_expired runs for every entity, saved in the database by a worker started without --no-schedule (the last such worker to start sets it for all; one that replaces another setting logs a warning, one that saves it where none was, as after "off", a debug line); "off" removes the saved schedule when such a worker starts.'),
  v('SDOPS_ARCHIVE_CRON', '30 2 * * *', 'Cron (UTC) on which archive_entity runs for every entity, saved like SDOPS_PURGE_CRON; "off" removes the saved schedule.'),
  v('SDOPS_ARCHIVE_AFTER_DAYS', '30', `Scheduled archive_entity moves rows soft-deleted more than this many days ago (at most ${MAX_OLDER_THAN_DAYS}).`),
  v('SDOPS_CLEANUP_BATCH_SIZE', '1000', `Rows per batch in purge_expired and archive_entity jobs (at most ${MAX_BATCH_SIZE}).`),
  v('SDOPS_CLEANUP_MAX_ROWS_PER_JOB', '50000', 'Rows one purge/archive job removes at most, 1 to 100000000 (rows that must stay are skipped, not counted); a job that used it and changed rows enqueues a follow-up job.'),
  // Migration runner (src/migration).
  v('SDOPS_MIGRATION_BATCH_SIZE', '5000', `Default rows per migration batch (at most ${MAX_BATCH_SIZE}).`),
  v('SDOPS_MIGRATION_MAX_FAILED_BATCHES', '10', `Default failed batches a migration run tolerates before it ends failed (at most ${MAX_FAILED_BATCHES}).`),
  v('SDOPS_MIGRATION_HEARTBEAT_MS', '5000', 'How often a migration runner refreshes the heartbeat of its run lease (at least 10).'),
  v('SDOPS_MIGRATION_LEASE_TIMEOUT_MS', '30000', 'Heartbeat age after which a run counts as abandoned and may be resumed elsewhere (at least 20, and 2x the heartbeat).'),
  v('SDOPS_MIGRATION_RETRY_ATTEMPTS', '3', `Attempts per migration batch, the first included; at most ${MAX_JOB_RETRIES}.`),
  v('SDOPS_MIGRATION_RETRY_BASE_MS', '200', 'First backoff delay between batch attempts (doubles per attempt); at most SDOPS_MIGRATION_RETRY_MAX_MS.'),
  v('SDOPS_MIGRATION_RETRY_MAX_MS', '5000', 'Largest backoff delay between batch attempts.'),
  v('SDOPS_MIGRATION_OUTAGE_BUDGET_MS', '300000', 'How long a migration run waits for an unreachable database (restart, outage) before it ends failed, resumable from its checkpoint (alerted as MigrationRunFailed).'),
  v('SDOPS_MIGRATION_EXPORT_RETRY_MS', '30000', 'How long migrate start, resume and retry-failed try again, at their end, to hand their metrics to a collector that does not take them (a collector restart), so the dashboard counts the run; 0: not at all. Ctrl-C stops the wait.'),
  v('SDOPS_MIGRATION_FAIL_BATCH', undefined, 'TEST ONLY fault injection: `migration:batchNo[,migration:batchNo...]` batches always fail (until retry-failed), e.g. `backfill-deleted-at:50,backfill-deleted-at:51`. Never set in production.'),
  // OpenTelemetry SDK (src/observability passes some of them on, the SDK reads the rest itself).
  v('OTEL_SDK_DISABLED', 'false', 'true turns all telemetry into no-ops (console logs stay).', 'otel-sdk'),
  v('OTEL_EXPORTER_OTLP_ENDPOINT', DEFAULT_ENDPOINT, 'OTLP/HTTP endpoint of the collector for traces, metrics and logs.', 'otel-sdk'),
  v('OTEL_LOG_LEVEL', undefined, "The OpenTelemetry SDK's own diagnostics on stderr at this level (none, error, warn, info, debug, verbose, all). Unset: only its warnings about failing exports, once per outage.", 'otel-sdk'),
  v('OTEL_EXPORTER_OTLP_TIMEOUT', String(EXPORT_TIMEOUT_MS), `Milliseconds per OTLP export, retries included. Unset: sdops uses ${EXPORT_TIMEOUT_MS} (the SDK alone would use 10000).`, 'otel-sdk'),
  v('OTEL_SERVICE_NAME', undefined, 'Overrides service.name (default: sdops-api, sdops-worker, sdops-migrate or sdops-cli by role). Keep the sdops prefix: the log panels, the runbook queries and the trace-to-logs links select service_name=~"sdops.*".', 'otel-sdk'),
  v('OTEL_RESOURCE_ATTRIBUTES', undefined, 'Extra resource attributes, k=v,k=v.', 'otel-sdk'),
  v('OTEL_METRIC_EXPORT_INTERVAL', String(DEFAULT_METRIC_EXPORT_INTERVAL_MS), 'Milliseconds between metric exports.', 'otel-sdk'),
  // OpenTelemetry Collector (otel-collector/config.yaml, `${env:NAME:-default}`).
  v('OTELCOL_OTLP_GRPC_ENDPOINT', '0.0.0.0:4317', 'Collector OTLP/gRPC receiver address.', 'collector'),
  v('OTELCOL_OTLP_HTTP_ENDPOINT', '0.0.0.0:4318', 'Collector OTLP/HTTP receiver address.', 'collector'),
  v('OTELCOL_HEALTH_ENDPOINT', '0.0.0.0:13133', 'Collector health_check extension address (GET / answers 200).', 'collector'),
  v('OTELCOL_PROMETHEUS_ENDPOINT', '0.0.0.0:8889', 'Where the collector exposes application and span metrics for Prometheus to scrape.', 'collector'),
  v('OTELCOL_SPAN_METRICS_ENDPOINT', '0.0.0.0:8890', 'Where a gateway of the two-tier layout exposes span metrics for Prometheus to scrape (the single collector serves them with the application metrics).', 'collector'),
  v('OTELCOL_TELEMETRY_HOST', '0.0.0.0', "Host of the collector's own metrics endpoint.", 'collector'),
  v('OTELCOL_TELEMETRY_PORT', '8888', "Port of the collector's own metrics (otelcol_*).", 'collector'),
  v('OTELCOL_LOG_LEVEL', 'info', "The collector's own log level.", 'collector'),
  v('OTELCOL_SPANMETRICS_FLUSH_INTERVAL', '15s', 'How often the span_metrics connector emits (keep it at the Prometheus scrape interval).', 'collector'),
  v('OTELCOL_MEMORY_LIMIT_MIB', '410', "memory_limiter hard limit: 80% of the collector container's memory limit (compose: 512 MiB).", 'collector'),
  v('OTELCOL_MEMORY_SPIKE_LIMIT_MIB', '100', 'memory_limiter spike headroom: it refuses data from limit minus spike (about 20% of the container limit).', 'collector'),
  v('TEMPO_OTLP_ENDPOINT', 'http://tempo:4318', 'Where the collector sends traces (Tempo OTLP/HTTP; /v1/traces is appended).', 'collector'),
  v('LOKI_OTLP_ENDPOINT', 'http://loki:3100/otlp', "Where the collector sends logs (Loki's native OTLP endpoint).", 'collector'),
  // The opt-in two-tier layout: agents (otel-collector/agent.yaml) and gateways (gateway.yaml).
  v('OTELCOL_GATEWAYS', '[otel-gateway-1:4317, otel-gateway-2:4317]', "Agent: the gateways' OTLP/gRPC addresses, a YAML list (load_balancing static resolver).", 'collector'),
  v('OTELCOL_GATEWAY_QUEUE_SIZE', '50000', 'Agent: spans (log records, metric points) queued per gateway while it is unreachable, however long (retried until it answers); beyond that they are refused, counted and paged (TelemetryDataDropped).', 'collector'),
  v('OTELCOL_SAMPLING_API_PERCENT', '10', 'Gateway: percent of ok, fast API traces that tail sampling keeps (failed, slow, job, migration and non-API traces are always kept).', 'collector'),
  v('OTELCOL_SAMPLING_SLOW_MS', '1000', 'Gateway: a trace with a span longer than this many milliseconds is always kept.', 'collector'),
  v('OTELCOL_SAMPLING_DECISION_WAIT', '10s', "Gateway: how long tail sampling waits after a trace's first span before deciding.", 'collector'),
  v('OTELCOL_SAMPLING_MAX_TRACES', '50000', 'Gateway: traces tail sampling holds while they wait (at least traces/s x the decision wait).', 'collector'),
  // Grafana provisioning and compose.
  v('SDOPS_ALERT_WEBHOOK_URL', undefined, 'Webhook the Grafana contact point "sdops-webhook" posts alerts to (grafana/provisioning/alerting). compose.yaml defaults it to a discard address (http://127.0.0.1:9/sdops-alerts): unset, alerts fire in Grafana but reach nobody.', 'grafana'),
  v('SDOPS_GRAFANA_URL', 'http://localhost:3000', "Grafana's external URL, its root_url in compose (GF_SERVER_ROOT_URL): the base of every alert's runbook_url and dashboard_url.", 'grafana'),
  v('GRAFANA_ADMIN_PASSWORD', 'admin', "Password of Grafana's admin user in compose.yaml.", 'compose'),
];
