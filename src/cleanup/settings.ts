/**
 * The settings the cleanup worker, its queue and its runtime take. Declared here, by the capability
 * that uses them; src/config.ts builds them from the SDOPS_* variables (`loadConfig().worker`) and
 * the CLI passes them in.
 */
export interface QueuePolicy {
  readonly retryLimit: number;
  readonly retryDelaySeconds: number;
  readonly expireSeconds: number;
  /**
   * How long a running job's heartbeat may go unseen before a worker's maintenance fails it (it runs
   * again): a killed worker's job comes back after this instead of its whole lease. 0 or unset: off.
   */
  readonly heartbeatSeconds?: number;
}

export interface CleanupSettings {
  readonly concurrency: number;
  /** undefined: every known job type. */
  readonly jobTypes: readonly string[] | undefined;
  readonly pollIntervalMs: number;
  /** undefined ("off"): this process reports no database gauges. */
  readonly queueSampleIntervalMs: number | undefined;
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
