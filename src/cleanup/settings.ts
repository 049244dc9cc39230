import type { WorkerConfig } from '../config.ts';

/**
 * The worker's settings are parsed once, by src/config.ts (`loadConfig().worker`); the worker, the
 * queue and the runtime are written against these names for them.
 */
export type CleanupSettings = WorkerConfig;
export type QueuePolicy = WorkerConfig['policy'];
