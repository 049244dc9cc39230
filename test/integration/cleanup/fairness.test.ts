import { expect } from 'chai';
import { BUILTIN_JOB_TYPES, CleanupQueue, CleanupWorker } from '../../../src/cleanup/index.ts';
import type { HandlerRegistry } from '../../../src/cleanup/handlers-types.ts';
import { claimClassOf } from '../../../src/cleanup/job-types.ts';
import { type Database, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { configureLogging } from '../../../src/observability/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { waitUntil } from '../../support/wait.ts';
import { measured } from '../../support/measured.ts';

/**
 * The worker's claim policy (src/cleanup/claim-plan.ts) on PostgreSQL at --concurrency 16, with the
 * real job types and handlers that only take time: which types get the slots, and how long the
 * user-triggered ones wait behind a worker full of maintenance.
 */

interface Run {
  readonly type: string;
  readonly start: number;
  end?: number;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

describe('cleanup worker claims at concurrency 16 (PostgreSQL)', function () {
  this.timeout(120_000);
  let tdb: TestDatabase;
  let db: Database;
  let queue: CleanupQueue;
  let worker: CleanupWorker | undefined;
  let runs: Map<string, Run>;
  let enqueuedAt: Map<string, number>;
  let durations: Record<string, number>;

  const handlers = (): HandlerRegistry =>
    Object.fromEntries(
      BUILTIN_JOB_TYPES.map((type) => [
        type,
        async (_payload: Record<string, unknown>, ctx) => {
          const run: Run = { type, start: performance.now() };
          runs.set(ctx.jobId, run);
          await sleep(durations[type] ?? 0, ctx.signal);
          run.end = performance.now();
          return { count: 0 };
        },
      ]),
    );

  const enqueue = async (type: string, payload: Record<string, unknown>, n: number): Promise<string[]> => {
    const ids = await queue.enqueueMany(
      type,
      Array.from({ length: n }, () => payload),
    );
    const now = performance.now();
    for (const id of ids) enqueuedAt.set(id, now);
    return ids;
  };

  const finished = (type: string) => [...runs.values()].filter((r) => r.type === type && r.end !== undefined);
  const started = (type: string) => [...runs.values()].filter((r) => r.type === type);

  /** Running jobs per class, time-weighted over [from, to] ms. */
  const occupancy = (from: number, to: number, cls: 'user' | 'maintenance'): number => {
    let slotMs = 0;
    for (const r of runs.values()) {
      if (claimClassOf(r.type) !== cls) continue;
      const a = Math.max(from, r.start);
      const b = Math.min(to, r.end ?? to);
      if (b > a) slotMs += b - a;
    }
    return slotMs / (to - from);
  };

  const maxRunning = (cls: 'user' | 'maintenance'): number => {
    const edges = [...runs.values()]
      .filter((r) => claimClassOf(r.type) === cls)
      .flatMap((r) => [
        [r.start, 1],
        [r.end ?? Number.POSITIVE_INFINITY, -1],
      ])
      .sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
    let now = 0;
    let max = 0;
    for (const [, d] of edges) {
      now += d!;
      max = Math.max(max, now);
    }
    return max;
  };

  before(() => configureLogging({ level: 'warn', console: 'stderr' }));

  beforeEach(async () => {
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url, poolSize: 24 });
    await migrateSchema(db);
    queue = await CleanupQueue.open(db, {
      role: 'worker',
      policy: { retryLimit: 0, retryDelaySeconds: 1, expireSeconds: 120 },
    });
    runs = new Map();
    enqueuedAt = new Map();
  });

  afterEach(async () => {
    await worker?.stop(5_000);
    worker = undefined;
    await queue?.close();
    await db?.close();
    await tdb?.drop();
  });

  const startWorker = () => {
    worker = new CleanupWorker(queue, handlers(), {
      concurrency: 16,
      pollIntervalMs: 50,
      shutdownTimeoutMs: 5_000,
    });
    worker.start();
  };

  it('keeps every type moving: 400 fast noop jobs finish while 64 slow purges wait, and cascades and restores enqueued behind a full worker start at once', async () => {
    durations = {
      // Long enough that half the purges begin well after the noop jobs could drain: at 1.5 s a CI
      // run under load finished its last noop 4 ms after the 32nd purge began.
      purge_expired: 2000,
      archive_entity: 1000,
      noop: 5,
      cascade_soft_delete: 200,
      restore_cascade: 200,
    };
    await enqueue('purge_expired', { entity: 'orders' }, 64);
    await enqueue('archive_entity', { entity: 'orders' }, 16);
    await enqueue('noop', {}, 400);
    const t0 = performance.now();
    startWorker();
    await waitUntil('16 jobs running', () => worker!.active === 16);
    const user = [
      ...(await enqueue('cascade_soft_delete', { entity: 'customers', id: '1' }, 20)),
      ...(await enqueue('restore_cascade', { entity: 'customers', id: '1' }, 20)),
    ];
    await waitUntil('every job to finish', () => [...runs.values()].filter((r) => r.end).length === 520, {
      timeoutMs: 90_000,
    });
    const claims = (ms: number) =>
      Object.fromEntries(
        BUILTIN_JOB_TYPES.map((t) => [t, started(t).filter((r) => r.start - t0 <= ms).length]),
      );
    const purgeStarts = started('purge_expired')
      .map((r) => r.start)
      .sort((a, b) => a - b);
    const lastNoop = Math.max(...finished('noop').map((r) => r.end!));
    const waits = user.map((id) => runs.get(id)!.start - enqueuedAt.get(id)!);
    const purgeDrain = purgeStarts.at(-1)! - t0;
    measured(
      `claims in the first 2 s: ${JSON.stringify(claims(2000))}; noop all done after ${Math.round(lastNoop - t0)} ms, ` +
        `purge backlog started last after ${Math.round(purgeDrain)} ms; cascade/restore wait max ${Math.round(Math.max(...waits))} ms`,
    );
    // The noop jobs were not held back by the purge backlog: all done before half the purges began.
    expect(lastNoop).to.be.below(purgeStarts[31]!);
    // Nor were the archive jobs: every type waiting at the start had claims in the first two
    // seconds. (The user-triggered ones are enqueued once the worker is full, which can itself take
    // a second or two; their bound is the wait below.)
    const early = claims(2000);
    for (const type of ['purge_expired', 'archive_entity', 'noop']) {
      expect(early[type], type).to.be.greaterThan(0);
    }
    // User-triggered jobs did not queue behind the maintenance backlog (about 6 s to drain).
    expect(Math.max(...waits)).to.be.below(Math.min(2000, purgeDrain / 2));
  });

  it('refills the slots a long job leaves free as soon as they free up, at the default poll interval', async () => {
    durations = { purge_expired: 8_000, bulk_restore: 5 };
    worker = new CleanupWorker(queue, handlers(), {
      concurrency: 4,
      pollIntervalMs: 1_000,
      shutdownTimeoutMs: 5_000,
    });
    await enqueue('purge_expired', { entity: 'documents' }, 1);
    const t0 = performance.now();
    worker.start();
    await waitUntil('the long job to start', () => started('purge_expired').length === 1 || undefined);
    await enqueue('bulk_restore', { entity: 'documents', ids: ['1'] }, 60);
    await waitUntil(
      'the 60 quick jobs to finish',
      () => finished('bulk_restore').length === 60 || undefined,
      {
        timeoutMs: 20_000,
      },
    );
    const ms = performance.now() - t0;
    measured(`60 quick jobs beside one 8 s job at concurrency 4, poll 1 s: ${Math.round(ms)} ms`);
    // Before: one refill of the 3 free slots per poll interval while the long job ran, 60 / 3 = 20 s.
    expect(ms).to.be.below(6_000);
    expect(finished('purge_expired'), 'the long job was still running throughout').to.have.length(0);
  });

  it('keeps a quarter of the slots for maintenance while user-triggered jobs flood the worker, and never more than three quarters for them', async () => {
    durations = { purge_expired: 2000, cascade_soft_delete: 100 };
    await enqueue('purge_expired', { entity: 'orders' }, 30);
    await enqueue('cascade_soft_delete', { entity: 'customers', id: '1' }, 400);
    const t0 = performance.now();
    startWorker();
    await waitUntil('the cascade flood to drain', () => finished('cascade_soft_delete').length === 400, {
      timeoutMs: 90_000,
    });
    const floodEnd = Math.max(...finished('cascade_soft_delete').map((r) => r.end!));
    // From the first second (the first purges are running) to the end of the flood, both classes wait.
    const from = t0 + 1000;
    const user = occupancy(from, floodEnd, 'user');
    const maintenance = occupancy(from, floodEnd, 'maintenance');
    measured(
      `during a flood of 400 cascades: ${user.toFixed(1)} slots user, ${maintenance.toFixed(1)} maintenance ` +
        `(flood drained in ${Math.round(floodEnd - t0)} ms); most user jobs at once ${maxRunning('user')}`,
    );
    expect(maxRunning('user')).to.be.at.most(12);
    expect(maintenance).to.be.at.least(3);
    expect(user).to.be.at.least(6);
  });
});
