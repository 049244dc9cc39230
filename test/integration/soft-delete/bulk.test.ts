import { expect } from 'chai';
import { migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { InvalidInputError } from '../../../src/errors.ts';
import { type OperationProgress, SoftDeleteService } from '../../../src/soft-delete/index.ts';
import {
  type Backend,
  checksum,
  liveCount,
  makeDocuments,
  makeFamily,
  openTestDb,
  type TestDb,
} from './support.ts';
import { createTestDatabase } from '../../support/postgres.ts';

for (const backend of ['postgres', 'pglite'] as Backend[]) {
  describe(`soft-delete bulk operations on ${backend}`, () => {
    let t: TestDb;
    let sd: SoftDeleteService;

    before(async () => {
      t = await openTestDb(backend);
      sd = new SoftDeleteService(t.db);
    });
    after(async () => t?.close());

    it('deletes and restores 10,500 ids in batches of 1000, one transaction each, reporting progress', async () => {
      const docs = await makeDocuments(t.db, 10_500);
      const events: OperationProgress[] = [];
      const del = await sd.softDelete(
        'documents',
        { ids: docs },
        { batchSize: 1000, onProgress: (e) => events.push(e) },
      );
      expect(del.counts).to.deep.equal({ success: 10_500, noop: 0, failure: 0 });
      expect(del.batches).to.equal(11);
      expect(events.map((e) => e.processed)).to.deep.equal([
        ...Array.from({ length: 10 }, (_, i) => (i + 1) * 1000),
        10_500,
      ]);
      expect(events.every((e) => e.total === 10_500 && e.operation === 'delete')).to.equal(true);
      expect(await liveCount(t.db, 'documents', docs)).to.equal(0);

      const again = await sd.softDelete('documents', { ids: docs }, { batchSize: 5000 });
      expect(again.counts).to.deep.equal({ success: 0, noop: 10_500, failure: 0 });
      expect(again.batches).to.equal(3);

      const res = await sd.restore('documents', { ids: docs }, { batchSize: 2500 });
      expect(res.counts).to.deep.equal({ success: 10_500, noop: 0, failure: 0 });
      expect(res.batches).to.equal(5);
      expect(await liveCount(t.db, 'documents', docs)).to.equal(10_500);
    });

    it('stamps the rows it deletes with a given opId, and refuses an opId that is not a UUID before any write', async () => {
      const docs = await makeDocuments(t.db, 3);
      const opId = '0E3A4B5C-1D2E-4F60-8A9B-0C1D2E3F4A5B';
      const del = await sd.softDelete('documents', { ids: docs }, { batchSize: 2, opId });
      expect(del.opId).to.equal(opId.toLowerCase());
      const { rows } = await t.db.query<{ op: string }>(
        'SELECT DISTINCT delete_op_id::text AS op FROM documents WHERE id = ANY($1::bigint[])',
        [docs],
      );
      expect(rows).to.deep.equal([{ op: opId.toLowerCase() }]);

      const more = await makeDocuments(t.db, 2);
      const before = await checksum(t.db);
      for (const bad of ['not-a-uuid', `${opId}0`, '']) {
        const err = await sd.softDelete('documents', { ids: more }, { opId: bad }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, bad).to.be.instanceOf(InvalidInputError);
        expect((err as InvalidInputError).code).to.equal('invalid_op_id');
      }
      expect(await checksum(t.db)).to.equal(before);
    });

    it('counts ids of a list that do not exist as failure and names them, without failing the rest', async () => {
      const docs = await makeDocuments(t.db, 3);
      await sd.softDelete('documents', { id: docs[0]! });
      const res = await sd.softDelete('documents', { ids: [...docs, '999999999', '999999998', docs[1]!] });
      expect(res.counts).to.deep.equal({ success: 2, noop: 1, failure: 2 });
      expect(res.notFoundIds).to.deep.equal(['999999998', '999999999']);
    });

    it('counts a row a filter selected and a purge took before its batch as failure, not noop', async () => {
      const docs = await makeDocuments(t.db, 4);
      const del = await sd.softDelete('documents', { ids: docs });
      let gone: string | undefined;
      // A purge (or archive) commits between the restore's page query and its batch.
      const racing = Object.create(t.db) as typeof t.db;
      racing.query = (async (sql: string, params?: readonly unknown[]) => {
        const result = await t.db.query(sql, params);
        if (gone === undefined && sql.includes('AS todo')) {
          gone = String((result.rows[0] as { id: string }).id);
          await t.db.query('DELETE FROM documents WHERE id = $1::bigint', [gone]);
        }
        return result;
      }) as typeof t.db.query;
      const back = await new SoftDeleteService(racing).restore('documents', {
        filter: { delete_op_id: del.opId! },
      });
      expect(back.counts).to.deep.equal({ success: 3, noop: 0, failure: 1 });
      expect(back.notFoundIds).to.deep.equal([gone]);
    });

    it('goes on after the position its last batch gave inBatch (resumeAfter), by ids and by filter, and refuses a malformed one', async () => {
      const docs = await makeDocuments(t.db, 10);
      const live = async () =>
        (
          await t.db.query<{ id: string }>(
            'SELECT id::text AS id FROM documents WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL ORDER BY id',
            [docs],
          )
        ).rows.map((r) => r.id);
      const positions: (string | undefined)[] = [];
      const first = await sd.softDelete(
        'documents',
        { ids: docs },
        { batchSize: 4, inBatch: async (_tx, _rows, at) => void positions.push(at) },
      );
      expect(first.counts.success).to.equal(10);
      expect(positions).to.deep.equal(['4', '8', '10']);
      await sd.restore('documents', { ids: docs });
      const byIds = await sd.softDelete('documents', { ids: docs }, { batchSize: 4, resumeAfter: '4' });
      expect(byIds.counts).to.deep.equal({ success: 6, noop: 0, failure: 0 });
      expect(await live()).to.deep.equal(docs.slice(0, 4));

      await sd.restore('documents', { ids: docs });
      const sorted = [...docs].sort((a, b) => Number(a) - Number(b));
      const filter = { filter: { title: 'doc' } };
      const filterPositions: (string | undefined)[] = [];
      await t.db.query("UPDATE documents SET title = 'doc' WHERE id = ANY($1::bigint[])", [docs]);
      await sd.softDelete('documents', filter, {
        batchSize: 4,
        inBatch: async (_tx, _rows, at) => void filterPositions.push(at),
      });
      expect(filterPositions).to.deep.equal([sorted[3], sorted[7], sorted[9]]);
      await sd.restore('documents', { ids: docs });
      const byFilter = await sd.softDelete('documents', filter, { batchSize: 4, resumeAfter: sorted[3] });
      expect(byFilter.counts).to.deep.equal({ success: 6, noop: 0, failure: 0 });
      expect(await live()).to.deep.equal(sorted.slice(0, 4));

      await sd.restore('documents', { ids: docs });
      const refused = await sd
        .softDelete('documents', { ids: docs }, { resumeAfter: "1' OR 1=1" })
        .catch((e) => e);
      expect(refused).to.be.instanceOf(InvalidInputError).and.to.have.property('code', 'invalid_argument');
      expect(await live()).to.have.length(10);
    });

    it('stops a filter call between batches when its signal is aborted, but not after its last batch', async () => {
      const f = await makeFamily(t.db, { orders: 20, items: 1 });
      await t.db.query(`UPDATE orders SET status = 'halted' WHERE customer_id = $1::bigint`, [f.customer]);
      const stop = new AbortController();
      const first = await sd.softDelete(
        'orders',
        { filter: { customer_id: f.customer, status: 'halted' } },
        { batchSize: 10, signal: stop.signal, onProgress: () => stop.abort() },
      );
      expect(first).to.include({ stopped: 'interrupted', batches: 1 });
      expect(first.counts).to.deep.equal({ success: 10, noop: 0, failure: 0 });
      // The second (and last, full) page: aborted after it, there is nothing left to stop.
      const late = new AbortController();
      const rest = await sd.softDelete(
        'orders',
        { filter: { customer_id: f.customer, status: 'halted' } },
        { batchSize: 10, signal: late.signal, onProgress: (e) => e.processed === 20 && late.abort() },
      );
      expect(rest.counts).to.deep.equal({ success: 10, noop: 10, failure: 0 });
      // Before: "stopped" (and the CLI's exit 1) though every row was done.
      expect(rest).to.not.have.property('stopped');
    });

    it('deletes by filter in keyset batches, counting already deleted matches as noop', async () => {
      const f = await makeFamily(t.db, { orders: 25, items: 1 });
      await t.db.query(`UPDATE orders SET status = 'stale' WHERE customer_id = $1::bigint`, [f.customer]);
      await sd.softDelete('orders', { id: f.orders[0]! });
      const events: OperationProgress[] = [];
      const res = await sd.softDelete(
        'orders',
        { filter: { customer_id: f.customer, status: 'stale' } },
        { batchSize: 10, onProgress: (e) => events.push(e) },
      );
      expect(res.counts).to.deep.equal({ success: 24, noop: 1, failure: 0 });
      expect(res.cascaded).to.deep.equal({ order_items: 24 });
      expect(res.batches).to.equal(3);
      expect(events.at(-1)).to.include({ processed: 25, total: 25 });

      const back = await sd.restore('orders', { filter: { delete_op_id: res.opId! } }, { batchSize: 7 });
      expect(back.counts).to.deep.equal({ success: 24, noop: 0, failure: 0 });
      expect(back.cascaded).to.deep.equal({ order_items: 24 });
      expect(await liveCount(t.db, 'orders', f.orders)).to.equal(24);
    });

    it('restores the rest of a bulk list when some rows collide with a live unique value', async () => {
      const emails = [0, 1, 2, 3].map((i) => `bulk-conflict-${i}-${backend}@example.com`);
      const fams = [];
      for (const email of emails) fams.push(await makeFamily(t.db, { email, orders: 1, items: 1 }));
      const ids = fams.map((f) => f.customer);
      await sd.softDelete('customers', { ids });
      await makeFamily(t.db, { email: emails[2]! });
      const res = await sd.restore('customers', { ids }, { batchSize: 10 });
      expect(res.counts).to.deep.equal({ success: 3, noop: 0, failure: 1 });
      expect(res.conflictIds).to.deep.equal([ids[2]]);
      expect(res.cascaded).to.deep.equal({ orders: 3, order_items: 3 });
      expect(await liveCount(t.db, 'customers', ids)).to.equal(3);
    });

    it("stops a bulk restore redoing a batch row by row at its signal, between rows, with each row's position", async () => {
      const emails = [0, 1, 2, 3, 4].map((i) => `row-by-row-stop-${i}-${backend}@example.com`);
      const ids: string[] = [];
      for (const email of emails) ids.push((await makeFamily(t.db, { email, orders: 0 })).customer);
      await sd.softDelete('customers', { ids });
      await makeFamily(t.db, { email: emails[1]!, orders: 0 });
      // A job's lease runs out while the batch is being redone row by row: only the statement in
      // flight was cancelled, and the loop went on beside the job's next attempt.
      const stop = new AbortController();
      const positions: (string | undefined)[] = [];
      const res = await sd.restore(
        'customers',
        { ids },
        {
          batchSize: 10,
          signal: stop.signal,
          inBatch: async (_tx, _rows, at) => {
            positions.push(at);
            if (positions.length === 2) stop.abort(new Error('lease ran out'));
          },
        },
      );
      expect(res.stopped).to.equal('interrupted');
      // Row 1 restored, row 2 the conflict, row 3 restored (its position 3), then the stop.
      expect(res.counts).to.deep.equal({ success: 2, noop: 0, failure: 1 });
      expect(positions).to.deep.equal(['1', '3']);
      expect(await liveCount(t.db, 'customers', ids)).to.equal(2);
    });

    describe('bad input', () => {
      const cases: [string, () => Promise<unknown>, string][] = [
        ['an unknown entity', () => sd.softDelete('users', { id: '1' }), 'unknown_entity'],
        [
          'an injection-shaped entity',
          () => sd.softDelete('documents; DROP TABLE documents', { id: '1' }),
          'unknown_entity',
        ],
        ['a malformed id', () => sd.softDelete('documents', { id: 'abc' }), 'invalid_id'],
        ['an injection-shaped id', () => sd.softDelete('documents', { id: "1' OR '1'='1" }), 'invalid_id'],
        [
          'one malformed id in a long list',
          () =>
            sd.softDelete('documents', {
              ids: [...Array.from({ length: 3000 }, (_, i) => String(i + 1)), '-4'],
            }),
          'invalid_id',
        ],
        [
          'a negative batch size',
          () => sd.softDelete('documents', { ids: ['1', '2'] }, { batchSize: -1 }),
          'invalid_batch_size',
        ],
        [
          'a batch size above 100000',
          () => sd.restore('documents', { ids: ['1'] }, { batchSize: 100_001 }),
          'invalid_batch_size',
        ],
        [
          'a filter on an unlisted column',
          () => sd.softDelete('documents', { filter: { body: 'x' } }),
          'invalid_filter',
        ],
        [
          'an injection-shaped filter column',
          () => sd.softDelete('documents', { filter: { '1=1 OR title': 'x' } }),
          'invalid_filter',
        ],
        ['an empty filter', () => sd.softDelete('documents', { filter: {} }), 'invalid_filter'],
        [
          'a negative olderThanDays',
          () => sd.purge('documents', { olderThanDays: -1 }),
          'invalid_older_than_days',
        ],
        [
          'an olderThanDays past 100 years (a timestamp out of range in SQL)',
          () => sd.archive('documents', { olderThanDays: 1e7 }),
          'invalid_older_than_days',
        ],
        ['a bad purge batch size', () => sd.purge('documents', { batchSize: 0 }), 'invalid_batch_size'],
        [
          'a bad archive maxRows',
          () => sd.archive('documents', { olderThanDays: 0, maxRows: -3 }),
          'invalid_max_rows',
        ],
        ['a bad list scope', () => sd.list('documents', { scope: 'gone' as never }), 'invalid_scope'],
        ['a bad get id', () => sd.get('documents', '0'), 'invalid_id'],
        [
          'a target with both id and filter',
          () => sd.softDelete('documents', { id: '1', filter: { title: 'x' } } as never),
          'invalid_target',
        ],
      ];
      for (const [what, call, code] of cases) {
        it(`rejects ${what} with ${code} and changes nothing`, async () => {
          const docs = await makeDocuments(t.db, 2);
          await sd.softDelete('documents', { id: docs[0]! });
          const before = await checksum(t.db);
          const err = await call().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err).to.be.instanceOf(InvalidInputError).with.property('code', code);
          expect(await checksum(t.db)).to.equal(before);
        });
      }
    });
  });
}

