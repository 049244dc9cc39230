/**
 * Every metric instrument the product emits, as data. metrics.ts creates instruments from this list
 * and test/unit/telemetry-catalog.test.ts compares it with docs/telemetry.md, so the catalog and the
 * code cannot drift apart.
 */

export type InstrumentKind = 'counter' | 'histogram' | 'gauge';

/** Attribute keys a metric may carry. Values always come from closed sets (see attributes.ts). */
type MetricAttributeKey =
  | 'entity'
  | 'operation'
  | 'status'
  | 'job_type'
  | 'migration'
  | 'http.request.method'
  | 'http.route'
  | 'http.response.status_code';

export interface InstrumentDefinition {
  readonly name: string;
  readonly kind: InstrumentKind;
  readonly unit: string;
  readonly description: string;
  readonly attributes: readonly MetricAttributeKey[];
  /** Histogram bucket boundaries when DURATION_BUCKETS_SECONDS does not fit (semantic conventions). */
  readonly buckets?: readonly number[];
}

/**
 * Bucket boundaries in seconds from 1 ms to 1 h. Roughly x2.5 steps keep the bucket count small
 * (cardinality is buckets x attribute combinations) while separating "one row" from "big batch".
 * The top reaches past the job expiry (900 s) and covers a stalled queue's waits: a p95 above the
 * top bucket reads as the top bucket, so with 300 s a 15-minute wait showed as "5 min". A quantile
 * is read by interpolating inside its bucket: with nothing between 10 and 30 minutes, waits of 11
 * minutes after a worker outage read as 29; the steps from 5 minutes on are x1.5 at most.
 */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 450, 600, 900,
  1200, 1800, 2700, 3600,
];

