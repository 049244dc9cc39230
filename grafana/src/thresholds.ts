/**
 * Alert thresholds, shared by the alert rules and the panels that show the same quantity, so a
 * panel turns red exactly where its alert starts counting. ALERT_PARAMS gathers them for
 * alertRules(); the pipeline test renders the same rules with shorter windows (alerts.ts).
 */

/** CleanupJobFailureRatioHigh: failed / processed cleanup jobs over one hour, per job type. */
export const FAILURE_RATIO_THRESHOLD = 0.05;
export const FAILURE_RATIO_WINDOW = '1h';
export const FAILURE_RATIO_FOR = '5m';
/** Below this many finished jobs in the hour a ratio is noise (1 failure of 3 jobs is 33%). */
export const MIN_JOBS_PER_HOUR = 20;

/**
 * ApiServerErrorRatioHigh: API requests answered 5xx / all API requests over ten minutes, per
 * service (Prometheus `job`), for API_ERROR_RATIO_FOR. Probes count too (compose asks /readyz every
 * 10 s: 60 requests per window), so a database outage fires it without any client traffic.
 */
export const API_ERROR_RATIO_THRESHOLD = 0.05;
export const API_ERROR_RATIO_WINDOW = '10m';
export const API_ERROR_RATIO_FOR = '3m';
/** Below this many requests in the window a ratio is noise (1 error of 4 requests is 25%). */
export const MIN_API_REQUESTS_PER_WINDOW = 20;

/**
 * Both API ratio alerts also need an answer of their kind (5xx; 401/403) within this last stretch,
 * shorter than their `for`: the ten-minute ratio stays over its threshold for up to ten minutes after
 * a burst, so one burst of 500s in one second paged, critical, three minutes after the API was well
 * again; and a refusal burst under the threshold crossed it minutes later, with no request at all,
 * as older good traffic left the window. An alert now needs the errors to go on, and resolves within
 * this once they stop.
 */
export const API_RECENT_WINDOW = '2m';

/**
 * ApiAuthRefusalRatioHigh: API requests answered 401 or 403 / requests to routes that need a token,
 * over API_AUTH_REFUSAL_WINDOW, per service, for API_AUTH_REFUSAL_FOR. Half: one client with a bad
 * token among working ones stays under it; a rotated or expired token that every client still sends
 * is near 100%. The probes' public routes are left out, so they do not dilute it. Over ten minutes and
 * for five, a wall of refusals crossed half only once it filled half the window, and paged 10 minutes
 * or more after it began: a 7-minute wall of 72% refusals never paged (probe Y). Over five minutes
 * and for three (longer than API_RECENT_WINDOW, so a single burst does not page), a wall of every
 * request refused pages after about 5.5 minutes.
 */
export const API_AUTH_REFUSAL_RATIO_THRESHOLD = 0.5;
export const API_AUTH_REFUSAL_WINDOW = '5m';
export const API_AUTH_REFUSAL_FOR = '3m';

/** CleanupQueueBacklog: pending jobs per job type, sustained for QUEUE_BACKLOG_FOR. */
export const QUEUE_LENGTH_THRESHOLD = 100;
export const QUEUE_BACKLOG_FOR = '10m';

/** CleanupQueueStalled: a job has waited this long and no worker started a job of its type meanwhile. */
export const QUEUE_STALLED_SECONDS = 600;
export const QUEUE_STALLED_WINDOW = '10m';

/** MigrationRunFailed: failed runs are looked for in this trailing window. */
export const MIGRATION_FAILURE_WINDOW = '15m';

/** MigrationRunStale: a running/stopping run whose lease expired this long ago. */
export const MIGRATION_STALE_SECONDS = 300;

/**
 * How long a collector (the one of compose, or an agent or gateway of the two-tier layout) may
 * answer no scrape before it pages: a restart or a deploy takes seconds, and while it is down every
 * other alert reads stale series.
 */
export const COLLECTOR_DOWN_FOR = '2m';

