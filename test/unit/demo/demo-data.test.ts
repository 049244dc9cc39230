import { expect } from 'chai';
import { type Database, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { prepareDemoData } from '../../../src/demo/index.ts';
import { demoDomainRows, seedDemo, seedRowCount } from '../../../src/demo/seed.ts';

/** A demo loop's runs use up the live documents; each top-up used to seed the whole domain again on top. */
describe('the data a demo run acts on', function () {
  this.timeout(60_000);
  let db: Database;
  const one = seedRowCount(20);

  beforeEach(async () => {
    db = await openDatabase({ memory: true });
    await migrateSchema(db);
    // Four seeds, their documents used up: what a loop had left after a few dozen runs.
    for (let i = 0; i < 4; i++) await seedDemo(db, { rows: 20 });
    await db.query('UPDATE documents SET deleted_at = now(), delete_reason = $1', ['used up']);
  });
  afterEach(async () => {
    await db?.close();
  });

  it('in a loop, empties tables over three seeds before a top-up, and seeds one afresh', async () => {
    const data = await prepareDemoData(db, { rows: 20, reset: false, bounded: true });
    expect(data.emptied).to.deep.equal({ rows: 4 * one, by: 'bound', bound: 3 * one });
    expect(data.seeded?.customers).to.equal(20);
    // Before: 5 seeds' worth, and one more with every top-up after it.
    expect(await demoDomainRows(db)).to.equal(one);
  });

  it('outside a loop, tops the data up without emptying what a person left there', async () => {
    const data = await prepareDemoData(db, { rows: 20, reset: false, bounded: false });
    expect(data.emptied).to.equal(undefined);
    expect(await demoDomainRows(db)).to.equal(5 * one);
  });

  it('in a loop, reuses data that still has live rows to act on, however large', async () => {
    await db.query('UPDATE documents SET deleted_at = NULL, delete_reason = NULL');
    const data = await prepareDemoData(db, { rows: 20, reset: false, bounded: true });
    expect(data).to.deep.equal({ seeded: undefined, existing: 4 * one });
  });
});
