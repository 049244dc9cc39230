import { expect } from 'chai';
import { MigrationRunner, type RunHandle } from '../../../src/migration/index.ts';
import { RunOverlapError } from '../../../src/migration/errors.ts';
import { configureLogging } from '../../../src/observability/index.ts';
import { type MigrationTestDb, openMigrationTestDb, runCli, seedDocuments } from './support.ts';

const FAST = {
  heartbeatIntervalMs: 50,
  leaseTimeoutMs: 500,
  retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 4 },
};

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

/** One run of a migration per entity at a time; `migrate resume` may change throttle and batch size. */
describe('migration runs that would overlap (PostgreSQL)', function () {
  this.timeout(60_000);
  let t: MigrationTestDb;
  const handles: RunHandle[] = [];

  const slowStart = async (runner: MigrationRunner, params: Record<string, unknown> = {}) => {
    const h = await runner.start('backfill-deleted-at', { batchSize: 10, maxRowsPerSecond: 20, params });
    handles.push(h);
    return h;
  };

  before(async () => {
    configureLogging({ level: 'error', console: 'stderr' });
    t = await openMigrationTestDb();
    await seedDocuments(t.db, { legacy: 2_000, deleted: 100, live: 100 });
  });
  after(async () => {
    for (const h of handles) h.stop();
    await Promise.allSettled(handles.map((h) => h.done));
    await t?.close();
  });

  it('refuses a second run of the same migration on an entity a running one covers, naming the first', async () => {
    const first = await slowStart(new MigrationRunner(t.db, FAST), { entities: 'documents' });
    const other = new MigrationRunner(t.db, FAST);
    const error = await rejection(
      other.start('backfill-deleted-at', { params: { entities: 'documents,orders' } }),
    );
    expect(error).to.be.instanceOf(RunOverlapError);
    expect((error as RunOverlapError).message)
      .to.include(first.runId)
      .and.include('on documents');
    expect((error as RunOverlapError).code).to.equal('run_overlap');
    // Other entities, other migrations and dry runs are not in the way.
    const orders = await other.start('backfill-deleted-at', { params: { entities: 'orders' } });
    expect((await orders.done).state).to.equal('succeeded');
    const dry = await other.start('backfill-deleted-at', { dryRun: true, params: { entities: 'documents' } });
    expect((await dry.done).state).to.equal('succeeded');
    const archive = await other.start('archive-soft-deleted', {
      params: { entities: 'documents', olderThanDays: 0 },
    });
    expect((await archive.done).state).to.equal('succeeded');
    first.stop();
    expect((await first.done).state).to.equal('stopped');
  });

  it('takes a running run whose params this release cannot read (another release) as overlapping, not as bad input', async () => {
    const runId = '33333333-3333-4333-8333-000000000001';
    await t.db.query(
      `INSERT INTO sdops_migration_runs (run_id, migration, migration_version, state, batch_size, max_failed_batches, params, owner, heartbeat_at)
       VALUES ($1, 'backfill-deleted-at', 1, 'running', 100, 10, '{"entities":"documents","fromTheFuture":1}', 'elsewhere:1:abc', now())`,
      [runId],
    );
    try {
      // Before: exit 2 / 400, invalid_migration_param, about a run the caller never named.
      const error = await rejection(
        new MigrationRunner(t.db, FAST).start('backfill-deleted-at', { params: { entities: 'orders' } }),
      );
      expect(error).to.be.instanceOf(RunOverlapError);
      expect((error as RunOverlapError).message).to.include(runId);
    } finally {
      await t.db.query('DELETE FROM sdops_migration_runs WHERE run_id = $1', [runId]);
    }
  });

  it('refuses to resume a run while another run of its migration works on its entities', async () => {
    const runner = new MigrationRunner(t.db, FAST);
    const parked = await slowStart(runner, { entities: 'documents' });
    parked.stop();
    expect((await parked.done).state).to.equal('stopped');
    const second = await slowStart(runner, { entities: 'documents' }); // allowed: the first is parked
    const error = await rejection(runner.resume(parked.runId));
    expect(error).to.be.instanceOf(RunOverlapError);
    expect((error as Error).message).to.include(second.runId);
    second.stop();
    await second.done;
  });

  it('lets exactly one of two starts at the same moment through', async () => {
    const a = new MigrationRunner(t.db, FAST);
    const b = new MigrationRunner(t.db, FAST);
    const params = { batchSize: 10, maxRowsPerSecond: 20, params: { entities: 'customers,documents' } };
    const results = await Promise.allSettled([
      a.start('backfill-deleted-at', params),
      b.start('backfill-deleted-at', params),
    ]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    expect(ok).to.have.length(1);
    expect(results.find((r) => r.status === 'rejected')?.reason).to.be.instanceOf(RunOverlapError);
    const handle = (ok[0] as PromiseFulfilledResult<RunHandle>).value;
    handle.stop();
    await handle.done;
    handles.push(handle);
  });

  it('`migrate resume --batch-size --max-rows-per-second` changes the run for this session and later ones; 0 lifts the throttle', async () => {
    const runner = new MigrationRunner(t.db, FAST);
    const h = await slowStart(runner, { entities: 'documents' });
    h.stop();
    await h.done;
    const settings = async () =>
      (
        await t.db.query<{ batch_size: number; max_rows_per_second: number | null; state: string }>(
          'SELECT batch_size, max_rows_per_second, state FROM sdops_migration_runs WHERE run_id = $1',
          [h.runId],
        )
      ).rows[0];
    expect(await settings()).to.include({ batch_size: 10, max_rows_per_second: 20 });
    const resumed = await runCli(t.test.url, [
      'migrate',
      'resume',
      h.runId,
      '--batch-size',
      '500',
      '--max-rows-per-second',
      '0',
    ]);
    expect(resumed.code, resumed.stderr).to.equal(0);
    expect(await settings()).to.deep.equal({
      batch_size: 500,
      max_rows_per_second: null,
      state: 'succeeded',
    });
    const bad = await runCli(t.test.url, ['migrate', 'resume', h.runId, '--max-rows-per-second', '-1']);
    expect(bad.code).to.equal(2);
  });
});
