import { loadConfig } from '../../../src/config.ts';
import { expect } from 'chai';
import { builtinHandlers, CleanupQueue, CleanupWorker } from '../../../src/cleanup/index.ts';
import { configureLogging } from '../../../src/observability/index.ts';
import { SoftDeleteService } from '../../../src/soft-delete/index.ts';
import { backdate, backdateFamily, makeFamily, openTestDb, type TestDb } from '../soft-delete/support.ts';
import { waitUntil } from '../../support/wait.ts';

/**
 * purge_expired / archive_entity jobs with a small row budget on PostgreSQL: a follow-up only after a
 * job that changed rows and used its budget, so a table whose old rows must stay (they still have
 * children) ends its chain instead of re-enqueueing the same job forever.
 */
describe('purge and archive jobs end their follow-up chain (PostgreSQL)', function () {
  this.timeout(60_000);
  let t: TestDb;
  let sd: SoftDeleteService;
  let queue: CleanupQueue;
  let worker: CleanupWorker;

  type JobRow = {
    state: string;
    output: Record<string, unknown> | null;
  };
  const jobs = async (type: string): Promise<JobRow[]> =>
    (
      await t.db.query<JobRow>(
        `SELECT state::text AS state, output FROM pgboss.job WHERE name = $1 ORDER BY created_on`,
        [`cleanup.${type}`],
      )
    ).rows;
  const settled = async (type: string) => {
    await waitUntil(`${type} jobs to settle`, async () => {
      const rows = await jobs(type);
      return rows.length > 0 && rows.every((r) => r.state === 'completed' || r.state === 'failed');
    });
    // A follow-up is enqueued inside the job, before it completes: none can appear after this.
    return jobs(type);
  };
  const live = async (ids: string[]) =>
    Number(
      (
        await t.db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM customers WHERE id = ANY($1::bigint[])',
          [ids],
        )
      ).rows[0]?.n,
    );

  before(async () => {
    configureLogging({ level: 'warn', console: 'stderr' });
    t = await openTestDb('postgres');
    sd = new SoftDeleteService(t.db);
    queue = await CleanupQueue.open(t.db, { role: 'worker', policy: loadConfig().worker.policy });
    worker = new CleanupWorker(
      queue,
      builtinHandlers(sd, { archiveAfterDays: 30, batchSize: 2, maxRowsPerJob: 3 }),
      { concurrency: 2, pollIntervalMs: 50, shutdownTimeoutMs: 5_000 },
    );
    worker.start();
  });

  after(async () => {
    await worker?.stop();
    await queue?.close();
    await t?.close();
  });

  it('runs one job that changes nothing and reports the rows it had to keep, with no follow-up', async () => {
    const kept: string[] = [];
    for (let i = 0; i < 5; i++) {
      const f = await makeFamily(t.db, { orders: 1, items: 1 });
      await sd.softDelete('customers', { id: f.customer }, { cascade: false }); // its order stays live
      await backdate(t.db, 'customers', [f.customer], 40);
      kept.push(f.customer);
    }
    await queue.enqueue('purge_expired', { entity: 'customers' });
    const rows = await settled('purge_expired');
    expect(rows).to.have.length(1);
    expect(rows[0]?.state).to.equal('completed');
    expect(rows[0]?.output).to.deep.include({
      count: 0,
      success: 0,
      skipped: 5,
      skipped_reason: 'has_children',
      follow_up: false,
    });
    expect(await live(kept)).to.equal(5);
  });

  it('chains follow-ups while jobs make progress through a backlog behind rows that must stay, then stops', async () => {
    const gone: string[] = [];
    for (let i = 0; i < 7; i++) {
      const f = await makeFamily(t.db, { orders: 1, items: 1 });
      await sd.softDelete('customers', { id: f.customer });
      await backdateFamily(t.db, f, 35); // newer than the 5 kept ones above, older than the cutoff
      gone.push(f.customer);
    }
    await queue.enqueue('archive_entity', { entity: 'customers' });
    const rows = await settled('archive_entity');
    // 7 rows at 3 per job: 3, 3, 1; the third used less than its budget, so the chain ends there.
    expect(rows.map((r) => r.output?.success)).to.deep.equal([3, 3, 1]);
    expect(rows.map((r) => r.output?.follow_up)).to.deep.equal([true, true, false]);
    expect(rows.every((r) => r.output?.skipped === 5)).to.equal(true);
    expect(await live(gone)).to.equal(0);
  });
});
