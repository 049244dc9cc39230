import { expect } from 'chai';
import { type Database, sqlState } from '../../../src/db/index.ts';
import { seedDemo } from '../../../src/demo/index.ts';
import { MigrationRunner } from '../../../src/migration/index.ts';
import { SoftDeleteService } from '../../../src/soft-delete/index.ts';
import { type Backend, openTestDb, type TestDb } from './support.ts';

/**
 * Archiving a customer used to set the owner of every document it owned to NULL (a foreign key ON
 * DELETE SET NULL, and archive deletes the live row). Now the owner stays, resolvable through
 * customers_archive, and SQL proves the rule for a whole seeded database: archive changes no row
 * that it does not archive, and moves the rows it archives unchanged. Both ways of archiving prove it:
 * the core's archive call and the archive-soft-deleted migration (the same statement underneath).
 */
const TABLES = ['customers', 'orders', 'order_items', 'documents'] as const;

/** Every row of every live table as jsonb, keyed by table and id, in a table of its own. */
const SNAPSHOT = `CREATE TABLE archive_proof_before AS
  ${TABLES.map((t) => `SELECT '${t}'::text AS tbl, id, to_jsonb(x) AS row FROM ${t} x`).join(' UNION ALL ')}`;
const NOW = TABLES.map((t) => `SELECT '${t}'::text AS tbl, id, to_jsonb(x) AS row FROM ${t} x`).join(
  ' UNION ALL ',
);
const ARCHIVED = TABLES.map(
  (t) => `SELECT '${t}'::text AS tbl, id, to_jsonb(a) - 'archived_at' AS row FROM ${t}_archive a`,
).join(' UNION ALL ');

