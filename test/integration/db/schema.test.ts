import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  type Database,
  migrateSchema,
  openDatabase,
  SchemaChecksumError,
  schemaStatus,
} from '../../../src/db/index.ts';
import { SCHEMA_TABLE, schemaFiles } from '../../../src/db/schema.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';

async function appliedRows(db: Database): Promise<string[]> {
  const res = await db.query<{ version: string }>(`SELECT version FROM ${SCHEMA_TABLE} ORDER BY version`);
  return res.rows.map((r) => r.version);
}

describe('schema versions on PostgreSQL', () => {
  let pg: TestDatabase;
  let a: Database;
  let b: Database;

  before(async () => {
    pg = await createTestDatabase();
    a = await openDatabase({ url: pg.url, poolSize: 2 });
    b = await openDatabase({ url: pg.url, poolSize: 2 });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await pg?.drop();
  });

  it('reports every version pending on an empty database', async () => {
    const versions = (await schemaFiles()).map((f) => f.version);
    expect(versions[0]).to.equal('001_demo_domain');
    expect(await schemaStatus(a)).to.deep.equal({
      current: undefined,
      pending: versions,
      unknown: [],
      changed: [],
    });
  });

  it('applies each version exactly once when two processes migrate at the same time', async () => {
    const versions = (await schemaFiles()).map((f) => f.version);
    const [ra, rb] = await Promise.all([migrateSchema(a), migrateSchema(b)]);
    expect([...ra.applied, ...rb.applied].sort()).to.deep.equal(versions);
    expect(ra.current).to.equal(versions.at(-1));
    expect(rb.current).to.equal(versions.at(-1));
    expect(await appliedRows(a)).to.deep.equal(versions);
  });

  it('is idempotent: a second run applies nothing and nothing is pending', async () => {
    const again = await migrateSchema(a);
    expect(again.applied).to.deep.equal([]);
    expect((await schemaStatus(b)).pending).to.deep.equal([]);
  });

  it('names the versions a newer sdops applied, and still runs (a rolling upgrade)', async () => {
    await a.query(`INSERT INTO ${SCHEMA_TABLE} (version, checksum) VALUES ('999_from_the_future', 'x')`);
    try {
      // Before: "current: 999_from_the_future; pending: none", as if this code knew it.
      expect((await schemaStatus(a)).unknown).to.deep.equal(['999_from_the_future']);
      expect((await migrateSchema(a)).applied).to.deep.equal([]);
    } finally {
      await a.query(`DELETE FROM ${SCHEMA_TABLE} WHERE version = '999_from_the_future'`);
    }
  });

  it('refuses to run when an applied schema file was edited afterwards, and its status says so', async () => {
    await a.query(`UPDATE ${SCHEMA_TABLE} SET checksum = 'edited' WHERE version = '001_demo_domain'`);
    try {
      const err = await migrateSchema(a).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(SchemaChecksumError).with.property('code', 'schema_checksum_mismatch');
      // `sdops db status` read "pending: none" for it while every other command refused to run.
      expect((await schemaStatus(a)).changed).to.deep.equal(['001_demo_domain']);
    } finally {
      const file = (await schemaFiles())[0]!;
      await a.query(`UPDATE ${SCHEMA_TABLE} SET checksum = $1 WHERE version = $2`, [
        file.checksum,
        file.version,
      ]);
    }
  });

  it('returns int8 ids as strings and rolls a failed transaction back', async () => {
    const err = await a
      .transaction(async (tx) => {
        await tx.query(`INSERT INTO customers (email, name) VALUES ('rollback@example.com', 'x')`);
        throw new Error('boom');
      })
      .catch((e: unknown) => e);
    expect(err).to.have.property('message', 'boom');
    const res = await a.query<{ id: unknown; n: unknown }>(
      `SELECT 9007199254740993::bigint AS id, (SELECT count(*) FROM customers WHERE email = 'rollback@example.com') AS n`,
    );
    expect(res.rows[0]).to.deep.equal({ id: '9007199254740993', n: '0' });
  });
});

describe('schema versions on PGlite', () => {
  it('migrates an on-disk database once and keeps it across reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sdops-pglite-'));
    const dataDir = join(dir, 'nested', 'data');
    try {
      const first = await openDatabase({ dataDir });
      expect(first.kind).to.equal('pglite');
      const r1 = await migrateSchema(first);
      expect(r1.applied).to.include('001_demo_domain');
      await first.query(`INSERT INTO customers (email, name) VALUES ('kept@example.com', 'x')`);
      await first.close();

      const second = await openDatabase({ dataDir });
      const r2 = await migrateSchema(second);
      expect(r2.applied).to.deep.equal([]);
      const res = await second.query<{ id: unknown }>(
        `SELECT id FROM customers WHERE email = 'kept@example.com'`,
      );
      expect(res.rows[0]?.id).to.be.a('string');
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
