import { expect } from 'chai';
import pg from 'pg';
import { type Database, openDatabase } from '../../../src/db/index.ts';
import { withSpan } from '../../../src/observability/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { waitUntil } from '../../support/wait.ts';
import { type InMemoryTelemetry, startInMemoryTelemetry } from '../../unit/observability/harness.ts';

describe('an idle pool connection that fails (PostgreSQL)', () => {
  let t: InMemoryTelemetry;
  let target: TestDatabase;
  let db: Database;
  before(async () => {
    t = await startInMemoryTelemetry();
    target = await createTestDatabase();
    db = await openDatabase({ url: target.url, poolSize: 1 });
  });
  after(async () => {
    await db?.close();
    await target?.drop();
    await t?.telemetry.shutdown();
  });

  it('is logged outside any trace, not in the trace of the request that opened the connection', async () => {
    // A request opens the connection and ends; the connection waits idle in the pool.
    const pid = await withSpan('GET /v1/customers/:id', {}, async () => {
      const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      return rows[0]?.pid;
    });
    const admin = new pg.Client({ connectionString: target.url });
    await admin.connect();
    try {
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    } finally {
      await admin.end();
    }
    const line = async () =>
      (await t.consoleRecords()).find((r) =>
        String(r.message).startsWith('an idle database connection failed'),
      );
    await waitUntil('the pool to log the failed idle connection', async () => (await line()) !== undefined);
    const logged = await line();
    // Before: the trace_id and span_id of the request's span, which had ended before the failure.
    expect(logged).not.to.have.property('trace_id');
    expect(logged).not.to.have.property('span_id');
  });
});
