import { expect } from 'chai';
import pgDriver from 'pg';
import { type Database, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { SoftDeleteService } from '../../../src/soft-delete/index.ts';
import {
  backdate,
  backdateFamily,
  type Backend,
  makeDocuments,
  makeFamily,
  openTestDb,
  type TestDb,
} from './support.ts';
import { waitUntil } from '../../support/wait.ts';

async function exists(t: TestDb, table: string, ids: readonly string[]): Promise<number> {
  const res = await t.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${table} WHERE id = ANY($1::bigint[])`,
    [ids],
  );
  return res.rows[0]!.n;
}

for (const backend of ['postgres', 'pglite'] as Backend[]) {
  describe(`soft-delete purge and archive on ${backend}`, () => {
    let t: TestDb;
    let sd: SoftDeleteService;

    before(async () => {
      t = await openTestDb(backend);
      sd = new SoftDeleteService(t.db);
    });
    after(async () => t?.close());

    it('purges only rows soft-deleted longer ago than the retention, never live rows', async () => {
      const [old, recent, live] = await makeDocuments(t.db, 3);
      await sd.softDelete('documents', { ids: [old!, recent!] });
      await backdate(t.db, 'documents', [old!], 91); // documents keep deleted rows 90 days
      await backdate(t.db, 'documents', [recent!], 89);
      const res = await sd.purge('documents');
      expect(res.counts.success).to.be.at.least(1);
      expect(await exists(t, 'documents', [old!])).to.equal(0);
      expect(await exists(t, 'documents', [recent!, live!])).to.equal(2);
      expect(res.cutoff).to.match(/^\d{4}-\d{2}-\d{2}T/);
    });

    it('purges a customer together with the children its cascade deleted, children first', async () => {
      const f = await makeFamily(t.db, { orders: 2, items: 3 });
      await sd.softDelete('customers', { id: f.customer });
      await backdate(t.db, 'customers', [f.customer], 31);
      await backdate(t.db, 'orders', f.orders, 31);
      await backdate(t.db, 'order_items', f.items, 31);
      const res = await sd.purge('customers');
      expect(res.counts).to.deep.equal({ success: 1, noop: 0, failure: 0 });
      expect(res.cascaded).to.deep.equal({ orders: 2, order_items: 6 });
      expect(await exists(t, 'customers', [f.customer])).to.equal(0);
      expect(await exists(t, 'orders', f.orders)).to.equal(0);
      expect(await exists(t, 'order_items', f.items)).to.equal(0);
    });

    it('keeps a parent that still has a live child and reports it as skipped (has_children)', async () => {
      const f = await makeFamily(t.db, { orders: 2, items: 1 });
      await sd.softDelete('customers', { id: f.customer }, { cascade: false });
      await sd.softDelete('orders', { id: f.orders[0]! });
      const res = await sd.purge('customers', { olderThanDays: 0 });
      expect(res.skipped?.has_children).to.be.at.least(1);
      expect(await exists(t, 'customers', [f.customer])).to.equal(1);
      expect(await exists(t, 'orders', f.orders)).to.equal(2); // the customer stays, so its orders do
      await sd.purge('orders', { olderThanDays: 0 });
      expect(await exists(t, 'orders', f.orders)).to.equal(1); // the deleted order went, the live one stayed
    });

    it('does not spend maxRows on rows it must keep: removable rows behind them are reached', async () => {
      const kept: string[] = [];
      for (let i = 0; i < 4; i++) {
        const f = await makeFamily(t.db, { orders: 1, items: 1 });
        await sd.softDelete('customers', { id: f.customer }, { cascade: false });
        await backdate(t.db, 'customers', [f.customer], 3000); // the oldest deletions, all blocked
        kept.push(f.customer);
      }
      const gone: string[] = [];
      for (let i = 0; i < 3; i++) {
        const f = await makeFamily(t.db, { orders: 1, items: 1 });
        await sd.softDelete('customers', { id: f.customer });
        await backdate(t.db, 'customers', [f.customer], 2000);
        await backdate(t.db, 'orders', f.orders, 2000);
        await backdate(t.db, 'order_items', f.items, 2000);
        gone.push(f.customer);
      }
      const res = await sd.purge('customers', { olderThanDays: 1000, maxRows: 2, batchSize: 1 });
      expect(res.counts).to.deep.equal({ success: 2, noop: 0, failure: 0 });
      expect(res.skipped).to.deep.equal({ has_children: 4 });
      expect(await exists(t, 'customers', kept)).to.equal(4);
      expect(await exists(t, 'customers', gone)).to.equal(1);
      const rest = await sd.purge('customers', { olderThanDays: 1000 });
      expect(rest.counts.success).to.equal(1);
      expect(await exists(t, 'customers', gone)).to.equal(0);
    });

    it('reports as skipped only the kept rows it reached: none past the candidate where its budget ended', async () => {
      const gone: string[] = [];
      for (let i = 0; i < 2; i++) {
        const f = await makeFamily(t.db, { orders: 1, items: 1 });
        await sd.softDelete('customers', { id: f.customer });
        await backdateFamily(t.db, f, 9000); // the oldest deletions, removable
        gone.push(f.customer);
      }
      const kept: string[] = [];
      for (let i = 0; i < 3; i++) {
        const f = await makeFamily(t.db, { orders: 1, items: 1 });
        await sd.softDelete('customers', { id: f.customer }, { cascade: false });
        await backdate(t.db, 'customers', [f.customer], 8000); // newer, and its live order keeps it
        kept.push(f.customer);
      }
      const first = await sd.purge('customers', { olderThanDays: 7000, maxRows: 2 });
      expect(first.counts).to.deep.equal({ success: 2, noop: 0, failure: 0 });
      expect(first.skipped).to.deep.equal({ has_children: 0 });
      const rest = await sd.purge('customers', { olderThanDays: 7000 });
      expect(rest.counts.success).to.equal(0);
      expect(rest.skipped).to.deep.equal({ has_children: 3 });
      expect(await exists(t, 'customers', gone)).to.equal(0);
      expect(await exists(t, 'customers', kept)).to.equal(3);
    });

    it('stops after maxRows candidates, oldest deletions first', async () => {
      const docs = await makeDocuments(t.db, 5);
      await sd.softDelete('documents', { ids: docs });
      for (let i = 0; i < docs.length; i++) await backdate(t.db, 'documents', [docs[i]!], 1000 - i);
      const res = await sd.purge('documents', { olderThanDays: 500, maxRows: 2, batchSize: 1 });
      expect(res.counts.success).to.equal(2);
      expect(res.batches).to.equal(2);
      expect(await exists(t, 'documents', docs)).to.equal(3);
      expect(await exists(t, 'documents', docs.slice(0, 2))).to.equal(0);
    });

    it('archives soft-deleted rows with every column, in batches, and removes them from the live table', async () => {
      const f = await makeFamily(t.db, { orders: 3, items: 2 });
      const del = await sd.softDelete(
        'customers',
        { id: f.customer },
        { deletedBy: 'ops', reason: 'archive me' },
      );
      const before = (await t.db.query(`SELECT * FROM orders WHERE id = $1::bigint`, [f.orders[0]])).rows[0]!;
      await backdate(t.db, 'customers', [f.customer], 10);
      await backdate(t.db, 'orders', f.orders, 10);
      await backdate(t.db, 'order_items', f.items, 10);
      const res = await sd.archive('customers', { olderThanDays: 7, batchSize: 1 });
      expect(res.counts.success).to.equal(1);
      expect(res.cascaded).to.deep.equal({ orders: 3, order_items: 6 });
      expect(await exists(t, 'customers', [f.customer])).to.equal(0);
      expect(await exists(t, 'customers_archive', [f.customer])).to.equal(1);
      expect(await exists(t, 'orders_archive', f.orders)).to.equal(3);
      expect(await exists(t, 'order_items_archive', f.items)).to.equal(6);
      const archived = (await t.db.query(`SELECT * FROM orders_archive WHERE id = $1::bigint`, [f.orders[0]]))
        .rows[0]!;
      expect(archived).to.include({
        id: before.id,
        customer_id: before.customer_id,
        delete_op_id: del.opId,
        deleted_by: 'ops',
      });
      expect(archived.archived_at).to.be.instanceOf(Date);
    });

    it('opens no batch when nothing is past the retention', async () => {
      const [doc] = await makeDocuments(t.db, 1);
      await sd.softDelete('documents', { id: doc! });
      const res = await sd.purge('documents', { olderThanDays: 36_500 });
      expect(res.counts).to.deep.equal({ success: 0, noop: 0, failure: 0 });
      expect(res.batches).to.equal(0);
    });

    it('leaves rows deleted more recently than olderThanDays where they are', async () => {
      const [doc] = await makeDocuments(t.db, 1);
      await sd.softDelete('documents', { id: doc! });
      await sd.archive('documents', { olderThanDays: 1 });
      expect(await exists(t, 'documents', [doc!])).to.equal(1);
      expect(await exists(t, 'documents_archive', [doc!])).to.equal(0);
    });
  });
}

describe('concurrent purges and archives on postgres', () => {
  let t: TestDb;
  let sd: SoftDeleteService;

  before(async () => {
    t = await openTestDb('postgres');
    sd = new SoftDeleteService(t.db);
  });
  after(async () => t?.close());

  async function expiredDocuments(n: number): Promise<string[]> {
    const docs = await makeDocuments(t.db, n);
    await sd.softDelete('documents', { ids: docs });
    await backdate(t.db, 'documents', docs, 10_000);
    return docs;
  }

  it('passes over a candidate another transaction holds instead of waiting for it', async () => {
    const docs = await expiredDocuments(3);
    await t.db.transaction(async (tx) => {
      await tx.query('SELECT id FROM documents WHERE id = $1::bigint FOR UPDATE', [docs[0]]);
      // Without SKIP LOCKED this call would wait for the transaction it runs inside of: a deadline.
      const res = await sd.purge('documents', { olderThanDays: 9_000 });
      expect(res.counts).to.deep.equal({ success: 2, noop: 0, failure: 0 });
    });
    expect(await exists(t, 'documents', docs)).to.equal(1);
    expect(await exists(t, 'documents', [docs[0]!])).to.equal(1);
    // The row passed over is the next call's.
    expect((await sd.purge('documents', { olderThanDays: 9_000 })).counts.success).to.equal(1);
    expect(await exists(t, 'documents', docs)).to.equal(0);
  });

  for (const mode of ['purge', 'archive'] as const) {
    it(`locks a cascade parents first, so a customer ${mode} and an order batch that share rows do not deadlock`, async () => {
      const f = await makeFamily(t.db, { orders: 2, items: 2 });
      await sd.softDelete('customers', { id: f.customer });
      await backdateFamily(t.db, f, 10_000);
      const [held, other] = f.orders as [string, string];
      let claimed!: () => void;
      const orderClaimed = new Promise<void>((resolve) => {
        claimed = resolve;
      });
      let purgeWaits!: () => void;
      const purgeWaiting = new Promise<void>((resolve) => {
        purgeWaits = resolve;
      });
      // What an order purge/archive batch does: claim an order, then remove its items, then it.
      const orderBatch = t.db.transaction(async (tx) => {
        await tx.query('SELECT id FROM orders WHERE id = $1::bigint FOR UPDATE', [held]);
        claimed();
        await purgeWaiting;
        await tx.query('DELETE FROM order_items WHERE order_id = $1::bigint', [held]);
        await tx.query('DELETE FROM orders WHERE id = $1::bigint', [held]);
      });
      await orderClaimed;
      const purge = sd[mode]('customers', { olderThanDays: 9_000 });
      await waitUntil(`the customer ${mode} to wait for the claimed order`, async () => {
        const res = await t.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        return res.rows[0]!.n > 0;
      });
      purgeWaits();
      // Removing the items first, the purge held them while it waited for the order: each side
      // then waited for the other and PostgreSQL killed one ("deadlock detected").
      await orderBatch;
      const res = await purge;
      expect(res.counts).to.deep.equal({ success: 1, noop: 0, failure: 0 });
      expect(res.cascaded).to.deep.equal({ orders: 1, order_items: 2 });
      expect(await exists(t, 'orders', [held, other])).to.equal(0);
      expect(await exists(t, 'order_items', f.items)).to.equal(0);
    });

    it(`lets four concurrent ${mode} loops take disjoint rows: every row once, no noop`, async () => {
      const docs = await expiredDocuments(120);
      const totals = { calls: 0, success: 0, noop: 0 };
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (;;) {
            const res = await sd[mode]('documents', { olderThanDays: 9_000, batchSize: 5, maxRows: 5 });
            totals.calls += 1;
            totals.success += res.counts.success;
            totals.noop += res.counts.noop;
            if (res.counts.success === 0) return;
          }
        }),
      );
      expect(totals.success).to.equal(120);
      // Before candidates were claimed, the loops picked the same oldest rows and most calls found
      // them gone: 4,000 rows took 1,772 calls and counted 13,640 noop candidates.
      expect(totals.noop).to.equal(0);
      expect(totals.calls).to.be.at.most(120 / 5 + 4 * 2);
      expect(await exists(t, 'documents', docs)).to.equal(0);
      if (mode === 'archive') expect(await exists(t, 'documents_archive', docs)).to.equal(120);
    });
  }
});

describe('soft-delete purge under a session DateStyle that writes zone abbreviations (PostgreSQL)', () => {
  let pg: TestDatabase;
  let db: Database;

  before(async () => {
    pg = await createTestDatabase();
    // India's time written as "IST", which PostgreSQL reads back as Israel's (+02).
    const admin = new pgDriver.Client({ connectionString: pg.url });
    await admin.connect();
    await admin.query(`ALTER DATABASE "${pg.name}" SET DateStyle = 'SQL, DMY'`);
    await admin.query(`ALTER DATABASE "${pg.name}" SET TimeZone = 'Asia/Kolkata'`);
    await admin.end();
    db = await openDatabase({ url: pg.url, poolSize: 2 });
    await migrateSchema(db);
  });
  after(async () => {
    await db?.close();
    await pg?.drop();
  });

  it('takes the rows past the cutoff, and not the ones deleted two hours after it, one batch at a time', async () => {
    const sd = new SoftDeleteService(db, { defaultBatchSize: 1 });
    const ids = await makeDocuments(db, 4);
    await sd.softDelete('documents', { ids });
    // Documents keep deleted rows 90 days: three past the cutoff, one two hours short of it.
    await db.query(
      `UPDATE documents SET deleted_at = now() - interval '90 days' + CASE WHEN id = $2 THEN interval '2 hours' ELSE -(id % 7 + 1) * interval '1 hour' END
        WHERE id = ANY($1::bigint[])`,
      [ids, ids[3]],
    );
    const res = await sd.purge('documents');
    // Before: the cutoff and the batches' cursor went through "... IST" text, 3.5 hours off.
    expect(res.counts).to.deep.include({ success: 3 });
    const { rows } = await db.query<{ id: string }>(
      'SELECT id::text AS id FROM documents WHERE id = ANY($1::bigint[])',
      [ids],
    );
    expect(rows.map((r) => r.id)).to.deep.equal([ids[3]]);
  });
});
