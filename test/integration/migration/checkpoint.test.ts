import { expect } from 'chai';
import { checkpointBatch } from '../../../src/migration/checkpoint-store.ts';
import { type MigrationTestDb, openMigrationTestDb, scalar } from './support.ts';

const RUN = '22222222-2222-4222-8222-000000000001';
const OWNER = 'test-host:1:owner';

describe('a migration batch checkpoint (real PostgreSQL)', () => {
  let t: MigrationTestDb;

  before(async () => {
    t = await openMigrationTestDb();
    await t.db.query(
      `INSERT INTO sdops_migration_runs (run_id, migration, migration_version, state, batch_size, max_failed_batches, params, cursor_entity, cursor_key, batches_done, owner, heartbeat_at)
       VALUES ($1, 'backfill-deleted-at', 1, 'running', 100, 10, '{}', 'orders', '7198', 43, $2, now())`,
      [RUN, OWNER],
    );
  });
  after(async () => t?.close());

  const batch = (keyFrom: string | null, batchNo: number) => ({
    batchNo,
    entity: 'orders',
    keyFrom,
    keyTo: '8000',
    status: 'succeeded' as const,
    rows: 200,
    attempts: 1,
    durationMs: 5,
    error: null,
    session: 1,
  });

  it('refuses a batch that did not start where the stored checkpoint is, and writes nothing', async () => {
    // The session believed batch 44 (7198..7632) committed; the database lost it in a crash
    // (synchronous_commit off). Before: batch 45 was recorded past the gap, 200 rows never migrated,
    // and a later batch collided with a reused batch number.
    const error = await t.db
      .transaction((tx) => checkpointBatch(tx, RUN, OWNER, batch('7632', 45)))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).to.include({ code: 'checkpoint_moved' });
    expect((error as Error).message).to.match(/orders after 7632.*resume the run/);
    expect(
      await scalar(t.db, 'SELECT cursor_key AS v FROM sdops_migration_runs WHERE run_id = $1', [RUN]),
    ).to.equal('7198');
    expect(
      await scalar(t.db, 'SELECT count(*) AS v FROM sdops_migration_batches WHERE run_id = $1', [RUN]),
    ).to.equal('0');
  });

  it('refuses a batch of a session that no longer owns the run, and writes nothing', async () => {
    // A batch that outlived its lease: another runner owns the run now, so its work rolls back.
    const error = await t.db
      .transaction((tx) => checkpointBatch(tx, RUN, 'another-host:2:owner', batch('7198', 44)))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).to.include({ code: 'lease_lost' });
    expect(
      await scalar(t.db, 'SELECT cursor_key AS v FROM sdops_migration_runs WHERE run_id = $1', [RUN]),
    ).to.equal('7198');
  });

  it('records a batch that starts at the stored checkpoint and moves it on', async () => {
    await t.db.transaction((tx) => checkpointBatch(tx, RUN, OWNER, batch('7198', 44)));
    expect(
      await scalar(t.db, 'SELECT cursor_key AS v FROM sdops_migration_runs WHERE run_id = $1', [RUN]),
    ).to.equal('8000');
    expect(
      await scalar(t.db, 'SELECT batches_done AS v FROM sdops_migration_runs WHERE run_id = $1', [RUN]),
    ).to.equal('44');
  });
});
