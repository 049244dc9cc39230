import type pg from 'pg';
import { type CliResult, runCli } from '../../support/cli.ts';
import { type Env, sdopsJson, sqlCount, sqlRows } from './app.ts';
import type { Ledger, ResultJson } from './ledger.ts';
import { waitUntil } from '../../support/wait.ts';

/**
 * The real workload, step by step. Targets are chosen by SQL so every outcome is deterministic
 * (cascade roots whose children are all live, ids that do not exist, a unique-key clash for the
 * restore conflict). Each step records what the app reported in the ledger.
 */

export const SEED_ROWS = 400;
export const MIGRATION = 'backfill-deleted-at';
/** Far older than any seeded legacy row (< 300 days), so retention only sees rows we backdated. */
export const BACKDATE_DAYS = 3000;
export const RETENTION_DAYS = 1000;

export interface Ctx {
  readonly env: Env;
  readonly sql: pg.Pool;
  readonly ledger: Ledger;
  /** The test Prometheus. */
  readonly prom: string;
}

/** `sdops --json <args>` as a short-lived process the ledger counts (and keeps the console of). */
export function sdops<T>(
  ctx: Ctx,
  args: readonly string[],
  opts: { expectCode?: number; extraEnv?: Env } = {},
): Promise<T> {
  return sdopsJson<T>(ctx.env, args, { ...opts, onExit: (r) => ctx.ledger.recordCli(r.stderr) });
}

/** `sdops <args>` without --json, whatever its exit code, counted like sdops(). */
export async function sdopsRaw(ctx: Ctx, args: readonly string[]): Promise<CliResult> {
  const result = await runCli(args, ctx.env);
  ctx.ledger.recordCli(result.stderr);
  return result;
}

async function ids(sql: pg.Pool, text: string, params: unknown[] = []): Promise<string[]> {
  return (await sqlRows<{ id: string }>(sql, text, params)).map((r) => String(r.id));
}

/** Live customers with at least one order whose orders and items are all live (clean cascade roots). */
export async function cleanCascadeRoots(sql: pg.Pool, n: number, offset = 0): Promise<string[]> {
  return ids(
    sql,
    `SELECT c.id::text AS id FROM customers c
      WHERE c.deleted_at IS NULL AND NOT c.is_deleted
        AND EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)
        AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND (o.deleted_at IS NOT NULL OR o.is_deleted))
        AND NOT EXISTS (SELECT 1 FROM orders o JOIN order_items i ON i.order_id = o.id
                         WHERE o.customer_id = c.id AND (i.deleted_at IS NOT NULL OR i.is_deleted))
        AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.owner_customer_id = c.id)
      ORDER BY c.id LIMIT $1 OFFSET $2`,
    [n, offset],
  );
}

async function cli(ctx: Ctx, args: string[], opts: { expectCode?: number } = {}): Promise<ResultJson> {
  return ctx.ledger.add(await sdops<ResultJson>(ctx, args, opts));
}

export interface Summary {
  runId: string;
  state: string;
  traceId: string | null;
  batchesFailed: number;
}

export async function recordSession(
  ctx: Ctx,
  summary: Summary,
  mode: 'start' | 'retry-failed',
  failedBefore: number,
): Promise<void> {
  const [run] = await sqlRows<{ state: string; batches_failed: number; rows_failed: string }>(
    ctx.sql,
    'SELECT state, batches_failed, rows_failed::text FROM sdops_migration_runs WHERE run_id = $1',
    [summary.runId],
  );
  if (!run) throw new Error(`run ${summary.runId} is not in sdops_migration_runs`);
  const batchesFailed = Number(run.batches_failed);
  ctx.ledger.sessions.push({
    runId: summary.runId,
    migration: MIGRATION,
    mode,
    state: run.state,
    batchesFailed,
    newlyFailedBatches: Math.max(0, batchesFailed - failedBefore),
    // A run's failed rows are counted when its batches first fail; retry-failed adds none.
    newlyFailedRows: mode === 'start' ? Number(run.rows_failed) : 0,
    traceId: summary.traceId,
  });
  if (run.state === 'failed' || run.state === 'partially_failed')
    ctx.ledger.failedSessionEnds.push(Date.now());
}

/** The demo domain with a tenth of its rows deleted the legacy way (is_deleted only). */
export async function seedPhase(ctx: Ctx): Promise<void> {
  const counts = await sdops<Record<string, number>>(ctx, [
    'seed',
    '--rows',
    String(SEED_ROWS),
    '--legacy-fraction',
    '0.1',
  ]);
  Object.assign(ctx.ledger.seeded, counts);
}

/**
 * Failing migration runs: partially_failed -> retry-failed succeeded, then failed. The last run
 * (everything left) is the stale-run stretch (stretches.ts).
 */
export async function migrationPhase(ctx: Ctx): Promise<void> {
  // Batch 2 of the customers scan fails on every attempt: the run ends partially_failed.
  const partial = await sdops<Summary>(
    ctx,
    ['migrate', 'start', MIGRATION, '--entity', 'customers', '--batch-size', '10'],
    { expectCode: 1, extraEnv: { SDOPS_MIGRATION_FAIL_BATCH: `${MIGRATION}:2` } },
  );
  await recordSession(ctx, partial, 'start', 0);
  const retried = await sdops<Summary>(ctx, ['migrate', 'retry-failed', partial.runId]);
  await recordSession(ctx, retried, 'retry-failed', ctx.ledger.sessions.at(-1)?.batchesFailed ?? 0);
  // Past --max-failed-batches 0 at its first batch: the run ends failed.
  const failed = await sdops<Summary>(
    ctx,
    ['migrate', 'start', MIGRATION, '--entity', 'orders', '--batch-size', '10', '--max-failed-batches', '0'],
    { expectCode: 1, extraEnv: { SDOPS_MIGRATION_FAIL_BATCH: `${MIGRATION}:1` } },
  );
  await recordSession(ctx, failed, 'start', 0);
}

