import { expect } from 'chai';
import { databaseIdentity, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';

describe('the database identity the database gauges report under (PostgreSQL)', () => {
  let tdb: TestDatabase;
  before(async () => {
    tdb = await createTestDatabase();
  });
  after(async () => tdb?.drop());

  it('is the same by whichever host name a process reaches the database, and unknown before schema 032', async () => {
    const byAddress = await openDatabase({ url: tdb.url, poolSize: 1 });
    const other = new URL(tdb.url);
    // Another spelling of the same server: once two series, a stopped process's kept a drained queue full.
    other.hostname = other.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
    const byName = await openDatabase({ url: other.href, poolSize: 1 });
    try {
      expect(await databaseIdentity(byAddress)).to.equal(undefined);
      await migrateSchema(byAddress);
      const name = new URL(tdb.url).pathname.slice(1);
      const identity = await databaseIdentity(byAddress);
      expect(identity).to.match(
        new RegExp(`^${name}@[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`),
      );
      expect(await databaseIdentity(byName)).to.equal(identity);
      // Applied once per database: a second process's migrate adds no second row.
      await migrateSchema(byName);
      expect(await databaseIdentity(byName)).to.equal(identity);
    } finally {
      await byAddress.close();
      await byName.close();
    }
  });
});
