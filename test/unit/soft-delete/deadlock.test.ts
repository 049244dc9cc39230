import { expect } from 'chai';
import { type Database, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { SoftDeleteService } from '../../../src/soft-delete/index.ts';

/**
 * A batch PostgreSQL ends as a deadlock victim (40P01) was rolled back whole: the call runs it again
 * instead of failing midway. Two CLI bulk deletes meeting on the same order items from different
 * ends (orders with their items, and the items by id) failed 1 in 6 with "deadlock detected".
 */
describe('soft-delete batches that lose a deadlock', () => {
  let db: Database;

  before(async () => {
    db = await openDatabase({ memory: true });
    await migrateSchema(db);
    await db.exec(
      `INSERT INTO documents (title, body) SELECT 'doc ' || g, 'b' FROM generate_series(1, 30) g`,
    );
  });
  after(async () => {
    await db?.close();
  });

  /** The database, with the first `n` transactions ended as deadlock victims before they start. */
  function losingDeadlocks(n: number): Database {
    let left = n;
    return {
      ...db,
      transaction: (fn) => {
        if (left-- > 0)
          return Promise.reject(Object.assign(new Error('deadlock detected'), { code: '40P01' }));
        return db.transaction(fn);
      },
    };
  }

  it('runs the batch again and changes every row once', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => String(i + 1));
    const result = await new SoftDeleteService(losingDeadlocks(2)).softDelete(
      'documents',
      { ids },
      { batchSize: 10 },
    );
    expect(result.counts).to.deep.equal({ success: 20, noop: 0, failure: 0 });
    expect(result.batches).to.equal(2);
  });

  it('gives up after five deadlocks in a row and reports the error', async () => {
    const failed = await new SoftDeleteService(losingDeadlocks(5))
      .softDelete('documents', { ids: ['25', '26'] })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failed).to.have.property('code', '40P01');
    const live = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM documents WHERE id IN (25, 26) AND deleted_at IS NULL`,
    );
    expect(live.rows[0]?.n).to.equal(2);
  });
});
