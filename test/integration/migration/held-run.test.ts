import { expect } from 'chai';
import pg from 'pg';
import { MigrationRunner } from '../../../src/migration/index.ts';
import { type MigrationTestDb, openMigrationTestDb, scalar, seedDocuments } from './support.ts';

const LEASE = { heartbeatIntervalMs: 100, leaseTimeoutMs: 400 };
const ABANDONED = '33333333-3333-4333-8333-000000000001';

/**
 * A run whose row another session's transaction holds: a runner stopped (SIGSTOP, a paused VM)
 * between a batch's checkpoint write and its COMMIT. `resume` took `LOCK TABLE ... SHARE ROW
 * EXCLUSIVE`, which queued behind that row write, and every other run's heartbeat queued behind the
 * LOCK TABLE: the command hung, and healthy runs read as stale. `stop --wait` ignored its timeout.
 */
describe('a migration run whose row another session holds in an open transaction', function () {
  this.timeout(60_000);
  let t: MigrationTestDb;
  let holder: pg.Client;
  let rowLock: pg.Client;

  before(async () => {
    t = await openMigrationTestDb();
    await seedDocuments(t.db, { legacy: 100, deleted: 0, live: 0 });
    await t.db.query(
      `INSERT INTO sdops_migration_runs (run_id, migration, migration_version, state, batch_size, max_failed_batches,
         params, owner, heartbeat_at, lease_timeout_ms)
       VALUES ($1, 'purge-archived', 1, 'running', 100, 10, '{"olderThanDays": 30}', 'gone:1:abcdef',
         now() - interval '1 hour', 400)`,
      [ABANDONED],
    );
    holder = new pg.Client({ connectionString: t.test.url });
    rowLock = new pg.Client({ connectionString: t.test.url });
    await holder.connect();
    await rowLock.connect();
  });
  after(async () => {
    await holder?.end();
    await rowLock?.end();
    await t?.close();
  });

  it('refuses resume and stop within seconds, and a healthy run keeps its heartbeat meanwhile', async () => {
    // A live run of another migration, its batch waiting on a row lock: only its heartbeat moves.
    await rowLock.query('BEGIN');
    await rowLock.query('SELECT id FROM documents WHERE id = 5 FOR UPDATE');
    const healthy = await new MigrationRunner(t.db, LEASE).start('backfill-deleted-at', {
      params: { entities: 'documents' },
    });
    // The stopped runner's transaction: its checkpoint write done, its COMMIT never sent.
    await holder.query('BEGIN');
    await holder.query('UPDATE sdops_migration_runs SET updated_at = now() WHERE run_id = $1', [ABANDONED]);

    const started = performance.now();
    const resumed = await new MigrationRunner(t.db, LEASE).resume(ABANDONED).then(
      () => 'resumed',
      (e: unknown) => (e as { code?: string }).code,
    );
    expect(resumed).to.equal('run_row_held');
    expect(performance.now() - started).to.be.below(15_000);
    const alive = await scalar(
      t.db,
      `SELECT heartbeat_at >= now() - lease_timeout_ms * interval '1 millisecond' AS v
         FROM sdops_migration_runs WHERE run_id = $1`,
      [healthy.runId],
    );
    expect(alive, 'the healthy run heartbeated through the wait').to.equal('true');

    const waited = performance.now();
    const stopped = await new MigrationRunner(t.db, LEASE).stopAndWait(ABANDONED, { timeoutMs: 2_000 }).then(
      () => 'stopped',
      (e: unknown) => (e as { code?: string }).code,
    );
    expect(stopped).to.equal('run_row_held');
    expect(performance.now() - waited, '--timeout is kept').to.be.below(9_000);

    await holder.query('ROLLBACK');
    await rowLock.query('COMMIT');
    expect((await healthy.done).state).to.equal('succeeded');
  });

  it('has the server end a transaction of ours left idle for a minute', async () => {
    expect(await scalar(t.db, "SELECT current_setting('idle_in_transaction_session_timeout') AS v")).to.equal(
      '1min',
    );
  });
});
