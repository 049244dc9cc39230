import { expect } from 'chai';
import { ConflictError, NotFoundError } from '../../../src/errors.ts';
import { SoftDeleteService } from '../../../src/soft-delete/index.ts';
import {
  type Backend,
  checksum,
  deletedAt,
  liveCount,
  makeDocuments,
  makeFamily,
  openTestDb,
  type TestDb,
} from './support.ts';

for (const backend of ['postgres', 'pglite'] as Backend[]) {
  describe(`soft-delete core on ${backend}`, () => {
    let t: TestDb;
    let sd: SoftDeleteService;

    before(async () => {
      t = await openTestDb(backend);
      sd = new SoftDeleteService(t.db);
    });
    after(async () => t?.close());

    it('soft-deletes one row, records who, why and the operation, and hides it from live reads', async () => {
      const [doc] = await makeDocuments(t.db, 1);
      const result = await sd.softDelete('documents', { id: doc! }, { deletedBy: 'alice', reason: 'gdpr' });
      expect(result.counts).to.deep.equal({ success: 1, noop: 0, failure: 0 });
      expect(result.batches).to.equal(1);
      expect(result.opId).to.match(/^[0-9a-f-]{36}$/);
      const row = await sd.get('documents', doc!, { scope: 'all' });
      expect(row).to.include({
        id: doc,
        deleted_by: 'alice',
        delete_reason: 'gdpr',
        delete_op_id: result.opId,
      });
      expect(row?.deleted_at).to.be.instanceOf(Date);
      expect(await sd.get('documents', doc!)).to.equal(undefined);
      expect((await sd.get('documents', doc!, { scope: 'deleted' }))?.id).to.equal(doc);
    });

    it('reports deleting an already deleted row as noop and leaves its first deletion intact', async () => {
      const [doc] = await makeDocuments(t.db, 1);
      await sd.softDelete('documents', { id: doc! }, { reason: 'first' });
      const first = await deletedAt(t.db, 'documents', doc!);
      const again = await sd.softDelete('documents', { id: doc! }, { reason: 'second' });
      expect(again.counts).to.deep.equal({ success: 0, noop: 1, failure: 0 });
      expect(await deletedAt(t.db, 'documents', doc!)).to.deep.equal(first);
      expect((await sd.get('documents', doc!, { scope: 'all' }))?.delete_reason).to.equal('first');
    });

    it('raises NotFoundError for a single id that does not exist and changes nothing', async () => {
      const before = await checksum(t.db);
      const err = await sd.softDelete('documents', { id: '987654321' }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(NotFoundError).with.property('code', 'not_found');
      const err2 = await sd.restore('customers', { id: '987654321' }).catch((e: unknown) => e);
      expect(err2).to.be.instanceOf(NotFoundError);
      expect(await checksum(t.db)).to.equal(before);
    });

    it('cascades a customer delete to its live orders and items in one operation id', async () => {
      const f = await makeFamily(t.db, { orders: 3, items: 2 });
      const result = await sd.softDelete('customers', { id: f.customer }, { reason: 'closed' });
      expect(result.counts.success).to.equal(1);
      expect(result.cascaded).to.deep.equal({ orders: 3, order_items: 6 });
      const ops = await t.db.query<{ op: string; n: number }>(
        `SELECT delete_op_id::text AS op, count(*)::int AS n FROM (
           SELECT delete_op_id FROM orders WHERE customer_id = $1::bigint
           UNION ALL SELECT delete_op_id FROM order_items WHERE id = ANY($2::bigint[])) x GROUP BY 1`,
        [f.customer, f.items],
      );
      expect(ops.rows).to.deep.equal([{ op: result.opId, n: 9 }]);
    });

    it('does not cascade when cascade is false', async () => {
      const f = await makeFamily(t.db);
      const result = await sd.softDelete('customers', { id: f.customer }, { cascade: false });
      expect(result.cascaded).to.deep.equal({});
      expect(await liveCount(t.db, 'orders', f.orders)).to.equal(2);
    });

    it('restores exactly the children its cascade deleted; children deleted earlier on their own stay deleted', async () => {
      const f = await makeFamily(t.db, { orders: 3, items: 2 });
      const [earlyOrder, ,] = f.orders;
      await sd.softDelete('orders', { id: earlyOrder! }, { reason: 'cancelled by itself' });
      const lonelyItem = f.items[f.items.length - 1]!; // an item of the last order, deleted on its own
      await sd.softDelete('order_items', { id: lonelyItem });

      const del = await sd.softDelete('customers', { id: f.customer });
      expect(del.cascaded).to.deep.equal({ orders: 2, order_items: 3 });

      const res = await sd.restore('customers', { id: f.customer });
      expect(res.counts).to.deep.equal({ success: 1, noop: 0, failure: 0 });
      expect(res.cascaded).to.deep.equal({ orders: 2, order_items: 3 });
      expect(await liveCount(t.db, 'orders', f.orders)).to.equal(2);
      expect(await deletedAt(t.db, 'orders', earlyOrder!)).to.not.equal(null);
      expect(await liveCount(t.db, 'order_items', f.items)).to.equal(3);
      expect(await deletedAt(t.db, 'order_items', lonelyItem)).to.not.equal(null);
      const restored = await sd.get('customers', f.customer);
      expect(restored).to.include({ deleted_by: null, delete_reason: null, delete_op_id: null });
    });

    it('leaves a child the legacy flag already deleted out of a cascade, so undoing the delete keeps it deleted', async () => {
      const f = await makeFamily(t.db, { orders: 1, items: 2 });
      const [legacy, live] = f.items;
      // Deleted by the old flag only, its deleted_at not yet backfilled (backfill-deleted-at's input).
      await t.db.query('UPDATE order_items SET is_deleted = true WHERE id = $1', [legacy]);
      const del = await sd.softDelete('customers', { id: f.customer });
      // Before: the cascade stamped it with the delete's op id, and the restore below made it live.
      expect(del.cascaded).to.deep.equal({ orders: 1, order_items: 1 });
      await sd.restore('customers', { id: f.customer });
      const rows = await t.db.query<{ id: string; is_deleted: boolean; deleted_at: Date | null }>(
        'SELECT id::text AS id, is_deleted, deleted_at FROM order_items WHERE id = ANY($1::bigint[]) ORDER BY id',
        [[legacy, live]],
      );
      expect(rows.rows).to.deep.equal([
        { id: legacy, is_deleted: true, deleted_at: null },
        { id: live, is_deleted: false, deleted_at: null },
      ]);
      // A legacy-deleted row asked for by id, or met by a filter, is already deleted: noop.
      const again = await sd.softDelete('order_items', { id: legacy! });
      expect(again.counts).to.deep.equal({ success: 0, noop: 1, failure: 0 });
      const byFilter = await sd.softDelete('order_items', { filter: { order_id: f.orders[0]! } });
      expect(byFilter.counts).to.deep.equal({ success: 1, noop: 1, failure: 0 });
    });

    it('reports restoring a live row as noop', async () => {
      const f = await makeFamily(t.db);
      const res = await sd.restore('customers', { id: f.customer });
      expect(res.counts).to.deep.equal({ success: 0, noop: 1, failure: 0 });
    });

    it('lets a deleted email be registered again and refuses to restore the old row over it', async () => {
      const email = `reuse-${backend}@example.com`;
      const old = await makeFamily(t.db, { email });
      await sd.softDelete('customers', { id: old.customer });
      const fresh = await makeFamily(t.db, { email: email.toUpperCase() });
      expect(fresh.customer).to.not.equal(old.customer);

      const before = await checksum(t.db);
      const err = await sd.restore('customers', { id: old.customer }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ConflictError).with.property('code', 'conflict');
      expect(await checksum(t.db)).to.equal(before);

      const dupe = await t.db
        .query(`INSERT INTO customers (email, name) VALUES ($1, 'x')`, [email])
        .catch((e: unknown) => e);
      expect(dupe).to.have.property('code', '23505');
    });

    it('keeps documents unique per owner and title among live rows only', async () => {
      const f = await makeFamily(t.db);
      const insert = () =>
        t.db.query<{ id: string }>(
          `INSERT INTO documents (owner_customer_id, title) VALUES ($1::bigint, 'Plan') RETURNING id::text AS id`,
          [f.customer],
        );
      const first = (await insert()).rows[0]!.id;
      expect(await insert().catch((e: unknown) => e)).to.have.property('code', '23505');
      await sd.softDelete('documents', { id: first });
      expect((await insert()).rows).to.have.length(1);
    });

    it('lists live, deleted and all rows in id order with a keyset cursor, and counts them', async () => {
      const docs = await makeDocuments(t.db, 5);
      await sd.softDelete('documents', { ids: [docs[1]!, docs[3]!] });
      const deleted = await sd.list('documents', { scope: 'deleted', after: String(BigInt(docs[0]!) - 1n) });
      expect(deleted.rows.map((r) => r.id)).to.include.members([docs[1], docs[3]]);
      const page1 = await sd.list('documents', {
        scope: 'all',
        after: String(BigInt(docs[0]!) - 1n),
        limit: 3,
      });
      expect(page1.rows.map((r) => r.id)).to.deep.equal(docs.slice(0, 3));
      expect(page1.nextCursor).to.equal(docs[2]);
      const page2 = await sd.list('documents', { scope: 'all', after: page1.nextCursor!, limit: 3 });
      expect(page2.rows.map((r) => r.id)).to.deep.equal(docs.slice(3));
      expect(page2.nextCursor).to.equal(undefined);
      const all = await sd.count('documents', { scope: 'all' });
      expect((await sd.count('documents')) + (await sd.count('documents', { scope: 'deleted' }))).to.equal(
        all,
      );
      expect(typeof page1.rows[0]!.id).to.equal('string');
    });
  });
}
