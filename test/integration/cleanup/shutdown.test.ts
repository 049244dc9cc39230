import { loadConfig } from '../../../src/config.ts';
import { expect } from 'chai';
import pg from 'pg';
import { CleanupQueue } from '../../../src/cleanup/index.ts';
import { type Database, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { configureLogging } from '../../../src/observability/index.ts';
import { SoftDeleteService } from '../../../src/soft-delete/index.ts';
import { type SdopsProcess, spawnSdops } from '../../support/sdops-process.ts';
import { runCli } from '../../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { makeFamily } from '../soft-delete/support.ts';
import { breakableProxy } from '../../support/tcp-proxy.ts';
import { waitUntil } from '../../support/wait.ts';
import { measured } from '../../support/measured.ts';

/**
 * `sdops worker` stopped while a job waits on a row lock someone else holds: the shutdown timeout
 * holds, the job is handed back (its statement cancelled, its transaction rolled back) and runs again
 * once the lock is gone.
 */
describe('worker shutdown with a job stuck on a lock (PostgreSQL)', function () {
  this.timeout(120_000);
  let tdb: TestDatabase;
  let db: Database;
  let holder: pg.Client;
  const workers: SdopsProcess[] = [];
  const SHUTDOWN_MS = 2000;

  const env = () => ({
    DATABASE_URL: tdb.url,
    SDOPS_QUEUE_POLL_INTERVAL_MS: '100',
    SDOPS_JOB_RETRY_DELAY_SECONDS: '1',
    SDOPS_WORKER_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_MS),
  });
  const startWorker = async () => {
    const w = spawnSdops(['worker', '--job-types', 'cascade_soft_delete', '--no-schedule'], env());
    workers.push(w);
    await w.waitFor(/worker started/);
    return w;
  };
  const lockWaiters = async () =>
    Number(
      (
        await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        )
      ).rows[0]?.n,
    );

  before(async () => {
    configureLogging({ level: 'warn', console: 'stderr' });
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url });
    await migrateSchema(db);
    holder = new pg.Client({ connectionString: tdb.url });
    await holder.connect();
  });

  after(async () => {
    for (const w of workers) await w.stop('SIGKILL');
    await holder?.end().catch(() => undefined);
    await db?.close();
    await tdb?.drop();
  });

  it('exits within the shutdown timeout, hands the job back with its statement cancelled, and the job runs again later', async () => {
    const f = await makeFamily(db, { orders: 3, items: 1 });
    const sd = new SoftDeleteService(db);
    const parent = await sd.softDelete('customers', { id: f.customer }, { cascade: false });
    // Someone else holds the orders' row locks: the cascade's UPDATE will wait for them.
    await holder.query('BEGIN');
    await holder.query('SELECT id FROM orders WHERE customer_id = $1 FOR UPDATE', [f.customer]);
    const queue = await CleanupQueue.open(db, { role: 'client', policy: loadConfig().worker.policy });
    const jobId = await queue.enqueue('cascade_soft_delete', {
      entity: 'customers',
      id: f.customer,
      ...(parent.opId ? { opId: parent.opId } : {}),
    });
    await queue.close();
    // On its last attempt: a hand-back used to spend it, and the job went dead on a routine stop.
    await db.query('UPDATE pgboss.job SET retry_limit = 0 WHERE id = $1', [jobId]);

    const w = await startWorker();
    await waitUntil('the job to wait on the lock', async () => (await lockWaiters()) === 1);
    const t0 = performance.now();
    const code = await w.stop('SIGTERM');
    const ms = performance.now() - t0;
    measured(
      `worker exit after SIGTERM with a job stuck on a lock: ${Math.round(ms)} ms (timeout ${SHUTDOWN_MS} ms)`,
    );
    expect(code, w.output()).to.equal(0);
    // Typically the timeout plus ~50 ms; the margin is for a loaded test machine. Without the
    // cancellation the worker waits for the lock, here forever.
    expect(ms).to.be.below(SHUTDOWN_MS + 5000);
    expect(w.output()).to.not.include('Cannot use a pool');
    expect(w.output()).to.match(/"message":"worker stopped".*"handed_back":1,"cancelled_statements":1/);
    expect(await lockWaiters(), 'the stuck statement is gone').to.equal(0);
    const { rows } = await db.query<{ state: string; code: string; retries: number }>(
      `SELECT state::text AS state, output->>'code' AS code, retry_count AS retries FROM pgboss.job WHERE id = $1`,
      [jobId],
    );
    expect(rows[0]).to.deep.equal({ state: 'created', code: 'worker_shutdown', retries: 0 });
    expect(w.output()).to.include('cleanup job handed back at shutdown, runs again without spending a retry');
    // The cascade's cancelled batch is the hand-back's doing, not a failed operation (every deploy
    // with a job in flight warned, and counted a failed call on the error-rate panel).
    expect(w.output()).to.not.include('soft_delete operation failed');
    expect(w.output()).to.include('"message":"soft_delete operation interrupted"');
    const liveOrders = async () =>
      Number(
        (
          await db.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM orders WHERE customer_id = $1 AND deleted_at IS NULL',
            [f.customer],
          )
        ).rows[0]?.n,
      );
    expect(await liveOrders(), 'the cancelled transaction changed nothing').to.equal(3);

    await holder.query('COMMIT');
    const again = await startWorker();
    await waitUntil('the job to complete on the next worker', async () => {
      const r = await db.query<{ state: string }>(
        `SELECT state::text AS state FROM pgboss.job WHERE id = $1`,
        [jobId],
      );
      return r.rows[0]?.state === 'completed';
    });
    expect(await liveOrders()).to.equal(0);
    expect(await again.stop('SIGTERM')).to.equal(0);
  });

  it('cancels the statement of a job whose lease ran out before it records the attempt failed, so the attempt writes nothing later', async () => {
    const f = await makeFamily(db, { orders: 2, items: 1 });
    const sd = new SoftDeleteService(db);
    const parent = await sd.softDelete('customers', { id: f.customer }, { cascade: false });
    await holder.query('BEGIN');
    await holder.query('SELECT id FROM orders WHERE customer_id = $1 FOR UPDATE', [f.customer]);
    const LEASE_S = 2;
    const policy = { ...loadConfig().worker.policy, expireSeconds: LEASE_S, retryDelaySeconds: 60 };
    const queue = await CleanupQueue.open(db, { role: 'client', policy });
    const jobId = await queue.enqueue('cascade_soft_delete', {
      entity: 'customers',
      id: f.customer,
      ...(parent.opId ? { opId: parent.opId } : {}),
    });
    await queue.close();
    const w = spawnSdops(['worker', '--job-types', 'cascade_soft_delete', '--no-schedule'], {
      ...env(),
      SDOPS_JOB_EXPIRE_SECONDS: String(LEASE_S),
      SDOPS_JOB_RETRY_DELAY_SECONDS: '60',
    });
    workers.push(w);
    await w.waitFor(/worker started/);
    await waitUntil('the job to wait on the lock', async () => (await lockWaiters()) === 1);
    await w.waitFor(/cleanup job failed, will be retried/, 30_000);
    // Before: recorded failed at once while its UPDATE went on waiting, to commit once the lock was
    // free, beside the job's own retry (and past the worker's shutdown).
    expect(await lockWaiters(), "the expired attempt's statement is gone").to.equal(0);
    const { rows } = await db.query<{ state: string; code: string }>(
      `SELECT state::text AS state, output->>'code' AS code FROM pgboss.job WHERE id = $1`,
      [jobId],
    );
    expect(rows[0]).to.deep.equal({ state: 'retry', code: 'job_timeout' });
    await holder.query('COMMIT');
    const { rows: live } = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM orders WHERE customer_id = $1 AND deleted_at IS NULL',
      [f.customer],
    );
    expect(live[0]?.n, 'the expired attempt changed nothing').to.equal(2);
    expect(await w.stop('SIGTERM')).to.equal(0);
  });
});