/** Archives the customers deleted more than 30 days ago (with their orders and items); returns how many customers moved. */
const PATHS = {
  'the archive call': async (_db: Database, sd: SoftDeleteService) =>
    (await sd.archive('customers', { olderThanDays: 30 })).counts.success,
  'the archive-soft-deleted migration': async (db: Database) => {
    const runner = new MigrationRunner(db, { retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    const handle = await runner.start('archive-soft-deleted', {
      // The family named whole: the migration moves only the entities it is given.
      params: { entities: 'customers,orders,order_items', olderThanDays: 30 },
    });
    expect((await handle.done).state).to.equal('succeeded');
    const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM customers_archive');
    return Number(rows[0]?.n);
  },
} as const;

const CASES = (['postgres', 'pglite'] as Backend[]).flatMap((backend) =>
  Object.entries(PATHS).map(([path, archive]) => ({ backend, path, archive })),
);

for (const { backend, path, archive } of CASES) {
  describe(`archive (${path}) and the rows it does not archive on ${backend}`, () => {
    let t: TestDb;
    let sd: SoftDeleteService;
    const count = async (sql: string, params: unknown[] = []) =>
      Number((await t.db.query<{ n: string }>(sql, params)).rows[0]?.n);

    before(async () => {
      t = await openTestDb(backend);
      sd = new SoftDeleteService(t.db);
      await seedDemo(t.db, { rows: 600 });
      // Customers that own documents are deleted with their orders; some of their documents too.
      const owners = await t.db.query<{ id: string }>(
        `SELECT DISTINCT owner_customer_id::text AS id FROM documents WHERE owner_customer_id IS NOT NULL
          ORDER BY 1 LIMIT 120`,
      );
      await sd.softDelete('customers', { ids: owners.rows.map((r) => r.id) });
      await t.db.query(
        `UPDATE documents SET deleted_at = now(), is_deleted = true, delete_op_id = gen_random_uuid()
          WHERE owner_customer_id = ANY($1::bigint[]) AND id % 3 = 0`,
        [owners.rows.map((r) => r.id)],
      );
      await t.db.query(
        `UPDATE customers SET deleted_at = deleted_at - interval '40 days' WHERE deleted_at IS NOT NULL`,
      );
      await t.db.query(
        `UPDATE orders SET deleted_at = deleted_at - interval '40 days' WHERE deleted_at IS NOT NULL`,
      );
      await t.db.query(
        `UPDATE order_items SET deleted_at = deleted_at - interval '40 days' WHERE deleted_at IS NOT NULL`,
      );
    });
    after(async () => t?.close());

    it('archives customers whose live and deleted documents keep their owner, and changes no other row', async () => {
      await t.db.exec(SNAPSHOT);
      expect(await archive(t.db, sd)).to.equal(120);

      const changed = await count(
        `SELECT count(*) AS n FROM archive_proof_before b JOIN (${NOW}) a USING (tbl, id) WHERE a.row <> b.row`,
      );
      const appeared = await count(
        `SELECT count(*) AS n FROM (${NOW}) a WHERE NOT EXISTS (SELECT 1 FROM archive_proof_before b WHERE b.tbl = a.tbl AND b.id = a.id)`,
      );
      const gone = await count(
        `SELECT count(*) AS n FROM archive_proof_before b WHERE NOT EXISTS (SELECT 1 FROM (${NOW}) a WHERE a.tbl = b.tbl AND a.id = b.id)`,
      );
      const goneIntact = await count(
        `SELECT count(*) AS n FROM archive_proof_before b JOIN (${ARCHIVED}) r USING (tbl, id) WHERE r.row = b.row
           AND NOT EXISTS (SELECT 1 FROM (${NOW}) a WHERE a.tbl = b.tbl AND a.id = b.id)`,
      );
      expect({ changed, appeared }, 'rows archive did not move').to.deep.equal({ changed: 0, appeared: 0 });
      expect(gone, 'rows archive moved').to.be.greaterThan(120);
      expect(goneIntact, 'every moved row is in its archive table, unchanged').to.equal(gone);

      // The documents of the archived customers, live and deleted, still name them.
      const owned = await t.db.query<{ live: string; deleted: string }>(
        `SELECT count(*) FILTER (WHERE d.deleted_at IS NULL)::text AS live,
                count(*) FILTER (WHERE d.deleted_at IS NOT NULL)::text AS deleted
           FROM documents d JOIN customers_archive a ON a.id = d.owner_customer_id`,
      );
      expect(Number(owned.rows[0]?.live)).to.be.greaterThan(0);
      expect(Number(owned.rows[0]?.deleted)).to.be.greaterThan(0);
      expect(
        await count(`SELECT count(*) AS n FROM documents d WHERE d.owner_customer_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = d.owner_customer_id)
          AND NOT EXISTS (SELECT 1 FROM customers_archive a WHERE a.id = d.owner_customer_id)`),
        'owners that resolve nowhere',
      ).to.equal(0);
      await t.db.exec('DROP TABLE archive_proof_before');
    });

    it('still refuses a document whose owner exists nowhere, and accepts an archived owner', async () => {
      const archived = await count('SELECT min(id) AS n FROM customers_archive');
      await t.db.query(
        `INSERT INTO documents (owner_customer_id, title) VALUES ($1, 'owned by an archived customer')`,
        [archived],
      );
      const error = await t.db
        .query(`INSERT INTO documents (owner_customer_id, title) VALUES (987654321, 'orphan')`)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(sqlState(error)).to.equal('23503');
    });

    it('forgets the owner when the customer leaves for good (purge of the archive), as a hard delete always did', async () => {
      const id = await count(
        'SELECT min(a.id) AS n FROM customers_archive a WHERE EXISTS (SELECT 1 FROM documents d WHERE d.owner_customer_id = a.id)',
      );
      const docs = await count('SELECT count(*) AS n FROM documents WHERE owner_customer_id = $1', [id]);
      expect(docs).to.be.greaterThan(0);
      await t.db.query('DELETE FROM customers_archive WHERE id = $1', [id]);
      expect(await count('SELECT count(*) AS n FROM documents WHERE owner_customer_id = $1', [id])).to.equal(
        0,
      );
    });
  });
}
