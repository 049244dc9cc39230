import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { builtinHandlers, type CleanupQueue } from '../../../src/cleanup/index.ts';
import { getLogger } from '../../../src/observability/index.ts';
import { SoftDeleteService } from '../../../src/soft-delete/index.ts';
import { makeFamily, openTestDb, type TestDb } from '../soft-delete/support.ts';
import { waitUntil } from '../../support/wait.ts';

/**
 * A cascade job and a restore of its parent at the same time (PostgreSQL): the job checked the
 * parent once, then deleted the children in batches of their own, so a restore committed in between
 * left the customer live with its orders deleted under the old operation id, and restoring the
 * customer again was a noop. Now each batch of the job locks the parent first, and the restore locks
 * the parent before it reads the children: one waits for the other, and no child ends up deleted
 * under a live parent.
 */
describe('a cascade job racing a restore of its parent (PostgreSQL)', function () {
  this.timeout(60_000);
  let t: TestDb;
  let sd: SoftDeleteService;

  before(async () => {
    t = await openTestDb('postgres');
    sd = new SoftDeleteService(t.db);
  });
  after(async () => {
    await t?.close();
  });

  const lockWaiters = async () =>
    Number(
      (
        await t.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        )
      ).rows[0]?.n,
    );

  it('leaves no child deleted under a parent restored while the job was deleting its children', async () => {
    const family = await makeFamily(t.db, { orders: 2, items: 2 });
    const deleted = await sd.softDelete('customers', { id: family.customer }, { cascade: false });
    const cascade = builtinHandlers(sd, { archiveAfterDays: 30, batchSize: 100, maxRowsPerJob: 1000 })
      .cascade_soft_delete!;

    // Another transaction holds one of the orders: the job stops there, in the middle of its work.
    let release = () => {};
    let held = () => {};
    const holding = new Promise<void>((resolve) => {
      held = resolve;
    });
    const holder = t.db.transaction(async (tx) => {
      await tx.query('SELECT 1 FROM orders WHERE id = $1 FOR UPDATE', [family.orders[0]]);
      held();
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    await holding;
    const job = cascade(
      { entity: 'customers', id: family.customer, opId: deleted.opId },
      {
        jobId: randomUUID(),
        jobType: 'cascade_soft_delete',
        attempt: 1,
        signal: new AbortController().signal,
        queue: { db: t.db } as unknown as CleanupQueue,
        log: getLogger('cleanup.worker'),
      },
    );
    await waitUntil('the job to wait for the held order', async () => (await lockWaiters()) >= 1);

    // The restore arrives while the job is at work. Before, it committed at once.
    let restoreDone = false;
    const restore = sd.restore('customers', { id: family.customer }).finally(() => {
      restoreDone = true;
    });
    await waitUntil(
      'the restore to wait for the job, or to finish',
      async () => restoreDone || (await lockWaiters()) >= 2,
    );
    release();
    await holder;
    await Promise.all([job, restore]);

    const deletedUnderLive = await t.db.query<{ id: string }>(
      `SELECT o.id::text AS id FROM orders o JOIN customers c ON c.id = o.customer_id
        WHERE c.id = $1 AND c.deleted_at IS NULL AND o.deleted_at IS NOT NULL
       UNION ALL
       SELECT i.id::text FROM order_items i JOIN orders o ON o.id = i.order_id
        WHERE o.customer_id = $1 AND o.deleted_at IS NULL AND i.deleted_at IS NOT NULL`,
      [family.customer],
    );
    expect(deletedUnderLive.rows, 'children deleted under a live parent').to.deep.equal([]);
    const customer = await sd.get('customers', family.customer, { scope: 'all' });
    expect(customer?.deleted_at ?? null, 'the customer is live').to.equal(null);
  });
});