/**
 * TelemetryBackendDown: a collector's exporter of traces or logs has had a request in flight at every
 * scrape of BACKEND_STUCK_WINDOW and delivered nothing in it, for BACKEND_DOWN_FOR: Tempo or Loki
 * takes nothing. The collector retries each batch for 10 minutes (retry_on_failure.max_elapsed_time
 * in otel-collector/config.yaml) before it drops it, so this pages about 5 minutes before the first
 * loss; a restart of the backend, seconds to a minute, does not.
 */
export const BACKEND_STUCK_WINDOW = '2m';
export const BACKEND_DOWN_FOR = '3m';

/**
 * TelemetryDataDropped: a collector's exporter dropped spans, log records or metric points within
 * DROPPED_WINDOW (its backend refused them, their 10 minutes of retries ran out, or its sending
 * queue was full), for DROPPED_FOR. A drop is a loss already made: the window keeps the alert for
 * that long after the last one, so an operator who looks later still finds it.
 */
export const DROPPED_WINDOW = '10m';
export const DROPPED_FOR = '1m';

/**
 * ServiceDown: a long-running service (the `job` of process_uptime_seconds: sdops serve, sdops
 * worker) that reported within SERVICE_SEEN_WINDOW has had no process whose uptime moved (or that
 * first reported) within SERVICE_LIVE_WINDOW, for SERVICE_DOWN_FOR. The live window spans several exports (10 s) and
 * scrapes (15 s), and is far shorter than the 5 minutes a dead process's frozen series stays in the
 * scrape; the seen window is how long a service stopped on purpose keeps the alert (silence it).
 */
export const SERVICE_LIVE_WINDOW = '2m';
export const SERVICE_SEEN_WINDOW = '1h';
export const SERVICE_DOWN_FOR = '1m';
/**
 * How long a firing ServiceDown or ServiceCrashLooping keeps firing once its expression is empty.
 * Their hold-back (every collector of the apps' series down within SERVICE_LIVE_WINDOW) empties it
 * for an outage plus that window: a collector restart of a minute resolved a firing page and sent it
 * again minutes later (probes Y and V). 4m covers an outage of 2m, past which
 * TelemetryCollectorDown pages; the price is a resolve that comes 4m later.
 */
export const SERVICE_KEEP_FIRING_FOR = '4m';

/**
 * How long a process last seen live while a collector on the apps' path (an agent or gateway of the
 * two-tier layout) answered no scrape is not counted as down or ended. Its series stop with that
 * collector whether or not it lives, and which collector a process's series pass is in none of
 * their labels: a healthy API routed through a stopped gateway paged ServiceDown (critical) and kept
 * it about 6 minutes past the gateway's return, the agents' gRPC reconnect (up to 2m) plus
 * SERVICE_KEEP_FIRING_FOR (probe B). A process already down before the collector stopped keeps
 * paging, and one seen live again after it (a restart of the single collector) is not spared. A
 * gateway outage up to about this long pages TelemetryCollectorDown alone; a service that dies
 * meanwhile pages up to this much later.
 */
export const SERVICE_COLLECTOR_OUTAGE_HOLD = '15m';

/**
 * ServiceCrashLooping: more than SERVICE_CRASHES processes of one service showed a sign of life
 * within SERVICE_CRASH_WINDOW, ended (none within SERVICE_LIVE_WINDOW), and ran less than
 * SERVICE_SHORT_LIFE_SECONDS each, for SERVICE_CRASH_LOOP_FOR. A supervisor that restarts a process
 * which exits again keeps one live often enough that ServiceDown never fires. A rolling deploy
 * ends long-lived processes only, and one restart or two do not reach the count.
 */
export const SERVICE_CRASH_WINDOW = '15m';
export const SERVICE_SHORT_LIFE_SECONDS = 300;
export const SERVICE_CRASHES = 2;
export const SERVICE_CRASH_LOOP_FOR = '1m';

/**
 * ServiceProcessLost: a process of a long-running service stopped showing a sign of life without
 * having said it was asked to stop, while others of its service still run. It is replaced once a
 * process of the service that started after it ended is live; a process that started up to this
 * many seconds before the loss counts too, as the start and end estimates differ by up to an export
 * interval (10 s) and a scrape. No more: a sibling started a minute before a kill hid the kill
 * (probe D), and a surge deploy's old process says it was asked to stop, so it is no loss anyway.
 */
