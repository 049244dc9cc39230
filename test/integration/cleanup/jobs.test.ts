import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../../src/config.ts';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { expect } from 'chai';
import { CleanupQueue } from '../../../src/cleanup/index.ts';
import { type Database, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { startTelemetry, type Telemetry, withSpan } from '../../../src/observability/index.ts';
import { SoftDeleteService } from '../../../src/soft-delete/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { OtlpListener } from '../../support/otlp-listener.ts';
import { spawnWorker, type WorkerChild, within } from './processes.ts';
import { jsonRecords } from '../../support/sdops-process.ts';
import { waitUntil } from '../../support/wait.ts';

describe('cleanup jobs over the soft-delete core, traced end to end (PostgreSQL)', function () {
  this.timeout(90_000);
  let tdb: TestDatabase;
  let db: Database;
  let queue: CleanupQueue;
  let sd: SoftDeleteService;
  let telemetry: Telemetry;
  let worker: WorkerChild;
  const otlp = new OtlpListener();
  let customerId: string;

  const liveOrders = async () =>
    Number(
      (
        await db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM orders WHERE customer_id = $1 AND deleted_at IS NULL',
          [customerId],
        )
      ).rows[0]?.n,
    );
  const liveItems = async () =>
    Number(
      (
        await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM order_items i JOIN orders o ON o.id = i.order_id
            WHERE o.customer_id = $1 AND i.deleted_at IS NULL`,
          [customerId],
        )
      ).rows[0]?.n,
    );
  const jobState = async (id: string) =>
    (await db.query<{ state: string }>('SELECT state::text AS state FROM pgboss.job WHERE id = $1', [id]))
      .rows[0]?.state;

  before(async () => {
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url });
    await migrateSchema(db);
    await otlp.start();
    telemetry = await startTelemetry({
      role: 'api',
      settings: { ...loadConfig().telemetry, endpoint: otlp.url },
      testExporters: { spanExporter: new InMemorySpanExporter() },
    });
    queue = await CleanupQueue.open(db, { role: 'client', policy: loadConfig().worker.policy });
    sd = new SoftDeleteService(db);
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO customers (email, name) VALUES ('c@example.com', 'C') RETURNING id`,
    );
    customerId = rows[0]!.id;
    await db.query(
      `WITH o AS (INSERT INTO orders (customer_id) SELECT $1 FROM generate_series(1, 3) RETURNING id)
       INSERT INTO order_items (order_id, sku) SELECT o.id, 'sku-' || g FROM o, generate_series(1, 2) AS g`,
      [customerId],
    );
    worker = spawnWorker({
      DATABASE_URL: tdb.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_SDK_DISABLED: 'false',
      OTEL_METRIC_EXPORT_INTERVAL: '500',
      SDOPS_QUEUE_POLL_INTERVAL_MS: '50',
      SDOPS_WORKER_SHUTDOWN_TIMEOUT_MS: '10000',
    });
    await within(30_000, `worker to start:\n${worker.output()}`, worker.ready);
  });

  after(async () => {
    if (worker && worker.child.exitCode === null && worker.child.signalCode === null)
      worker.child.kill('SIGKILL');
    await telemetry?.shutdown();
    await queue?.close();
    await db?.close();
    await otlp.stop();
    await tdb?.drop();
  });

  it('cascades a parent deleted through the API in a job whose span links to the request trace, with soft_delete spans beneath it', async () => {
    const { traceId, jobId } = await withSpan(
      'DELETE /customers/{id}',
      {},
      async (span) => {
        const result = await sd.softDelete(
          'customers',
          { id: customerId },
          { cascade: false, reason: 'closed' },
        );
        // Checked before the job exists: the worker polls every 50 ms and may run it at once.
        expect(await liveOrders()).to.equal(3);
        const id = await queue.enqueue('cascade_soft_delete', {
          entity: 'customers',
          id: customerId,
          ...(result.opId ? { opId: result.opId } : {}),
        });
        return { traceId: span.traceId, jobId: id };
      },
      { kind: 'server' },
    );
    await waitUntil(
      'the cascade job to delete the orders and items',
      async () => (await liveOrders()) === 0 && (await liveItems()) === 0,
    );
    await waitUntil('the job span to be exported', () => otlp.jobSpans(jobId).length === 1);
    const jobSpan = otlp.jobSpans(jobId)[0]!;
    expect(jobSpan.attributes).to.include({
      job_type: 'cascade_soft_delete',
      attempt: 1,
      status: 'success',
      count: 9,
    });
    expect(jobSpan.traceId).to.not.equal(traceId);
    expect(jobSpan.links.map((l) => l.traceId)).to.deep.equal([traceId]);
    await waitUntil('soft_delete spans under the job span', () =>
      otlp.spans.some((s) => s.name.startsWith('soft_delete.') && s.parentSpanId === jobSpan.spanId),
    );
    // The core's own lines inside the job name it, as the worker's do: found by job_id in Loki.
    const coreLines = await waitUntil("the core's lines of the job", () => {
      const lines = jsonRecords(worker.output()).filter(
        (r) => r.message === 'soft_delete operation' && r.job_id === jobId,
      );
      return lines.length > 0 ? lines : undefined;
    });
    expect(coreLines[0]).to.include({
      component: 'soft-delete',
      job_type: 'cascade_soft_delete',
      attempt: 1,
    });
    const opIds = await db.query('SELECT DISTINCT delete_op_id FROM orders WHERE customer_id = $1', [
      customerId,
    ]);

    // Idempotent: the same job again changes nothing.
    const again = await queue.enqueue('cascade_soft_delete', { entity: 'customers', id: customerId });
    await waitUntil('the repeated job to complete', async () => (await jobState(again)) === 'completed');
    const opIdsAfter = await db.query('SELECT DISTINCT delete_op_id FROM orders WHERE customer_id = $1', [
      customerId,
    ]);
    expect(opIdsAfter.rows).to.deep.equal(opIds.rows);
    await waitUntil('the repeated job span', () => otlp.jobSpans(again).length === 1);
    expect(otlp.jobSpans(again)[0]!.attributes).to.include({ count: 0, status: 'success' });
  });

  it('restores the children a restored parent lost to its cascade, and not a child deleted before it', async () => {
    const { rows } = await db.query<{ deleted_at: string }>(
      `SELECT to_char(deleted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS deleted_at
         FROM customers WHERE id = $1`,
      [customerId],
    );
    // An order deleted well before the parent must stay deleted.
    await db.query(
      `UPDATE orders SET deleted_at = now() - interval '1 day' WHERE id = (SELECT min(id) FROM orders WHERE customer_id = $1)`,
      [customerId],
    );
    await sd.restore('customers', { id: customerId }, { cascade: false });
    const id = await queue.enqueue('restore_cascade', {
      entity: 'customers',
      id: customerId,
      deletedAt: rows[0]!.deleted_at,
    });
    await waitUntil('the restore job to complete', async () => (await jobState(id)) === 'completed');
    expect(await liveOrders()).to.equal(2);
    expect(await liveItems()).to.equal(4);
  });

  it('brings no child back under a parent only the legacy flag deletes (a hand-enqueued restore_cascade)', async () => {
    const { rows } = await db.query<{ id: string }>(
      `WITH o AS (INSERT INTO orders (customer_id, is_deleted) VALUES ($1, true) RETURNING id),
            i AS (INSERT INTO order_items (order_id, sku, is_deleted) SELECT o.id, 'legacy-' || g, true
                    FROM o, generate_series(1, 3) AS g)
       SELECT id::text FROM o`,
      [customerId],
    );
    const orderId = rows[0]!.id;
    const id = await queue.enqueue('restore_cascade', { entity: 'orders', id: orderId });
    await waitUntil('the restore job to complete', async () => (await jobState(id)) === 'completed');
    const { rows: back } = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM order_items WHERE order_id = $1 AND NOT is_deleted',
      [orderId],
    );
    // Before: 3 items live again under their still-deleted order, the job a success with count 3.
    expect(back[0]?.n).to.equal(0);
  });

  it('enqueues a job under a given id once: the same id again adds nothing (a retried parent job)', async () => {
    const id = randomUUID();
    await queue.enqueue('noop', {}, { id });
    await queue.enqueue('noop', {}, { id });
    await queue.enqueueMany('noop', [{}], { ids: [id] });
    const { rows } = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pgboss.job WHERE id = $1',
      [id],
    );
    expect(rows[0]?.n).to.equal(1);
  });

  it('finishes the running job on SIGTERM before it exits with code 0', async () => {
    const id = await queue.enqueue('noop', { sleepMs: 1500 });
    await waitUntil('the job to be active', async () => (await jobState(id)) === 'active');
    worker.child.kill('SIGTERM');
    expect(await within(20_000, 'the worker to exit', worker.exited)).to.equal(0);
    expect(await jobState(id)).to.equal('completed');
  });
});
