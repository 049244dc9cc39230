import { expect } from 'chai';
import { type Database, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { enoughToActOn, seedDemo } from '../../../src/demo/seed.ts';

/**
 * A demo run reuses what an earlier one left only while it has live rows to act on. Rows deleted by
 * the legacy flag alone (deleted_at not yet backfilled) are not live: the acts' deletes would be
 * noops, the cascade act would show nothing cascading.
 */
describe('the demo deciding whether to reuse its data', function () {
  this.timeout(60_000);
  let db: Database;

  before(async () => {
    db = await openDatabase({ memory: true });
    await migrateSchema(db);
    await seedDemo(db, { rows: 20, legacyDeletedFraction: 0 });
  });
  after(async () => {
    await db?.close();
  });

  it('reuses fresh data, and not data whose documents the legacy flag alone deleted', async () => {
    expect(await enoughToActOn(db)).to.equal(true);
    await db.query('UPDATE documents SET is_deleted = true');
    expect(await enoughToActOn(db)).to.equal(false);
  });
});
