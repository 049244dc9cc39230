import type pg from 'pg';
import { CleanupQueue } from '../../../src/cleanup/index.ts';
import { loadConfig } from '../../../src/config.ts';
import { openDatabase } from '../../../src/db/index.ts';
import type { TestCollector } from '../support/collector.ts';
import { sqlRows } from './app.ts';
import type { ResultJson } from './ledger.ts';
import { type Ctx, cleanCascadeRoots, RETENTION_DAYS, sdops, waitForQueueDrained } from './scenario.ts';
import { waitUntil } from '../../support/wait.ts';

/**
 * The long-running half of the workload: HTTP API calls against `sdops serve` (a DELETE that leaves
 * its cascade to a cleanup job), jobs for `sdops worker` (one that times out until it is dead), and
 * a collector outage in the middle of it.
 */

export interface ApiCall {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly body: ResultJson;
}

export async function api(base: string, method: string, path: string, body?: unknown): Promise<ApiCall> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  return { method, path, status: response.status, body: (await response.json()) as ResultJson };
}

export async function ok(ctx: Ctx, call: Promise<ApiCall>, statuses?: number[]): Promise<ResultJson> {
  const { method, path, status, body } = await call;
  ctx.ledger.apiCalls.push({ method, path, status });
  statuses?.push(status);
  if (status !== 200) throw new Error(`API answered ${status}: ${JSON.stringify(body)}`);
  return ctx.ledger.add(body);
}

export async function enqueue(ctx: Ctx, jobType: string, payload: object): Promise<string> {
  const { jobId } = await sdops<{ jobId: string }>(ctx, [
    'queue',
    'enqueue',
    jobType,
    '--payload',
    JSON.stringify(payload),
  ]);
  return jobId;
}

/** Enqueues n one-second noop jobs in one go (one CLI process per job would trickle them in). */
export async function enqueueBurst(ctx: Ctx, n: number): Promise<void> {
  const db = await openDatabase({ url: ctx.env.DATABASE_URL! });
  try {
    const queue = await CleanupQueue.open(db, { role: 'client', policy: loadConfig(ctx.env).worker.policy });
    try {
      await queue.enqueueMany(
        'noop',
        Array.from({ length: n }, () => ({ sleepMs: 1000 })),
      );
    } finally {
      await queue.close();
    }
  } finally {
    await db.close();
  }
}

async function liveIds(sql: pg.Pool, table: string, n: number): Promise<string[]> {
  const rows = await sqlRows<{ id: string }>(
    sql,
    `SELECT id::text AS id FROM ${table} WHERE deleted_at IS NULL AND NOT is_deleted ORDER BY id DESC LIMIT $1`,
    [n],
  );
  return rows.map((r) => r.id);
}

/** API calls and jobs before the outage. */
export async function apiPhase(ctx: Ctx, base: string): Promise<void> {
  const [root] = await cleanCascadeRoots(ctx.sql, 1);
  const deleted = await ok(ctx, api(base, 'DELETE', `/v1/customers/${root}`));
  if (deleted.job?.type !== 'cascade_soft_delete') {
    throw new Error(`DELETE /v1/customers/${root} enqueued no cascade job: ${JSON.stringify(deleted)}`);
  }
  ctx.ledger.jobIds.apiCascade = deleted.job.id;
  const docs = await liveIds(ctx.sql, 'documents', 6);
  await ok(ctx, api(base, 'POST', '/v1/documents/bulk-delete', { ids: docs.slice(0, 5) }));
  await ok(ctx, api(base, 'DELETE', `/v1/documents/${docs[5]}`));
  const restored = await ok(ctx, api(base, 'POST', `/v1/documents/${docs[5]}/restore`));
  if (restored.counts.success === 1) ctx.ledger.markRestored('documents', docs[5]!);
  // noop re-delete through the API
  await ok(ctx, api(base, 'POST', '/v1/documents/bulk-delete', { ids: docs.slice(0, 2) }));

  ctx.ledger.jobIds.noop = await enqueue(ctx, 'noop', {});
  // Sleeps past its 2 s lease on every attempt: fails, is retried once, then is dead.
  ctx.ledger.jobIds.failing = await enqueue(ctx, 'noop', { sleepMs: 8000 });
  // More one-second jobs than the worker has free slots: some wait for at least a second, several of
  // the 300 ms database-gauge readings, so the queue gauge is seen above 0 however fast the machine is.
  await enqueueBurst(ctx, 8);
  await waitForQueueDrained(ctx.sql);
}

/**
 * Stops the collector, keeps the API and the worker busy until both have certainly failed an
 * export (their telemetry warning is in the process log) and the work is done, then restarts it.
 */
export async function outagePhase(
  ctx: Ctx,
  base: string,
  collector: TestCollector,
  logs: () => string[],
  /** Waited for before the collector starts again: what must see it down (an alert, a scrape). */
  whileDown: () => Promise<void>,
): Promise<void> {
  await collector.stop();
  const roots = await cleanCascadeRoots(ctx.sql, 2);
  for (const root of roots) {
    const body = await ok(ctx, api(base, 'DELETE', `/v1/customers/${root}`), ctx.ledger.outageStatuses);
    if (body.job === undefined)
      throw new Error(`DELETE /v1/customers/${root} during the outage enqueued no job`);
  }
  const items = await liveIds(ctx.sql, 'order_items', 7);
  await ok(ctx, api(base, 'POST', '/v1/order_items/bulk-delete', { ids: items }), ctx.ledger.outageStatuses);
  await waitForQueueDrained(ctx.sql);
  await waitUntil(
    'the API and the worker to report a failed telemetry export',
    async () =>
      logs().every((text) => /telemetry export failed/.test(exportWarnings(text))) ? true : undefined,
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  await whileDown();
  await collector.start();
}

/** The telemetry component's console warnings in a JSON-lines process log. */
export function exportWarnings(text: string): string {
  return text
    .split('\n')
    .filter((line) => line.includes('"component":"telemetry"') && line.includes('"level":"warn"'))
    .join('\n');
}

/** Retention through worker jobs after the backdate. */
export async function retentionJobs(ctx: Ctx): Promise<void> {
  ctx.ledger.jobIds.purge = await enqueue(ctx, 'purge_expired', {
    entity: 'customers',
    olderThanDays: RETENTION_DAYS,
    batchSize: 2,
  });
  ctx.ledger.jobIds.archive = await enqueue(ctx, 'archive_entity', {
    entity: 'orders',
    olderThanDays: RETENTION_DAYS,
  });
  await waitForQueueDrained(ctx.sql);
}
