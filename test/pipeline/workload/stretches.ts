import { spawn } from 'node:child_process';
import { REPO_ROOT, SDOPS_BIN } from '../../support/cli.ts';
import { ALERT_RULES, PANEL_IDS } from '../../../grafana/src/index.ts';
import { sqlRows } from './app.ts';
import type { Expected } from './expected.ts';
import { firing, instantAt, keyed, panelQuery, scrapedAfter } from './query.ts';
import { SCALED_RULES } from './rules.ts';
import {
  type Ctx,
  cleanCascadeRoots,
  MIGRATION,
  recordSession,
  type Summary,
  waitForQueueDrained,
} from './scenario.ts';
import { api, enqueue, enqueueBurst, ok } from './service-phase.ts';
import { queueTruth, staleTruth } from './truth.ts';
import type { Moment } from './world.ts';
import { waitUntil } from '../../support/wait.ts';

/**
 * The two stretches where the truth lives only in the database: a migration run whose process is
 * frozen (its lease expires: a stale run), and a queue with no worker running. At the moment each
 * is established, the pipeline's answers (panels, alert expressions) and the tables' are captured
 * side by side; the tests compare them.
 */

const ruleValue = (rules: typeof ALERT_RULES, name: string) => {
  const rule = rules.find((r) => r.name === name);
  if (!rule) throw new Error(`no alert ${name}`);
  return rule.valueExpr;
};

async function capture(
  ctx: Ctx,
  queries: Record<string, { expr: string; by: readonly string[] }>,
  truth: () => Promise<Record<string, Expected>>,
): Promise<Moment> {
  const at = Date.now();
  const seen: Record<string, Expected> = {};
  for (const [name, q] of Object.entries(queries))
    seen[name] = keyed(await instantAt(ctx.prom, q.expr, at), q.by);
  return { at, seen, truth: await truth() };
}

/**
 * The last run of the migration (everything left), throttled, is frozen with SIGSTOP after its first
 * batch: its heartbeat stops, its lease expires, and the stale-run gauge, panel and (scaled) alert
 * must say so; then SIGCONT lets it finish, and the gauge goes back to 0.
 */