describe('soft-delete filter dates on a database whose time zone is not UTC', () => {
  it('reads a date or a time without an offset as UTC, as it does elsewhere', async () => {
    // A database set to +14:00 read `createdBefore=2026-09-01` as 10:00 UTC the day before, and the
    // same filter selected another day's rows than on a UTC server.
    const pg = await createTestDatabase();
    try {
      const setup = await openDatabase({ url: pg.url, poolSize: 1 });
      await migrateSchema(setup);
      await setup.exec(`ALTER DATABASE ${pg.name} SET timezone TO 'Pacific/Kiritimati'`);
      await setup.close();
      const db = await openDatabase({ url: pg.url, poolSize: 2 });
      try {
        const zone = await db.query<{ timezone: string }>("SELECT current_setting('TimeZone') AS timezone");
        expect(zone.rows[0]?.timezone, 'the session reads times at +14:00').to.equal('Pacific/Kiritimati');
        const { rows } = await db.query<{ id: string }>(
          `INSERT INTO documents (title, created_at)
           VALUES ('before', '2026-08-31T23:00:00Z'), ('after', '2026-09-01T00:45:00Z') RETURNING id::text AS id`,
        );
        const [before, after] = rows.map((r) => r.id);
        const sd = new SoftDeleteService(db);
        const byDate = await sd.softDelete('documents', { filter: { createdBefore: '2026-09-01' } });
        expect(byDate.counts.success, 'rows created before midnight UTC').to.equal(1);
        expect(await liveCount(db, 'documents', [before!, after!])).to.equal(1);
        const byTime = await sd.softDelete('documents', { filter: { createdBefore: '2026-09-01T01:00' } });
        expect(byTime.counts.success, 'rows created before 01:00 UTC').to.equal(1);
        const offset = await sd.restore('documents', { filter: { createdAfter: '2026-09-01T02:30+02:00' } });
        expect(offset.counts.success, 'an explicit offset is kept').to.equal(1);
      } finally {
        await db.close();
      }
    } finally {
      await pg.drop();
    }
  });
});
