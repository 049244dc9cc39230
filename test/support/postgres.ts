import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Every integration test file gets a database of its own on the throwaway server that
 * `npm test` starts (scripts/test-postgres.sh), so files never see each other's rows.
 */
export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

export function testServerUrl(): string {
  const url = process.env.SDOPS_TEST_PG_URL;
  if (!url) {
    throw new Error(
      'SDOPS_TEST_PG_URL is not set: run the tests through `npm test` (it starts PostgreSQL), ' +
        'or start one with `eval "$(bash scripts/test-postgres.sh start)"`',
    );
  }
  return url;
}

async function onServer<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testServerUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `sdops_t_${randomBytes(6).toString('hex')}`;
  await onServer((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(testServerUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () =>
      onServer((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