export const INSTRUMENTS = {
  softDeleteOperations: {
    name: 'soft_delete.operations.total',
    kind: 'counter',
    unit: '{row}',
    description:
      'Rows handled by soft-delete operations, by outcome (noop = row already in the requested state); rows a cascade changed count under their own entity.',
    attributes: ['entity', 'operation', 'status'],
  },
  softDeleteDuration: {
    name: 'soft_delete.operations.duration_seconds',
    kind: 'histogram',
    unit: 's',
    description: 'Duration of one soft-delete operation call; status is the overall outcome of the call.',
    attributes: ['entity', 'operation', 'status'],
  },
  workerJobsProcessed: {
    name: 'cleanup.worker.jobs_processed',
    kind: 'counter',
    unit: '{job}',
    description:
      'Cleanup job attempts the worker finished, whatever the outcome. An attempt whose worker was killed finishes nowhere: pg-boss fails it once its heartbeat is stale (SDOPS_JOB_HEARTBEAT_SECONDS, PostgreSQL) or its lease runs out (SDOPS_JOB_EXPIRE_SECONDS) and retries the job, and no counter sees it.',
    attributes: ['job_type'],
  },
  workerJobFailures: {
    name: 'cleanup.worker.job_failures',
    kind: 'counter',
    unit: '{job}',
    description:
      'Finished cleanup job attempts that failed (failure ratio = job_failures / jobs_processed); not the attempts of killed workers (see jobs_processed).',
    attributes: ['job_type'],
  },
  workerJobDuration: {
    name: 'cleanup.worker.job.duration_seconds',
    kind: 'histogram',
    unit: 's',
    description: 'Duration of one cleanup job attempt.',
    attributes: ['job_type', 'status'],
  },
  workerQueueWait: {
    name: 'cleanup.worker.queue_wait_seconds',
    kind: 'histogram',
    unit: 's',
    description:
      'Time a cleanup job waited for a worker: from when it could start (its enqueue, or the end of its retry backoff, or the start time it was given) until its attempt started. A retry backoff is no wait for a worker, so it is not in it.',
    attributes: ['job_type'],
  },
  migrationRunSuccess: {
    name: 'migration.run.success',
    kind: 'counter',
    unit: '{run}',
    description: 'Migration runs that ended successfully.',
    attributes: ['migration'],
  },
  migrationRunFailure: {
    name: 'migration.run.failure',
    kind: 'counter',
    unit: '{run}',
    description:
      'Migration run sessions (start, resume, retry-failed) that ended failed or partially_failed: a run that fails again counts again.',
    attributes: ['migration'],
  },
  migrationRowsProcessed: {
    name: 'migration.rows_processed',
    kind: 'counter',
    unit: '{row}',
    description: 'Rows processed by migration batches, by batch outcome.',
    attributes: ['migration', 'status'],
  },
  migrationBatchDuration: {
    name: 'migration.batch.duration_seconds',
    kind: 'histogram',
    unit: 's',
    description:
      'Duration of one attempt at a migration batch (each failed attempt of a retried batch is one failure point).',
    attributes: ['migration', 'status'],
  },
  httpServerDuration: {
    name: 'http.server.request.duration',
    kind: 'histogram',
    unit: 's',
    description:
      'Duration of HTTP server requests (semantic conventions; route template, never the raw path).',
    attributes: ['http.request.method', 'http.route', 'http.response.status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
  },
} as const satisfies Record<string, InstrumentDefinition>;

export type InstrumentId = keyof typeof INSTRUMENTS;

/**
 * What the database says, not what a process did: read from the queue and migration tables at
 * every export of a long-running sdops process (serve, worker) and reported under the database's
 * own identity (service.name sdops-database, service.instance.id the database), so every process
 * reading the same database writes the same series and the newest reading wins (database-gauges.ts).
 */
export const DATABASE_GAUGES = {
  queueLength: {
    name: 'cleanup.queue.length',
    kind: 'gauge',
    unit: '{job}',
    description:
      'Cleanup jobs waiting to start (created or retrying), per job type, read from the database by the running sdops serve and worker processes.',
    attributes: ['job_type'],
  },
  queueOldestWait: {
    name: 'cleanup.queue.oldest_wait',
    kind: 'gauge',
    unit: 's',
    description:
      'How long the longest-waiting job whose start time has come has waited for a worker (0 when none), per job type.',
    attributes: ['job_type'],
  },
  queueDead: {
    name: 'cleanup.queue.dead',
    kind: 'gauge',
    unit: '{job}',
    description:
      'Dead cleanup jobs: their retries ran out, and their copies wait in the dead-letter queue until sdops queue retry --dead runs them again, per job type.',
    attributes: ['job_type'],
  },
  queueActive: {
    name: 'cleanup.queue.active',
    kind: 'gauge',
    unit: '{job}',
    description:
      'Cleanup jobs a worker holds now (running), per job type: also the job of a worker that was killed, until its heartbeat is stale (SDOPS_JOB_HEARTBEAT_SECONDS, PostgreSQL) or its lease runs out (SDOPS_JOB_EXPIRE_SECONDS) and it is retried.',
    attributes: ['job_type'],
  },
  queueOldestActive: {
    name: 'cleanup.queue.oldest_active',
    kind: 'gauge',
    unit: 's',
    description:
      'How long the longest-held job has been running (0 when none), per job type: a job past the usual for its type, or near its lease, is stuck or its worker is gone.',
    attributes: ['job_type'],
  },
  staleRuns: {
    name: 'migration.runs.stale_seconds',
    kind: 'gauge',
    unit: 's',
    description:
      'How long ago the lease of the longest-stale migration run expired: a run in state running or stopping whose owner stopped heartbeating (0 when none), per migration.',
    attributes: ['migration'],
  },
  lastFailedRun: {
    name: 'migration.runs.last_failure_timestamp',
    kind: 'gauge',
    unit: 's',
    description:
      'When (Unix time, database clock) the latest run now in state failed or partially_failed ended (0 when none), per migration: MigrationRunFailed reads it beside migration.run.failure, whose count a collector restart or outage can lose.',
    attributes: ['migration'],
  },
} as const satisfies Record<string, InstrumentDefinition>;

/**
 * A long-running process's own sign of life (sdops serve and sdops worker, process-gauges.ts): read
 * at each of its metric exports, so it stops moving when the process dies or hangs, and the
 * ServiceDown alert sees that before the series leave the scrape; and its word that it was asked to
 * stop, so ServiceProcessLost tells a stop from a loss.
 */
export const PROCESS_GAUGES = {
  processUptime: {
    name: 'process.uptime',
    kind: 'gauge',
    unit: 's',
    description:
      'Seconds since the process started (semantic conventions), reported by every running sdops serve and sdops worker at each metric export: a value that stopped moving is a process that died or hangs.',
    attributes: [],
  },
  processStopping: {
    name: 'sdops.process.stopping',
    kind: 'gauge',
    unit: '{process}',
    description:
      '1 from the moment a running sdops serve or sdops worker was asked to stop (SIGTERM, SIGINT, SIGHUP) until it exits, its last export included; no series before. A process whose uptime stopped moving without it was lost (killed, crashed, its host gone), not stopped.',
    attributes: [],
  },
} as const satisfies Record<string, InstrumentDefinition>;

export const INSTRUMENT_DEFINITIONS: readonly InstrumentDefinition[] = [
  ...Object.values(INSTRUMENTS),
  ...Object.values(DATABASE_GAUGES),
  ...Object.values(PROCESS_GAUGES),
];
