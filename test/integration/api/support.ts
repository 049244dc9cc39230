import { loadConfig } from '../../../src/config.ts';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect } from 'chai';
import type { ApiToken } from '../../../src/api/auth.ts';
import { buildServer } from '../../../src/api/server.ts';
import { CleanupQueue } from '../../../src/cleanup/index.ts';
import { type Database, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { seedDemo } from '../../../src/demo/index.ts';
import { MigrationRunner } from '../../../src/migration/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';

export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
export const READ_TOKEN = 'read-token-0123456789abcdef';
export const TOKENS: ApiToken[] = [
  { role: 'admin', token: ADMIN_TOKEN },
  { role: 'read', token: READ_TOKEN },
];
export const AS_ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };
export const AS_READ = { authorization: `Bearer ${READ_TOKEN}` };

export interface ApiFixture {
  readonly app: FastifyInstance;
  readonly db: Database;
  readonly queue: CleanupQueue;
  /** The test database's URL, for a session of the test's own. */
  readonly url: string;
  close(): Promise<void>;
}

/** A fresh seeded PostgreSQL database, a client-role cleanup queue, a migration runner and the API. */
export async function startFixture(rows = 40): Promise<ApiFixture> {
  const testDb: TestDatabase = await createTestDatabase();
  const db = await openDatabase({ url: testDb.url, poolSize: 4 });
  await migrateSchema(db);
  await seedDemo(db, { rows, legacyDeletedFraction: 0.2 });
  const queue = await CleanupQueue.open(db, { role: 'client', policy: loadConfig().worker.policy });
  const app = await buildServer({
    db,
    tokens: TOKENS,
    queue,
    migrations: new MigrationRunner(db),
    bulk: { maxIds: 50, syncIds: 20 },
  });
  return {
    app,
    db,
    queue,
    url: testDb.url,
    async close() {
      await app.close();
      await queue.close();
      await db.close();
      await testDb.drop();
    },
  };
}

export function expectErrorShape(res: LightMyRequestResponse, code?: string): void {
  const body = res.json() as { error?: { code?: unknown; message?: unknown } };
  expect(body, res.body).to.have.all.keys('error');
  expect(body.error, res.body).to.have.all.keys('code', 'message');
  expect(body.error?.code)
    .to.be.a('string')
    .and.match(/^[a-z_]+$/);
  expect(body.error?.message).to.be.a('string').that.is.not.empty;
  if (code) expect(body.error?.code, res.body).to.equal(code);
}

export function inject(app: FastifyInstance, opts: InjectOptions): Promise<LightMyRequestResponse> {
  return app.inject(opts) as Promise<LightMyRequestResponse>;
}

/**
 * One md5 per table over every row (public tables and pg-boss's job tables): equal before and after
 * means no row was inserted, changed or removed.
 */
export async function checksumAllTables(db: Database): Promise<Record<string, string>> {
  const { rows: tables } = await db.query<{ s: string; t: string }>(
    `SELECT table_schema AS s, table_name AS t FROM information_schema.tables
      WHERE table_schema IN ('public', 'pgboss') AND table_type = 'BASE TABLE' ORDER BY 1, 2`,
  );
  const out: Record<string, string> = {};
  for (const { s, t } of tables) {
    const { rows } = await db.query<{ sum: string }>(
      `SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS sum FROM "${s}"."${t}" x`,
    );
    out[`${s}.${t}`] = rows[0]?.sum ?? '';
  }
  return out;
}

/** A database that answers every statement with `error` (a role that lost its rights, say). */
export function refusingDatabase(error: Error): Database {
  return {
    kind: 'postgres',
    query: async () => {
      throw error;
    },
    close: async () => undefined,
  } as unknown as Database;
}
