import { expect } from 'chai';
import pg from 'pg';
import { MigrationRunner } from '../../../src/migration/index.ts';
import { waitUntil } from '../../support/wait.ts';
import { type MigrationTestDb, openMigrationTestDb, scalar, seedDocuments } from './support.ts';

const LEASE = { heartbeatIntervalMs: 100, leaseTimeoutMs: 400 };

/**
 * A batch slower than the lease timeout (here: waiting on a row lock another session holds). Its
 * first statement used to lock the run row until COMMIT, so the heartbeat queued behind its own
 * batch: the live runner read as stale, and a `resume` (the runbook's step for a stale run) took the
 * run from it; against a frozen owner, `resume` and `stop` hung on the row.
 */
describe('a migration batch slower than the lease timeout', function () {
  this.timeout(60_000);
  let t: MigrationTestDb;
  let holder: pg.Client;

  before(async () => {
    t = await openMigrationTestDb();
    await seedDocuments(t.db, { legacy: 100, deleted: 0, live: 0 });
    holder = new pg.Client({ connectionString: t.test.url });
    await holder.connect();
  });
  after(async () => {
    await holder?.end();
    await t?.close();
  });

  /** A run whose first batch waits on a row lock the holder takes and keeps until it commits. */
  const startHeldRun = async () => {
    await holder.query('BEGIN');
    await holder.query('SELECT id FROM documents WHERE id = 5 FOR UPDATE');
    const handle = await new MigrationRunner(t.db, LEASE).start('backfill-deleted-at', {
      params: { entities: 'documents' },
    });
    await waitUntil('the batch to wait on the row lock', async () =>
      (await scalar(
        t.db,
        `SELECT count(*) AS v FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      )) === '0'
        ? undefined
        : true,
    );
    return handle;
  };

  it('keeps its owner alive while it waits, and a resume is refused at once instead of taking the run', async () => {
    const handle = await startHeldRun();
    // Three lease timeouts into the wait, the heartbeat still lands (it queued behind the batch).
    const waitingSince = await scalar(t.db, 'SELECT now()::text AS v');
    await waitUntil('a heartbeat three lease timeouts into the wait', async () =>
      (await scalar(
        t.db,
        `SELECT heartbeat_at > $2::timestamptz + interval '1200 milliseconds' AS v
           FROM sdops_migration_runs WHERE run_id = $1`,
        [handle.runId, waitingSince],
      )) === 'true'
        ? true
        : undefined,
    );
    const resumed = await new MigrationRunner(t.db, LEASE).resume(handle.runId).then(
      () => 'took the run',
      (e: unknown) => (e as { code?: string }).code,
    );
    expect(resumed).to.equal('run_locked');
    await holder.query('COMMIT');
    const ended = await handle.done;
    expect(ended.state).to.equal('succeeded');
    expect(
      await scalar(t.db, 'SELECT count(*) AS v FROM documents WHERE is_deleted AND deleted_at IS NULL'),
    ).to.equal('0');
  });

  it('rolls a batch back that outlived its lease, and says the run was parked, not taken over', async () => {
    await t.db.query(`UPDATE documents SET deleted_at = NULL, is_deleted = true`);
    const handle = await startHeldRun();
    // What `sdops migrate stop` does to a run whose owner it no longer hears from (a frozen process).
    await t.db.query(`UPDATE sdops_migration_runs SET state = 'stopped', owner = NULL WHERE run_id = $1`, [
      handle.runId,
    ]);
    await holder.query('COMMIT');
    const ended = await handle.done;
    expect(ended).to.include({ leaseLost: true, state: 'stopped', parkedByStop: true });
    // Its batch rolled back: nothing it changed stays, and nothing is counted.
    expect(await scalar(t.db, 'SELECT count(*) AS v FROM documents WHERE deleted_at IS NOT NULL')).to.equal(
      '0',
    );
    expect(
      await scalar(t.db, 'SELECT rows_processed AS v FROM sdops_migration_runs WHERE run_id = $1', [
        handle.runId,
      ]),
    ).to.equal('0');
  });
});