export async function staleRunStretch(ctx: Ctx): Promise<{ during: Moment; after: Moment }> {
  const startedAt = new Date();
  const args = ['--json', 'migrate', 'start', MIGRATION, '--batch-size', '50', '--max-rows-per-second', '20'];
  const child = spawn(process.execPath, [SDOPS_BIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...ctx.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString('utf8');
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const queries = {
    panel: { expr: panelQuery(PANEL_IDS.staleRuns, 'A'), by: ['migration'] },
    value: { expr: ruleValue(ALERT_RULES, 'MigrationRunStale'), by: ['migration'] },
    scaled: { expr: ruleValue(SCALED_RULES, 'MigrationRunStale'), by: ['migration'] },
  };
  try {
    await waitUntil(
      'the last migration run to commit its first batch',
      async () => {
        const [run] = await sqlRows<{ n: number }>(
          ctx.sql,
          `SELECT batches_done AS n FROM sdops_migration_runs
            WHERE migration = $1 AND created_at >= $2 AND state = 'running'`,
          [MIGRATION, startedAt],
        );
        return run && run.n >= 1 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    child.kill('SIGSTOP');
    await waitUntil(
      'the scaled MigrationRunStale alert to fire for the frozen run',
      async () =>
        (await firing(ctx.prom, 'MigrationRunStale', true, 'migration')).includes(MIGRATION)
          ? true
          : undefined,
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const during = await capture(ctx, queries, async () => ({ stale: await staleTruth(ctx.sql) }));
    child.kill('SIGCONT');
    const code = await exited;
    ctx.ledger.recordCli(stderr);
    if (code !== 0) throw new Error(`the resumed-by-SIGCONT run exited ${code}:\n${stderr.slice(-2000)}`);
    await recordSession(ctx, JSON.parse(stdout) as Summary, 'start', 0);
    await waitUntil(
      'the stale-run panel back to 0',
      async () => {
        const seen = keyed(await instantAt(ctx.prom, queries.panel.expr), ['migration']);
        return Object.values(seen).every((v) => v === 0) && Object.keys(seen).length > 0 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const after = await capture(ctx, queries, async () => ({ stale: await staleTruth(ctx.sql) }));
    return { during, after };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
  }
}

export interface ServiceControl {
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  restartServe(): Promise<void>;
  /** The running API's base URL. */
  base(): string;
}

const QUEUE_TYPES = ['noop', 'cascade_soft_delete'];

/**
 * The worker stops; jobs are enqueued (by the CLI, by a burst, by an API DELETE whose cascade is a
 * job) and wait. The queue gauges come from the database (serve reads it), so the queue panels must
 * equal the table and the scaled backlog and stalled alerts must fire. The sampling process (serve)
 * then restarts: still one series per job type, still equal. A new worker drains the queue.
 */
export async function noWorkerStretch(
  ctx: Ctx,
  services: ServiceControl,
): Promise<{ during: Moment; afterServeRestart: Moment; drained: Moment }> {
  await services.stopWorker();
  ctx.ledger.jobIds.waitingA = await enqueue(ctx, 'noop', {});
  ctx.ledger.jobIds.waitingB = await enqueue(ctx, 'noop', {});
  await enqueueBurst(ctx, 3);
  const [root] = await cleanCascadeRoots(ctx.sql, 1);
  await ok(ctx, api(services.base(), 'DELETE', `/v1/customers/${root}`));
  const queries = {
    queueLength: { expr: panelQuery(PANEL_IDS.queueLength, 'A'), by: ['job_type'] },
    oldestWait: { expr: panelQuery(PANEL_IDS.queueOldestWait, 'A'), by: ['job_type'] },
    backlog: { expr: ruleValue(ALERT_RULES, 'CleanupQueueBacklog'), by: ['job_type'] },
    backlogScaled: { expr: ruleValue(SCALED_RULES, 'CleanupQueueBacklog'), by: ['job_type'] },
    stalled: { expr: ruleValue(ALERT_RULES, 'CleanupQueueStalled'), by: ['job_type'] },
    stalledScaled: { expr: ruleValue(SCALED_RULES, 'CleanupQueueStalled'), by: ['job_type'] },
    seriesPerType: { expr: 'count by (job_type) (cleanup_queue_length)', by: ['job_type'] },
    // Idle stretch for the rate panels: no job finishes, so 0 for every job type, not "no data".
    jobsIdle: { expr: panelQuery(PANEL_IDS.jobsProcessed, 'A', { rateInterval: '2s' }), by: ['job_type'] },
    errorsIdle: { expr: panelQuery(PANEL_IDS.errorRate, 'A', { rateInterval: '2s' }), by: ['entity'] },
  };
  const truth = async () => {
    const q = await queueTruth(ctx.sql);
    return { waiting: q.waiting, oldestWait: q.oldestWait, sinceLastStart: q.sinceLastStart };
  };
  const alertsUp = async (): Promise<boolean> => {
    const backlog = await firing(ctx.prom, 'CleanupQueueBacklog', true, 'job_type');
    const stalled = await firing(ctx.prom, 'CleanupQueueStalled', true, 'job_type');
    return backlog.includes('noop') && QUEUE_TYPES.every((t) => stalled.includes(t));
  };
  await waitUntil(
    'the scaled backlog and stalled alerts to fire with no worker',
    async () => ((await alertsUp()) ? true : undefined),
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  const during = await capture(ctx, queries, truth);

  await services.restartServe();
  // The restarted serve reads the same database and writes the same series: by the first scrape a
  // second after it is up, it has read the tables (every 300 ms) and exported them (every 500 ms).
  await scrapedAfter(ctx.prom, Date.now() + 1000);
  const afterServeRestart = await capture(ctx, queries, truth);

  await services.startWorker();
  await waitForQueueDrained(ctx.sql);
  await waitUntil(
    'the queue panels at 0 and the scaled queue alerts resolved',
    async () => {
      const length = keyed(await instantAt(ctx.prom, queries.queueLength.expr), ['job_type']);
      const stalled = await firing(ctx.prom, 'CleanupQueueStalled', true, 'job_type');
      const backlog = await firing(ctx.prom, 'CleanupQueueBacklog', true, 'job_type');
      const zero = Object.keys(length).length > 0 && Object.values(length).every((v) => v === 0);
      return zero && stalled.length === 0 && backlog.length === 0 ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  const drained = await capture(ctx, queries, truth);
  return { during, afterServeRestart, drained };
}

/**
 * A job held by a worker that is gone: what a SIGKILLed worker leaves until the job's lease runs out
 * (before the held-jobs series it showed on no panel for all that time). Played in the table, with a
 * lease of an hour, since the suite's 2 s lease would expire a real one at once: the panels' held
 * jobs and how long the longest has run must equal the table; after it is gone, 0 in both.
 */
export async function heldJobStretch(ctx: Ctx): Promise<{ during: Moment; after: Moment }> {
  const queries = {
    running: { expr: panelQuery(PANEL_IDS.queueLength, 'B'), by: ['job_type'] },
    runningFor: { expr: panelQuery(PANEL_IDS.queueOldestWait, 'B'), by: ['job_type'] },
  };
  const truth = async () => {
    const q = await queueTruth(ctx.sql);
    return { active: q.active, oldestActive: q.oldestActive };
  };
  const panelSays = async (noop: number) => {
    const running = keyed(await instantAt(ctx.prom, queries.running.expr), ['job_type']);
    return running.noop === noop && Object.values(running).every((v) => v === 0 || v === noop)
      ? true
      : undefined;
  };
  const timing = { timeoutMs: 30_000, intervalMs: 250 };
  // Drained in the table, and in the panels too: a reading from before (a real noop job running a
  // moment before) would otherwise pass for the held job below, with its own age (a CI run: 0.18 s).
  await waitForQueueDrained(ctx.sql);
  await waitUntil('no held job in the panels', () => panelSays(0), timing);
  const [row] = await sqlRows<{ id: string }>(
    ctx.sql,
    `INSERT INTO pgboss.job (name, data, state, started_on, expire_seconds)
     VALUES ('cleanup.noop', '{}', 'active', now() - interval '30 seconds', 3600) RETURNING id::text AS id`,
  );
  await waitUntil('the held job in the panels', () => panelSays(1), timing);
  const during = await capture(ctx, queries, truth);
  await ctx.sql.query('DELETE FROM pgboss.job WHERE id = $1', [row?.id]);
  await waitUntil('the held-jobs series back at 0', () => panelSays(0), timing);
  const after = await capture(ctx, queries, truth);
  return { during, after };
}
