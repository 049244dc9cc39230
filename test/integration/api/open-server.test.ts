import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../../src/api/server.ts';
import { type Database, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { seedDemo } from '../../../src/demo/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { expectErrorShape } from './support.ts';

/**
 * A server without tokens binds to loopback, but this machine's browser can still reach it: a page
 * may POST without a preflight, and DNS rebinding lends a foreign name to 127.0.0.1.
 */
describe('API without tokens: only loopback callers', () => {
  let testDb: TestDatabase;
  let db: Database;
  let app: FastifyInstance;
  let id: string;

  before(async () => {
    testDb = await createTestDatabase();
    db = await openDatabase({ url: testDb.url, poolSize: 2 });
    await migrateSchema(db);
    await seedDemo(db, { rows: 5 });
    app = await buildServer({ db, tokens: [] });
    const { rows } = await db.query<{ id: string }>(
      'SELECT id::text FROM documents WHERE deleted_at IS NULL AND NOT is_deleted ORDER BY id LIMIT 1',
    );
    id = rows[0]?.id as string;
  });

  after(async () => {
    await app?.close();
    await db?.close();
    await testDb?.drop();
  });

  const deletedAt = async () =>
    (await db.query<{ deleted_at: Date | null }>('SELECT deleted_at FROM documents WHERE id = $1', [id]))
      .rows[0]?.deleted_at ?? null;

  for (const [what, headers] of [
    ['a web page of another origin', { origin: 'http://evil.example' }],
    ['a page whose origin is opaque', { origin: 'null' }],
    ['a page on another loopback port', { origin: 'http://localhost:3000' }],
    ['a foreign host name (DNS rebinding)', { host: 'evil.example:8080' }],
  ] as const) {
    it(`refuses a delete sent by ${what} with 403 forbidden, and changes nothing`, async () => {
      const res = await app.inject({ method: 'DELETE', url: `/v1/documents/${id}`, headers });
      expect(res.statusCode, res.body).to.equal(403);
      expectErrorShape(res, 'forbidden');
      expect(res.json().error.message).to.match(/SDOPS_API_TOKENS/);
      expect(await deletedAt()).to.equal(null);
    });
  }

  it('refuses reads under a foreign host name too, and leaves the public routes open', async () => {
    const headers = { host: 'evil.example' };
    expect((await app.inject({ method: 'GET', url: `/v1/documents/${id}`, headers })).statusCode).to.equal(
      403,
    );
    expect((await app.inject({ method: 'GET', url: '/healthz', headers })).statusCode).to.equal(200);
  });

  it('answers callers on loopback names and pages of its own origin', async () => {
    for (const headers of [
      { host: '127.0.0.1:8080' },
      { host: '[::1]:8080' },
      { host: 'localhost:8080', origin: 'http://localhost:8080' },
    ]) {
      const res = await app.inject({ method: 'GET', url: `/v1/documents/${id}`, headers });
      expect(res.statusCode, `${JSON.stringify(headers)}: ${res.body}`).to.equal(200);
    }
    const res = await app.inject({
      method: 'DELETE',
      url: `/v1/documents/${id}`,
      headers: { host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' },
    });
    expect(res.statusCode, res.body).to.equal(200);
    expect(await deletedAt()).to.be.instanceOf(Date);
  });
});