/**
 * A worker told to stop while the database is frozen: its job claim is held through the freeze (so
 * the jobs it takes are not stranded), and pg-boss's stop waited for that claim. The worker logged
 * "worker stopped" and never exited until the database answered.
 */
describe('worker shutdown while the database is frozen (PostgreSQL)', function () {
  this.timeout(90_000);
  let tdb: TestDatabase;

  before(async () => {
    tdb = await createTestDatabase();
    const db = await openDatabase({ url: tdb.url });
    await migrateSchema(db);
    await db.close();
  });
  after(async () => {
    await tdb?.drop();
  });

  it('says which handed-back jobs the database did not take before it says it stopped, and exits soon after', async () => {
    const proxy = await breakableProxy(tdb.url);
    const env = {
      DATABASE_URL: proxy.url,
      SDOPS_QUEUE_POLL_INTERVAL_MS: '100',
      SDOPS_WORKER_SHUTDOWN_TIMEOUT_MS: '1000',
    };
    const enqueued = await runCli(['queue', 'enqueue', 'noop', '--payload', '{"sleepMs":60000}'], env);
    expect(enqueued.code, enqueued.stderr).to.equal(0);
    const w = spawnSdops(['worker', '--no-schedule', '--job-types', 'noop'], env);
    try {
      await w.waitFor(/worker started/);
      const db = await openDatabase({ url: tdb.url });
      try {
        await waitUntil('the job to be active', async () => {
          const { rows } = await db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'cleanup.noop' AND state = 'active'`,
          );
          return rows[0]?.n === 1 || undefined;
        });
      } finally {
        await db.close();
      }
      // The database goes away: the hand-back cannot be recorded.
      proxy.cut();
      const t0 = performance.now();
      w.child.kill('SIGTERM');
      const code = await w.exited;
      const ms = performance.now() - t0;
      measured(`worker exit after SIGTERM with the database gone and a job running: ${Math.round(ms)} ms`);
      expect(code, w.output().slice(-3000)).to.equal(0);
      // 1 s timeout, 2 s for the hand-back record, 1 s for the attempts to give up, and a slow host.
      expect(ms).to.be.below(1000 + 2000 + 1000 + 4000);
      const out = w.output();
      // Before: the job's lines came after "worker exiting", retrying against a pool already ended.
      const notHandedBack = out.indexOf('cleanup job stopped at shutdown and not handed back');
      expect(notHandedBack, out.slice(-3000)).to.be.above(-1);
      expect(notHandedBack).to.be.below(out.indexOf('"message":"worker stopped"'));
      expect(out).to.not.include('Cannot use a pool');
    } finally {
      await w.stop('SIGKILL');
      proxy.close();
    }
  });

  it('exits within its shutdown timeout and the closing waits, not when the database answers', async () => {
    const proxy = await breakableProxy(tdb.url);
    const w = spawnSdops(['worker', '--no-schedule', '--job-types', 'noop'], {
      DATABASE_URL: proxy.url,
      SDOPS_QUEUE_POLL_INTERVAL_MS: '100',
      SDOPS_WORKER_SHUTDOWN_TIMEOUT_MS: '2000',
    });
    try {
      await w.waitFor(/worker started/);
      proxy.freeze();
      // By the time the watch gives up on the gauges' read, the next claim is out and held.
      await w.waitFor(/the database stopped answering/, 40_000);
      const t0 = performance.now();
      w.child.kill('SIGTERM');
      // 2 s shutdown timeout, 2 s for pg-boss's stop, 2 s for the last gauge reading, 5 s for the
      // pool's close, and room for a slow host; before, it waited for the freeze to end, here never.
      const code = await Promise.race([
        w.exited,
        new Promise<'alive'>((resolve) => setTimeout(() => resolve('alive'), 45_000)),
      ]);
      expect(code, w.output().slice(-1500)).to.equal(0);
      const ms = performance.now() - t0;
      measured(`worker exit after SIGTERM with the database frozen: ${Math.round(ms)} ms`);
      // The runbook's bound: at most 12 s after the shutdown timeout (it measured 10 s more, 5 s of
      // them waiting for pg-boss's stop and the gauges' last reading; now about 5 s more).
      expect(ms).to.be.below(2000 + 12_000);
    } finally {
      proxy.restore();
      await w.stop('SIGKILL');
      proxy.close();
    }
  });
});