export const SERVICE_REPLACEMENT_SLACK_SECONDS = 20;

export interface AlertParams {
  readonly failureRatioThreshold: number;
  readonly failureRatioWindow: string;
  readonly failureRatioFor: string;
  readonly minJobsPerWindow: number;
  readonly apiErrorRatioThreshold: number;
  readonly apiErrorRatioWindow: string;
  readonly apiErrorRatioFor: string;
  readonly minApiRequestsPerWindow: number;
  readonly apiAuthRefusalRatioThreshold: number;
  readonly apiAuthRefusalWindow: string;
  readonly apiAuthRefusalFor: string;
  readonly apiRecentWindow: string;
  readonly queueLengthThreshold: number;
  readonly queueBacklogFor: string;
  readonly queueStalledSeconds: number;
  readonly queueStalledWindow: string;
  readonly migrationFailureWindow: string;
  readonly migrationStaleSeconds: number;
  readonly collectorDownFor: string;
  readonly backendStuckWindow: string;
  readonly backendDownFor: string;
  readonly droppedWindow: string;
  readonly droppedFor: string;
  readonly serviceLiveWindow: string;
  readonly serviceSeenWindow: string;
  readonly serviceDownFor: string;
  readonly serviceKeepFiringFor: string;
  readonly serviceCollectorOutageHold: string;
  readonly serviceCrashWindow: string;
  readonly serviceShortLifeSeconds: number;
  readonly serviceCrashes: number;
  readonly serviceCrashLoopFor: string;
  readonly serviceReplacementSlackSeconds: number;
}

export const ALERT_PARAMS: AlertParams = {
  failureRatioThreshold: FAILURE_RATIO_THRESHOLD,
  failureRatioWindow: FAILURE_RATIO_WINDOW,
  failureRatioFor: FAILURE_RATIO_FOR,
  minJobsPerWindow: MIN_JOBS_PER_HOUR,
  apiErrorRatioThreshold: API_ERROR_RATIO_THRESHOLD,
  apiErrorRatioWindow: API_ERROR_RATIO_WINDOW,
  apiErrorRatioFor: API_ERROR_RATIO_FOR,
  minApiRequestsPerWindow: MIN_API_REQUESTS_PER_WINDOW,
  apiAuthRefusalRatioThreshold: API_AUTH_REFUSAL_RATIO_THRESHOLD,
  apiAuthRefusalWindow: API_AUTH_REFUSAL_WINDOW,
  apiAuthRefusalFor: API_AUTH_REFUSAL_FOR,
  apiRecentWindow: API_RECENT_WINDOW,
  queueLengthThreshold: QUEUE_LENGTH_THRESHOLD,
  queueBacklogFor: QUEUE_BACKLOG_FOR,
  queueStalledSeconds: QUEUE_STALLED_SECONDS,
  queueStalledWindow: QUEUE_STALLED_WINDOW,
  migrationFailureWindow: MIGRATION_FAILURE_WINDOW,
  migrationStaleSeconds: MIGRATION_STALE_SECONDS,
  collectorDownFor: COLLECTOR_DOWN_FOR,
  backendStuckWindow: BACKEND_STUCK_WINDOW,
  backendDownFor: BACKEND_DOWN_FOR,
  droppedWindow: DROPPED_WINDOW,
  droppedFor: DROPPED_FOR,
  serviceLiveWindow: SERVICE_LIVE_WINDOW,
  serviceSeenWindow: SERVICE_SEEN_WINDOW,
  serviceDownFor: SERVICE_DOWN_FOR,
  serviceKeepFiringFor: SERVICE_KEEP_FIRING_FOR,
  serviceCollectorOutageHold: SERVICE_COLLECTOR_OUTAGE_HOLD,
  serviceCrashWindow: SERVICE_CRASH_WINDOW,
  serviceShortLifeSeconds: SERVICE_SHORT_LIFE_SECONDS,
  serviceCrashes: SERVICE_CRASHES,
  serviceCrashLoopFor: SERVICE_CRASH_LOOP_FOR,
  serviceReplacementSlackSeconds: SERVICE_REPLACEMENT_SLACK_SECONDS,
};
