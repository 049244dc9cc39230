import { expect } from 'chai';
import { SoftDeleteService } from '../../../src/soft-delete/index.ts';
import { configureLogging } from '../../../src/observability/index.ts';
import { backdate, backdateFamily, makeFamily } from '../soft-delete/support.ts';
import {
  type MigrationTestDb,
  openMigrationTestDb,
  runCli,
  scalar,
  seedDocuments,
  spawnCli,
} from './support.ts';
import { waitUntil } from '../../support/wait.ts';

interface Status {
  state: string;
  batchSize: number;
  maxRowsPerSecond: number | null;
  rowsProcessed: number;
  rowsFailed: number;
  totalEstimate: number;
  percent: number;
  rowsPerSecond: number | null;
  etaSeconds: number | null;
  lastError: string | null;
  ownerAlive: boolean;
}

/** What `sdops migrate` tells about a run is what happened to it. */
describe('migration run reports (PostgreSQL, child processes)', function () {
  this.timeout(60_000);
  let t: MigrationTestDb;
  let url: string;

  const status = async (runId: string): Promise<Status> => {
    const r = await runCli(url, ['--json', 'migrate', 'status', runId]);
    expect(r.code, r.stderr).to.equal(0);
    return JSON.parse(r.stdout) as Status;
  };

  /** A backfill run in a child process, throttled to 500 rows/s, once it has made progress. */
  const startThrottledRun = async (globals: string[] = [], extra: string[] = []) => {
    // The backfill's input again: legacy rows flagged only by is_deleted.
    await t.db.query(
      `UPDATE documents SET deleted_at = NULL, delete_reason = NULL WHERE delete_reason = 'legacy'`,
    );
    const args =
      'migrate start backfill-deleted-at --entity documents --batch-size 100 --max-rows-per-second 500';
    const child = spawnCli(url, [...globals, ...args.split(' '), ...extra]);
    const runId = await waitUntil('the run to make progress', async () => {
      const { rows } = await t.db.query<{ id: string }>(
        `SELECT run_id::text AS id FROM sdops_migration_runs WHERE state = 'running' AND rows_processed >= 300`,
      );
      return rows[0]?.id;
    });
    return { child, runId };
  };

  before(async () => {
    configureLogging({ level: 'error', console: 'stderr' });
    t = await openMigrationTestDb();
    url = t.test.url;
    await seedDocuments(t.db, { legacy: 5_000, deleted: 500, live: 500 });
  });
  after(async () => {
    await t?.close();
  });

  it('retry-failed reports the rows it retried, not the run total, and the repaired run shows no last error', async () => {
    const args = '--json migrate start backfill-deleted-at --entity documents --batch-size 1000'.split(' ');
    const failed = await runCli(url, args, { SDOPS_MIGRATION_FAIL_BATCH: 'backfill-deleted-at:2' });
    expect(failed.code).to.equal(1);
    const first = JSON.parse(failed.stdout) as {
      runId: string;
      state: string;
      rowsProcessed: number;
      rowsFailed: number;
    };
    expect(first).to.include({ state: 'partially_failed', rowsFailed: 1000 });
    expect((await status(first.runId)).lastError).to.include('injected failure');

    const retried = await runCli(url, ['--json', 'migrate', 'retry-failed', first.runId]);
    expect(retried.code, retried.stderr).to.equal(0);
    const summary = JSON.parse(retried.stdout) as {
      state: string;
      sessionRows: number;
      rowsProcessed: number;
    };
    expect(summary).to.include({
      state: 'succeeded',
      sessionRows: 1000,
      rowsProcessed: first.rowsProcessed + 1000,
    });
    const human = await runCli(url, ['migrate', 'status', first.runId]);
    expect(human.stdout).to.not.include('last error');
    expect((await status(first.runId)).lastError).to.equal(null);
  });

  it('drops the last error once retry-failed repaired every failed batch of a run that ended before its scan did', async () => {
    await t.db.query(
      `UPDATE documents SET deleted_at = NULL, delete_reason = NULL WHERE delete_reason = 'legacy'`,
    );
    const args =
      '--json migrate start backfill-deleted-at --entity documents --batch-size 100 --max-failed-batches 0';
    const failed = await runCli(url, args.split(' '), {
      SDOPS_MIGRATION_FAIL_BATCH: 'backfill-deleted-at:2',
    });
    expect(failed.stdout, failed.stderr).to.not.equal('');
    const run = JSON.parse(failed.stdout) as { runId: string; state: string };
    expect(run.state, failed.stderr).to.equal('failed');
    const retried = await runCli(url, ['--json', 'migrate', 'retry-failed', run.runId]);
    const after = await status(run.runId);
    expect(after.state, retried.stderr).to.equal('stopped');
    // Before: "2 failed batches exceed --max-failed-batches 0" stayed, with no failed batch left.
    expect(after.lastError).to.equal(null);
    // What it was asked to do is done: exit 0 (was 1 with run_stopped of kind internal, "stopped
    // before it finished", though nothing had stopped it), and the summary says the scan is left.
    expect(retried.code, retried.stderr).to.equal(0);
    expect(JSON.parse(retried.stdout)).to.include({ state: 'stopped', scanLeft: true, batchesFailed: 0 });
    const resumed = await runCli(url, ['migrate', 'resume', run.runId]);
    expect(resumed.code, resumed.stderr).to.equal(0);
    expect((await status(run.runId)).state).to.equal('succeeded');
  });

  it('shows no rate and no ETA for a running run whose process is dead', async () => {
    const { child, runId } = await startThrottledRun();
    const alive = await status(runId);
    // Before: only the human line had the batch size, and neither had the throttle a resume keeps.
    expect(alive).to.include({ batchSize: 100, maxRowsPerSecond: 500 });
    const shown = await runCli(url, ['migrate', 'status', runId]);
    expect(shown.stdout).to.include('batch size: 100  throttle: 500 rows/s');
    expect(alive.rowsPerSecond).to.be.greaterThan(0);
    expect(alive.etaSeconds).to.be.a('number');
    child.kill('SIGKILL');
    await child.result;
    await waitUntil('the lease to go stale', async () =>
      (await status(runId)).ownerAlive ? undefined : true,
    );
    const dead = await status(runId);
    expect(dead).to.include({ state: 'running', rowsPerSecond: null, etaSeconds: null });
    const human = await runCli(url, ['migrate', 'status', runId]);
    expect(human.stdout).to.match(/\(stale\)/);
    const resumed = await runCli(url, ['migrate', 'resume', runId, '--max-rows-per-second', '0']);
    expect(resumed.code, resumed.stderr).to.equal(0);
  });

  it('parks a run stopped when its terminal hangs up (SIGHUP), as on Ctrl-C, instead of dying mid-batch', async () => {
    const { child, runId } = await startThrottledRun(['--json']);
    // Before: the process died at once (a dropped ssh session), the run stayed running, locked for
    // its lease, and MigrationRunStale paged.
    child.kill('SIGHUP');
    const ended = await child.result;
    expect(ended.code, ended.stderr).to.equal(1);
    expect(JSON.parse(ended.stdout).state).to.equal('stopped');
    expect(await status(runId)).to.include({ state: 'stopped' });
    const resumed = await runCli(url, ['migrate', 'resume', runId, '--max-rows-per-second', '0']);
    expect(resumed.code, resumed.stderr).to.equal(0);
  });

  it('says that a dry run stopped before the end counted only the part it scanned', async () => {
    const { child, runId } = await startThrottledRun([], ['--dry-run']);
    child.kill('SIGINT');
    const ended = await child.result;
    expect(ended.code, ended.stderr).to.equal(1);
    // Before: "dry run: 300 rows would change; nothing was written", read as the run's whole count.
    expect(ended.stdout).to.match(
      /^dry run: \d+ rows would change in the part it scanned before it ended; nothing was written$/m,
    );
    // Out of the way of the runs the next cases start (a stopped run is one to resume).
    await t.db.query(`UPDATE sdops_migration_runs SET state = 'failed' WHERE run_id = $1`, [runId]);
  });

  it('takes --max-rows-per-second 0 on start as no throttle, as resume does', async () => {
    // Before: refused on start ("a whole number from 1"), while resume took 0 to lift the throttle.
    const started = await runCli(url, [
      '--json',
      'migrate',
      'start',
      'backfill-deleted-at',
      '--entity',
      'documents',
      '--dry-run',
      '--max-rows-per-second',
      '0',
    ]);
    expect(started.code, started.stderr).to.equal(0);
    const { runId } = JSON.parse(started.stdout) as { runId: string };
    const { rows } = await t.db.query<{ max_rows_per_second: number | null }>(
      'SELECT max_rows_per_second FROM sdops_migration_runs WHERE run_id = $1',
      [runId],
    );
    expect(rows[0]?.max_rows_per_second).to.equal(null);
  });

  it('archive-soft-deleted: the dry run counts what the run then moves, so progress ends at exactly 100%', async () => {
    const sd = new SoftDeleteService(t.db);
    for (let i = 0; i < 12; i++) {
      const f = await makeFamily(t.db, { orders: 3, items: 2 });
      await sd.softDelete('customers', { id: f.customer });
      await backdateFamily(t.db, f, 40);
    }
    // One family whose customer must stay: one order is live.
    const kept = await makeFamily(t.db, { orders: 2, items: 1 });
    await sd.softDelete('orders', { id: kept.orders[0]! });
    await sd.softDelete('customers', { id: kept.customer }, { cascade: false });
    await backdate(t.db, 'customers', [kept.customer], 40);
    await backdate(t.db, 'orders', [kept.orders[0]!], 40);
    const keptItems = await t.db.query<{ id: string }>(
      'SELECT id::text AS id FROM order_items WHERE order_id = $1',
      [kept.orders[0]],
    );
    await backdate(
      t.db,
      'order_items',
      keptItems.rows.map((r) => r.id),
      40,
    );
    const args = [
      'migrate',
      'start',
      'archive-soft-deleted',
      '--older-than-days',
      '30',
      '--entity',
      'customers,orders,order_items',
    ];
    const dry = await runCli(url, ['--json', ...args, '--dry-run']);
    expect(dry.code, dry.stderr).to.equal(0);
    const would = (JSON.parse(dry.stdout) as { rowsProcessed: number }).rowsProcessed;
    // 12 customers, 36 orders, 72 items; plus the kept family's deleted order and its item.
    expect(would).to.equal(12 + 36 + 72 + 2);
    const real = await runCli(url, ['--json', ...args]);
    expect(real.code, real.stderr).to.equal(0);
    const moved = JSON.parse(real.stdout) as { runId: string; rowsProcessed: number };
    expect(moved.rowsProcessed).to.equal(would);
    const archived = Number(
      await scalar(
        t.db,
        `SELECT (SELECT count(*) FROM customers_archive) + (SELECT count(*) FROM orders_archive) + (SELECT count(*) FROM order_items_archive) AS v`,
      ),
    );
    expect(archived).to.equal(would);
    expect(await status(moved.runId)).to.include({ totalEstimate: would, percent: 100 });
  });
});
