import { expect } from 'chai';
import type { Database } from '../../../src/db/index.ts';
import { losingCommitReplies } from '../../support/lost-commit.ts';
import { SoftDeleteService } from '../../../src/soft-delete/index.ts';
import { backdate, type Backend, makeDocuments, makeFamily, openTestDb, type TestDb } from './support.ts';

const count = async (db: Database, sql: string, params: unknown[] = []) =>
  Number((await db.query<{ n: string }>(sql, params)).rows[0]?.n);

for (const backend of ['postgres', 'pglite'] as Backend[]) {
  describe(`a CLI call whose batch committed but whose answer was lost, on ${backend}`, () => {
    let t: TestDb;

    before(async () => {
      t = await openTestDb(backend);
    });
    after(async () => t?.close());

    it('purges no more than --max-rows and counts what it purged', async () => {
      const ids = await makeDocuments(t.db, 60);
      await new SoftDeleteService(t.db).softDelete('documents', { ids });
      await backdate(t.db, 'documents', ids, 200);
      const db = losingCommitReplies(t.db, (n) => n % 3 === 0);
      const sd = new SoftDeleteService(db, { outageBudgetMs: 5_000 });
      const res = await sd.purge('documents', { maxRows: 25, batchSize: 5 });
      expect(db.lost()).to.be.greaterThan(0);
      const gone =
        60 - (await count(t.db, 'SELECT count(*) AS n FROM documents WHERE id = ANY($1::bigint[])', [ids]));
      // Before: the batch that landed was run again on the next rows, past the bound, and not counted.
      expect(gone).to.equal(25);
      expect(res.counts.success).to.equal(25);
      expect(await count(t.db, 'SELECT count(*) AS n FROM sdops_batch_receipts')).to.equal(0);
    });

    it('counts rows a landed batch deleted, with their cascade, as success, not noop', async () => {
      const families = await Promise.all(
        Array.from({ length: 6 }, () => makeFamily(t.db, { orders: 1, items: 2 })),
      );
      const customers = families.map((f) => f.customer);
      const db = losingCommitReplies(t.db, (n) => n % 2 === 0);
      const sd = new SoftDeleteService(db, { outageBudgetMs: 5_000 });
      const res = await sd.softDelete(
        'customers',
        { ids: customers },
        { batchSize: 2, reason: 'lost-reply' },
      );
      expect(db.lost()).to.be.greaterThan(0);
      // Before: the landed batches' customers were noop and their orders and items uncounted.
      expect(res.counts).to.deep.equal({ success: 6, noop: 0, failure: 0 });
      expect(res.cascaded).to.deep.equal({ orders: 6, order_items: 12 });
      expect(
        await count(t.db, `SELECT count(*) AS n FROM customers WHERE delete_reason = 'lost-reply'`),
      ).to.equal(6);
    });

    it('writes no receipt for a call that does not ride out outages (the API, the worker)', async () => {
      const ids = await makeDocuments(t.db, 3);
      await new SoftDeleteService(t.db).softDelete('documents', { ids }, { batchSize: 1 });
      expect(await count(t.db, 'SELECT count(*) AS n FROM sdops_batch_receipts')).to.equal(0);
    });
  });
}