/** Soft deletes and restores through the CLI across all four entities. */
export async function cliPhase(ctx: Ctx): Promise<void> {
  const { sql, ledger } = ctx;
  const roots = await cleanCascadeRoots(sql, 4);
  if (roots.length < 4) throw new Error(`only ${roots.length} clean cascade roots in the seed`);
  const [cascadeA, cascadeB, restoreRoot, conflictPartner] = roots as [string, string, string, string];

  // single row
  const doc = (await ids(sql, 'SELECT id FROM documents WHERE deleted_at IS NULL ORDER BY id LIMIT 1'))[0]!;
  await cli(ctx, ['delete', 'documents', doc, '--reason', 'pipeline single']);
  // bulk ids in batches of 10, plus one id that does not exist (failure)
  const items = await ids(
    sql,
    `SELECT i.id FROM order_items i JOIN orders o ON o.id = i.order_id
      WHERE i.deleted_at IS NULL AND o.deleted_at IS NULL AND o.customer_id <> ALL($1::bigint[])
      ORDER BY i.id LIMIT 30`,
    [roots],
  );
  // exit 1 naming the id it could not change; the others are done and counted.
  await cli(ctx, ['delete', 'order_items', ...items, '99999999', '--batch-size', '10'], { expectCode: 1 });
  // noop re-delete of the same rows
  await cli(ctx, ['delete', 'order_items', ...items.slice(0, 12), '--batch-size', '5']);
  // a filter: every document of one owner (some may be legacy-deleted already: noop)
  const [owner] = await sqlRows<{ owner: string }>(
    sql,
    `SELECT owner_customer_id::text AS owner FROM documents WHERE owner_customer_id IS NOT NULL
      GROUP BY owner_customer_id HAVING count(*) >= 2 ORDER BY count(*) DESC, 1 LIMIT 1`,
  );
  await cli(ctx, [
    'delete',
    'documents',
    '--filter',
    `owner_customer_id=${owner!.owner}`,
    '--batch-size',
    '1',
  ]);
  // cascades: customers -> orders -> order_items
  await cli(ctx, ['delete', 'customers', cascadeA, cascadeB]);
  await cli(ctx, ['delete', 'orders', '--filter', `customer_id=${restoreRoot}`]);
  await cli(ctx, ['delete', 'customers', restoreRoot]);
  // restore with its cascade
  const restored = await cli(ctx, ['restore', 'customers', restoreRoot]);
  if (restored.counts.success === 1) ledger.markRestored('customers', restoreRoot);

  // restore conflicts: a live row now holds the deleted row's unique email
  const conflictIds = await ids(
    sql,
    `SELECT id FROM customers WHERE deleted_at IS NULL AND NOT is_deleted AND id <> ALL($1::bigint[])
       AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = customers.id)
       AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.owner_customer_id = customers.id)
     ORDER BY id LIMIT 2`,
    [roots],
  );
  const [single, bulk] = conflictIds as [string, string];
  await cli(ctx, ['delete', 'customers', single, bulk, conflictPartner]);
  await sql.query(
    `INSERT INTO customers (id, email, name, plan, country)
     SELECT id + 1000000, email, name || ' (new)', plan, country FROM customers WHERE id = ANY($1::bigint[])`,
    [[single, bulk]],
  );
  ledger.inserted.customers = (ledger.inserted.customers ?? 0) + 2;
  const conflict = await sdopsRaw(ctx, ['restore', 'customers', single]);
  if (conflict.code !== 1 || !/conflict|unique/i.test(conflict.stderr)) {
    throw new Error(`expected a restore conflict (exit 1), got ${conflict.code}: ${conflict.stderr}`);
  }
  ledger.failedCalls.push({ entity: 'customers', operation: 'restore' });
  // One of the two is held by a unique conflict: exit 1 naming it, the other restored and counted.
  const mixed = await cli(ctx, ['restore', 'customers', bulk, conflictPartner], { expectCode: 1 });
  if (mixed.counts.success === 1) ledger.markRestored('customers', conflictPartner);
}

/** Every cleanup job attempt is finished: nothing waiting, retrying or active in cleanup.* queues. */
export async function waitForQueueDrained(sql: pg.Pool, timeoutMs = 60_000): Promise<void> {
  await waitUntil(
    'the cleanup queues to drain',
    async () => {
      const open = await sqlCount(
        sql,
        `SELECT count(*) AS n FROM pgboss.job WHERE name LIKE 'cleanup.%' AND name <> 'cleanup.dead_letter'
          AND state IN ('created', 'retry', 'active')`,
      );
      return open === 0 ? true : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

/** Backdates every soft delete the workload made (not the legacy backfill) far into the past. */
export async function backdate(sql: pg.Pool): Promise<void> {
  for (const table of ['customers', 'orders', 'order_items', 'documents']) {
    await sql.query(
      `UPDATE ${table} SET deleted_at = now() - $1::int * interval '1 day'
        WHERE deleted_at IS NOT NULL AND delete_reason IS DISTINCT FROM 'legacy'`,
      [BACKDATE_DAYS],
    );
  }
}

/** Retention through the CLI (archive documents, purge order_items). */
export async function retentionPhase(ctx: Ctx): Promise<void> {
  await cli(ctx, ['archive', 'documents', '--older-than-days', String(RETENTION_DAYS), '--batch-size', '2']);
  await cli(ctx, ['purge', 'order_items', '--older-than-days', String(RETENTION_DAYS), '--batch-size', '10']);
}
