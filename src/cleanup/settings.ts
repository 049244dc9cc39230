/**
 * The worker's settings. src/config.ts parses them from the environment (`loadConfig().worker`, same
 * shape); these types stay here because the worker, the queue and the runtime are written against them.
 */
export interface QueuePolicy {
  readonly retryLimit: number;
  readonly retryDelaySeconds: number;
  readonly expireSeconds: number;
}

export interface CleanupSettings {
  readonly concurrency: number;
  /** undefined: every known job type. */
  readonly jobTypes: readonly string[] | undefined;
  readonly pollIntervalMs: number;
  readonly queueSampleIntervalMs: number;
  readonly policy: QueuePolicy;
  readonly maintenanceIntervalSeconds: number;
  readonly shutdownTimeoutMs: number;
  /** undefined: not scheduled. */
  readonly purgeCron: string | undefined;
  readonly archiveCron: string | undefined;
  readonly archiveAfterDays: number;
  readonly batchSize: number;
  readonly maxRowsPerJob: number;
}
