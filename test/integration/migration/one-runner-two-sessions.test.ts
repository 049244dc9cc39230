import { expect } from 'chai';
import { MigrationRunner } from '../../../src/migration/index.ts';
import { waitUntil } from '../../support/wait.ts';
import { type MigrationTestDb, openMigrationTestDb, scalar, seedDocuments } from './support.ts';

/**
 * One runner, two sessions of one run: an API server whose session of a run waits out an outage
 * past its lease, and a client that resumes the run on the same server meanwhile (probe M). The
 * sessions shared the runner's owner id, so the old one passed the new one's fences: both worked the
 * same batches, and the loser marked the run failed.
 */
describe('two sessions of one run in one runner', function () {
  this.timeout(60_000);
  let t: MigrationTestDb;

  before(async () => {
    t = await openMigrationTestDb();
    await seedDocuments(t.db, { legacy: 400, deleted: 0, live: 0 });
  });
  after(async () => {
    await t?.close();
  });

  it('gives each session its own lease: the old one ends lease lost, the new one finishes the run, every row once', async () => {
    // A heartbeat that never comes before the lease runs out: the session's lease goes stale while it
    // still works, as it does while its database is unreachable.
    const runner = new MigrationRunner(t.db, {
      heartbeatIntervalMs: 30_000,
      leaseTimeoutMs: 60_000,
      retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
    });
    const first = await runner.start('backfill-deleted-at', {
      params: { entities: ['documents'] },
      batchSize: 10,
      maxRowsPerSecond: 100,
    });
    await waitUntil('the first session to commit a batch', async () =>
      Number(
        await scalar(t.db, 'SELECT batches_done AS v FROM sdops_migration_runs WHERE run_id = $1', [
          first.runId,
        ]),
      ) > 0
        ? true
        : undefined,
    );
    await t.db.query(
      `UPDATE sdops_migration_runs SET heartbeat_at = now() - interval '1 hour' WHERE run_id = $1`,
      [first.runId],
    );
    // Both sessions at the same pace, so they overlap for most of the run.
    const second = await runner.resume(first.runId);
    const [old, current] = await Promise.all([first.done, second.done]);
    expect(old, 'the old session').to.include({ leaseLost: true });
    expect(current, 'the new session').to.include({ leaseLost: false, state: 'succeeded', error: null });
    const { rows } = await t.db.query<{ state: string; rows_processed: string; batches_failed: number }>(
      'SELECT state, rows_processed::text, batches_failed FROM sdops_migration_runs WHERE run_id = $1',
      [first.runId],
    );
    expect(rows[0]).to.deep.equal({ state: 'succeeded', rows_processed: '400', batches_failed: 0 });
    expect(
      Number(
        await scalar(t.db, 'SELECT count(*) AS v FROM documents WHERE deleted_at IS NULL AND is_deleted'),
      ),
    ).to.equal(0);
    const batches = await t.db.query<{ rows: string }>(
      'SELECT coalesce(sum(rows), 0)::text AS rows FROM sdops_migration_batches WHERE run_id = $1',
      [first.runId],
    );
    expect(batches.rows[0]?.rows, 'each row in one recorded batch').to.equal('400');
  });
});
