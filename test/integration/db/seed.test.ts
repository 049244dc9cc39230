import { expect } from 'chai';
import { type Database, isDatabaseUnavailable, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { seedDemo } from '../../../src/demo/index.ts';
import { InvalidInputError } from '../../../src/errors.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';

async function integrity(db: Database): Promise<Record<string, number>> {
  const res = await db.query<Record<string, number>>(`SELECT
    (SELECT count(*)::int FROM orders o WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = o.customer_id)) AS orphan_orders,
    (SELECT count(*)::int FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)) AS empty_orders,
    (SELECT count(DISTINCT lower(email))::int FROM customers) AS distinct_emails,
    (SELECT count(*)::int FROM customers) AS customers,
    (SELECT count(*)::int FROM customers WHERE is_deleted) AS legacy_deleted,
    (SELECT count(*)::int FROM customers WHERE deleted_at IS NOT NULL) AS soft_deleted`);
  return res.rows[0]!;
}

/** What a restart does to a transaction: the driver's error for a connection the server ended. */
function restarted(): Error {
  return Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
}

/** The database, with its first transaction ending on a restart `when` its work was done. */
function restartingOnce(db: Database, when: 'before commit' | 'after commit'): Database {
  let first = true;
  return {
    ...db,
    transaction: async (fn) => {
      if (!first) return db.transaction(fn);
      first = false;
      if (when === 'after commit') {
        await db.transaction(fn);
        throw restarted();
      }
      return db.transaction(async (tx) => {
        await fn(tx);
        throw restarted();
      });
    },
  };
}

async function tableCounts(db: Database): Promise<number[]> {
  const res = await db.query<{ c: number; o: number; i: number; d: number }>(
    `SELECT (SELECT count(*)::int FROM customers) AS c, (SELECT count(*)::int FROM orders) AS o,
            (SELECT count(*)::int FROM order_items) AS i, (SELECT count(*)::int FROM documents) AS d`,
  );
  const r = res.rows[0]!;
  return [r.c, r.o, r.i, r.d];
}

for (const backend of ['postgres', 'pglite'] as const) {
  describe(`demo seed on ${backend}`, () => {
    let db: Database;
    let pg: TestDatabase | undefined;

    before(async () => {
      if (backend === 'postgres') {
        pg = await createTestDatabase();
        db = await openDatabase({ url: pg.url });
      } else {
        db = await openDatabase({ memory: true });
      }
      await migrateSchema(db);
    });
    after(async () => {
      await db?.close();
      await pg?.drop();
    });

    it('fills 100k customers (450k rows) with set-based inserts within a minute', async function () {
      this.timeout(120_000);
      let last = -1;
      const started = performance.now();
      const counts = await seedDemo(db, {
        rows: 100_000,
        legacyDeletedFraction: 0.1,
        // First the total with nothing done yet (a progress bar can start at 0%), then every chunk.
        onProgress: (p) => {
          expect(p.done).to.be.greaterThan(last);
          if (last < 0) expect(p.done).to.equal(0);
          last = p.done;
        },
      });
      const seconds = (performance.now() - started) / 1000;
      expect(counts).to.deep.equal({
        customers: 100_000,
        orders: 100_000,
        order_items: 200_000,
        documents: 50_000,
      });
      expect(last).to.equal(450_000);
      expect(seconds, `seed took ${seconds.toFixed(1)}s`).to.be.below(60);
      const check = await integrity(db);
      expect(check).to.include({
        orphan_orders: 0,
        empty_orders: 0,
        distinct_emails: 100_000,
        soft_deleted: 0,
      });
      expect(check.legacy_deleted).to.be.within(8_000, 12_000);
    });

    it('continues after existing rows when run again, and new default ids do not collide', async () => {
      const counts = await seedDemo(db, { rows: 10 });
      expect(counts.customers).to.equal(10);
      const res = await db.query<{ id: string }>(
        `INSERT INTO customers (email, name) VALUES ('after-seed@example.com', 'x') RETURNING id::text AS id`,
      );
      expect(res.rows[0]!.id).to.equal('100011');
    });

    for (const [when, title] of [
      ['before commit', 'runs again whole after a database restart rolled it back, adding every row once'],
      ['after commit', 'does not seed twice when its COMMIT landed but the answer was lost to a restart'],
    ] as const)
      it(title, async () => {
        const before = await tableCounts(db);
        const counts = await seedDemo(restartingOnce(db, when), { rows: 20, outageBudgetMs: 10_000 });
        expect(counts).to.deep.equal({ customers: 20, orders: 20, order_items: 40, documents: 10 });
        const added = [20, 20, 40, 10];
        expect(await tableCounts(db)).to.deep.equal(before.map((n, k) => n + added[k]!));
      });

    it('fails at once on a restart without an outage budget, and what it inserted is rolled back', async () => {
      const before = await tableCounts(db);
      const err = await seedDemo(restartingOnce(db, 'before commit'), { rows: 20 }).catch((e: unknown) => e);
      expect(isDatabaseUnavailable(err), String(err)).to.equal(true);
      expect(await tableCounts(db)).to.deep.equal(before);
    });

    it('rejects a row count that is not a positive integer and inserts nothing', async () => {
      const before = (await integrity(db)).customers;
      for (const rows of [0, -1, 1.5]) {
        const err = await seedDemo(db, { rows }).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(InvalidInputError).with.property('code', 'invalid_rows');
      }
      expect((await integrity(db)).customers).to.equal(before);
    });
  });
}
