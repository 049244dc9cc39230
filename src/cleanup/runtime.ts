import type { Database } from '../db/index.ts';
import { SoftDeleteService } from '../soft-delete/index.ts';
import type { HandlerRegistry } from './handlers-types.ts';
import { builtinHandlers } from './handlers.ts';
import { BUILTIN_JOB_TYPES } from './job-types.ts';
import { CleanupQueue } from './queue.ts';
import type { CleanupSettings } from './settings.ts';
import { CleanupWorker, type StopResult, workerJobTypes } from './worker.ts';

export interface RuntimeOptions {
  readonly settings: CleanupSettings;
  /** Overrides settings.concurrency / settings.jobTypes (CLI flags). */
  readonly concurrency?: number;
  readonly jobTypes?: readonly string[];
  /** Handlers for extra job types (tests, extensions); their queues are created too. */
  readonly extraHandlers?: HandlerRegistry;
  /**
   * Save the purge/archive cron schedules. Default true. pg-boss's cron runs in every worker process
   * either way, so schedules saved earlier still fire (once per tick across all processes).
   */
  readonly schedule?: boolean;
  /**
   * Take jobs at once. Default true. `serve` on the embedded database passes false and starts the
   * worker (`worker.start()`) once the API listens: a serve that cannot listen took no job.
   */
  readonly start?: boolean;
}

export interface CleanupRuntime {
  readonly queue: CleanupQueue;
  readonly worker: CleanupWorker;
  /** Graceful: stop taking jobs, finish running ones within the shutdown timeout, close the queue. */
  stop(): Promise<StopResult>;
}

/** Opens the queue in the worker role, saves the cron schedules and starts a worker (RuntimeOptions.start). */
export async function startCleanupRuntime(db: Database, options: RuntimeOptions): Promise<CleanupRuntime> {
  const { settings } = options;
  const handlers: HandlerRegistry = {
    ...builtinHandlers(new SoftDeleteService(db, { defaultBatchSize: settings.batchSize }), settings),
    ...options.extraHandlers,
  };
  const queueTypes = [...BUILTIN_JOB_TYPES, ...Object.keys(options.extraHandlers ?? {})];
  const asked = options.jobTypes ?? settings.jobTypes;
  const jobTypes = asked && asked.length > 0 ? asked : undefined;
  workerJobTypes(jobTypes, queueTypes, handlers);
  const queue = await CleanupQueue.open(db, {
    role: 'worker',
    jobTypes: queueTypes,
    policy: settings.policy,
    maintenanceIntervalSeconds: settings.maintenanceIntervalSeconds,
  });
  try {
    if (options.schedule !== false) {
      await queue.schedule('purge_expired', settings.purgeCron);
      await queue.schedule('archive_entity', settings.archiveCron);
    }
    const worker = new CleanupWorker(queue, handlers, {
      concurrency: options.concurrency ?? settings.concurrency,
      ...(jobTypes ? { jobTypes } : {}),
      pollIntervalMs: settings.pollIntervalMs,
      shutdownTimeoutMs: settings.shutdownTimeoutMs,
    });
    if (options.start !== false) worker.start();
    let stopped: Promise<StopResult> | undefined;
    return {
      queue,
      worker,
      stop: () => {
        stopped ??= worker.stop().finally(() => queue.close());
        return stopped;
      },
    };
  } catch (error) {
    await queue.close();
    throw error;
  }
}
