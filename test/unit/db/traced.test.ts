import { expect } from 'chai';
import { SpanKind } from '@opentelemetry/api';
import { type Database, openDatabase } from '../../../src/db/index.ts';
import { describeStatement, traceDatabase } from '../../../src/db/traced.ts';
import { targetOfUrl } from '../../../src/db/traced.ts';
import { withSpan } from '../../../src/observability/index.ts';
import { resetWarnings } from '../../../src/observability/diagnostics.ts';
import { type InMemoryTelemetry, startInMemoryTelemetry } from '../observability/harness.ts';

describe('database client spans (src/db/traced.ts)', () => {
  let t: InMemoryTelemetry;
  let db: Database;

  before(async () => {
    resetWarnings();
    t = await startInMemoryTelemetry();
    db = await openDatabase({ memory: true });
    await db.exec('CREATE TABLE items (id int PRIMARY KEY, secret text)');
  });

  after(async () => {
    await db.close();
    await t.telemetry.shutdown();
  });

  it('emits one client span per statement under the operation span, with the semantic-convention attributes and no parameter values', async () => {
    await withSpan('soft_delete.delete', { entity: 'items' }, async () => {
      await db.query('INSERT INTO items (id, secret) VALUES ($1, $2)', [1, 'hunter2-parameter']);
      await db.transaction(async (tx) => {
        await tx.query('UPDATE "items" SET secret = $1 WHERE id = $2', ['x', 1]);
        await tx.query('SELECT id FROM items WHERE id = $1', [1]);
      });
    });
    const spans = await t.spans();
    const op = spans.find((s) => s.name === 'soft_delete.delete');
    const client = spans.filter((s) => s.kind === SpanKind.CLIENT);
    expect(client.map((s) => s.name)).to.deep.equal(['INSERT items', 'UPDATE items', 'SELECT items']);
    for (const s of client) {
      expect(s.parentSpanContext?.spanId, s.name).to.equal(op?.spanContext().spanId);
      expect(s.attributes).to.include({ 'db.system.name': 'postgresql', 'db.namespace': 'postgres' });
      expect(s.attributes['db.collection.name']).to.equal('items');
      expect(JSON.stringify(s.attributes)).to.not.include('hunter2');
    }
    expect(client[0]?.attributes['db.operation.name']).to.equal('INSERT');
    expect(client[0]?.attributes['db.query.text']).to.equal('INSERT INTO items (id, secret) VALUES ($1, $2)');
    // PGlite runs in process: no server.
    expect(client[0]?.attributes['server.address']).to.equal(undefined);
  });

  it('records a failing statement as an ERROR span with the SQLSTATE as error.type and db.response.status_code, and rethrows', async () => {
    const error = await withSpan('soft_delete.delete', {}, () =>
      db.query('INSERT INTO items (id) VALUES ($1)', [1]).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect((error as { code?: string }).code).to.equal('23505');
    const span = (await t.spans()).find((s) => s.name === 'INSERT items' && s.status.code === 2);
    expect(span?.attributes['error.type']).to.equal('23505');
    expect(span?.attributes['db.response.status_code']).to.equal('23505');
  });

  it('makes no span for a statement outside any operation span (no one-span traces)', async () => {
    const before = (await t.spans()).length;
    await db.query('SELECT count(*) FROM items');
    expect((await t.spans()).length).to.equal(before);
  });

  it('names server, port and database of a PostgreSQL URL for the service graph', () => {
    expect(targetOfUrl('postgres://sdops:pw@postgres:5433/sdops')).to.deep.equal({
      namespace: 'sdops',
      address: 'postgres',
      port: 5433,
    });
    // No port: libpq's 5432. (A URL without a database is refused when the configuration is read.)
    expect(targetOfUrl('postgres://me@db.internal/app')).to.deep.equal({
      namespace: 'app',
      address: 'db.internal',
      port: 5432,
    });
    // libpq's socket form, with and without a user before the empty host (the second was refused as
    // "not a valid URL"): the server is the socket directory.
    for (const url of [
      'postgres://app:pw@/orders?host=/run/pg&port=5433',
      'postgres:///orders?host=/run/pg&port=5433&user=app',
    ])
      expect(targetOfUrl(url), url).to.deep.equal({ namespace: 'orders', address: '/run/pg', port: 5433 });
    expect(targetOfUrl('postgres://app@/orders?host=/run/pg')).to.deep.equal({
      namespace: 'orders',
      address: '/run/pg',
      port: 5432,
    });
  });

  it('reads operation and table from the statement text, once per distinct text', async () => {
    expect(describeStatement('  -- why\n  select a from "Orders" o')).to.deep.equal({
      operation: 'SELECT',
      collection: 'Orders',
    });
    // A function in FROM is no table (was: span "SELECT unnest", db.collection.name "unnest").
    expect(
      describeStatement(
        'SELECT x.id FROM unnest($1::bigint[]) AS x(id) WHERE NOT EXISTS (SELECT 1 FROM "documents")',
      ),
    ).to.deep.equal({ operation: 'SELECT' });
    expect(describeStatement('DELETE FROM public.orders WHERE id = $1')).to.deep.equal({
      operation: 'DELETE',
      collection: 'public.orders',
    });
    expect(describeStatement('WITH x AS (SELECT 1) UPDATE t SET a = 1')).to.deep.equal({
      operation: 'UPDATE',
      collection: 't',
    });
    // The core's statements: named after the write of their first CTE, not "WITH".
    expect(
      describeStatement('WITH n0 AS (UPDATE "documents" SET deleted_at = now() WHERE id = ANY($1)) SELECT 1'),
    ).to.deep.equal({ operation: 'UPDATE', collection: 'documents' });
    expect(
      describeStatement(
        'WITH next AS (SELECT id FROM pgboss.job FOR UPDATE SKIP LOCKED) DELETE FROM pgboss.job j',
      ),
    ).to.deep.equal({ operation: 'DELETE', collection: 'pgboss.job' });
    let built = 0;
    const fake = {
      kind: 'pglite',
      query: async () => ({ rows: [], rowCount: 0 }),
      exec: async () => undefined,
      transaction: async () => undefined,
      close: async () => undefined,
    } as unknown as Database;
    const traced = traceDatabase(fake, { namespace: 'n' });
    await withSpan('soft_delete.delete', {}, async () => {
      for (let i = 0; i < 3; i++) await traced.query('SELECT 1 FROM items');
      built = (await t.spans()).length;
    });
    const spans = (await t.spans()).filter((s) => s.attributes['db.namespace'] === 'n');
    expect(spans).to.have.length(3);
    // The three spans share one attributes object built for the text.
    expect(built).to.be.greaterThan(0);
  });
});
