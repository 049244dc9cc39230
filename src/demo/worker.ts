import { type CleanupSettings, startCleanupRuntime, type WorkerStats } from '../cleanup/index.ts';
import type { Database } from '../db/index.ts';

interface DemoJob {
  readonly jobType: string;
  readonly payload: Record<string, unknown>;
}

export interface DemoWorkerOptions {
  /** Default: purge_expired and archive_entity for every entity (fan-out) and one noop. */
  readonly jobs?: readonly DemoJob[];
  readonly concurrency?: number;
  /** Give up waiting for the queue to drain after this long. Default 60 s. */
  readonly timeoutMs?: number;
}

export interface DemoWorkerSummary {
  readonly enqueued: number;
  readonly drained: boolean;
  readonly durationMs: number;
  readonly stats: WorkerStats;
}

const DEFAULT_JOBS: readonly DemoJob[] = [
  { jobType: 'purge_expired', payload: {} },
  { jobType: 'archive_entity', payload: { olderThanDays: 0 } },
  { jobType: 'noop', payload: {} },
];

/**
 * For `sdops demo`, with the worker settings it was given (`loadConfig().worker`): enqueues a few cleanup jobs, runs a worker in this process until the queue is
 * empty (fan-out and follow-up jobs included) and returns what it did. No cron schedule is saved.
 */
export async function runDemoWorker(
  db: Database,
  base: CleanupSettings,
  options: DemoWorkerOptions = {},
): Promise<DemoWorkerSummary> {
  const started = Date.now();
  // A demo should not sit idle between jobs for a production-sized poll interval.
  const settings = { ...base, pollIntervalMs: Math.min(base.pollIntervalMs, 100) };
  const runtime = await startCleanupRuntime(db, {
    settings,
    schedule: false,
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
  });
  try {
    const jobs = options.jobs ?? DEFAULT_JOBS;
    for (const job of jobs) await runtime.queue.enqueue(job.jobType, job.payload);
    const deadline = started + (options.timeoutMs ?? 60_000);
    let drained = false;
    // Two empty samples in a row: a job finishing between them may have enqueued a follow-up.
    let emptySamples = 0;
    while (Date.now() < deadline && emptySamples < 2) {
      await new Promise((r) => setTimeout(r, 100));
      const rows = await runtime.queue.status();
      const pending = rows.reduce((n, r) => n + r.waiting - r.retrying + r.active, 0);
      emptySamples = pending === 0 && runtime.worker.active === 0 ? emptySamples + 1 : 0;
    }
    drained = emptySamples >= 2;
    const stats = runtime.worker.stats();
    return { enqueued: jobs.length, drained, durationMs: Date.now() - started, stats };
  } finally {
    await runtime.stop();
  }
}
