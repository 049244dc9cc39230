import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { builtinHandlers, type CleanupQueue } from '../../../src/cleanup/index.ts';
import type { JobContext } from '../../../src/cleanup/handlers-types.ts';
import { configureLogging, getLogger } from '../../../src/observability/index.ts';
import { SoftDeleteService } from '../../../src/soft-delete/index.ts';
import { backdate, makeDocuments, makeFamily, openTestDb, type TestDb } from '../soft-delete/support.ts';

/**
 * A purge job's row budget holds across its attempts: an attempt that fails after committing
 * batches leaves its progress behind (in the batches' own transactions), and the retry takes only
 * the rest. Before, a retry started over with the whole budget (maxRows 20,000 removed 24,500).
 */
describe('a cleanup job across its attempts: a purge keeps to its row budget and enqueues nothing twice, a bulk delete is one operation (PostgreSQL)', function () {
  this.timeout(60_000);
  let t: TestDb;

  before(async () => {
    configureLogging({ level: 'warn', console: 'stderr' });
    t = await openTestDb('postgres');
  });
  after(async () => {
    await t?.close();
  });

  const enqueued: (string | undefined)[] = [];
  const fannedOut: (readonly string[] | undefined)[] = [];
  const queue = () =>
    ({
      db: t.db,
      enqueue: async (_type: string, _payload: unknown, options?: { id?: string }) => {
        enqueued.push(options?.id);
        return options?.id ?? randomUUID();
      },
      enqueueMany: async (_type: string, payloads: unknown[], options?: { ids?: readonly string[] }) => {
        fannedOut.push(options?.ids);
        return options?.ids ?? payloads.map(() => randomUUID());
      },
    }) as unknown as CleanupQueue;
  const contextOf = (jobId: string, attempt: number, jobType = 'purge_expired'): JobContext => ({
    jobId,
    jobType,
    attempt,
    signal: new AbortController().signal,
    queue: queue(),
    log: getLogger('cleanup.worker'),
  });

  const handlersWith = (maxRowsPerJob: number) =>
    builtinHandlers(new SoftDeleteService(t.db), { archiveAfterDays: 30, batchSize: 100, maxRowsPerJob });

  const documents = async () =>
    Number((await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM documents')).rows[0]?.n);

  it('takes only what the failed attempt left of maxRows, and keeps its progress once it succeeded', async () => {
    const ids = await makeDocuments(t.db, 600);
    await t.db.query('UPDATE documents SET deleted_at = now() WHERE id = ANY($1::bigint[])', [ids]);
    await backdate(t.db, 'documents', ids, 400);
    const before = await documents();
    // The third batch of the first attempt fails: its first two (200 rows) committed.
    const third = ids[250];
    await t.db.exec(`
      CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure'; END $$;
      CREATE TRIGGER fail_once BEFORE DELETE ON documents FOR EACH ROW
        WHEN (OLD.id = ${Number(third)}) EXECUTE FUNCTION fail_once();`);
    const handlers = handlersWith(50_000);
    const jobId = randomUUID();
    const ctx = (attempt: number): JobContext => contextOf(jobId, attempt);
    const payload = { entity: 'documents', olderThanDays: 0, maxRows: 300, batchSize: 100 };

    let failed: unknown;
    await handlers.purge_expired!(payload, ctx(1)).catch((e: unknown) => {
      failed = e;
    });
    expect(String(failed)).to.include('injected failure');
    expect(before - (await documents())).to.equal(200);
    await t.db.exec('DROP TRIGGER fail_once ON documents; DROP FUNCTION fail_once();');

    const second = await handlers.purge_expired!(payload, ctx(2));
    expect(second.count).to.equal(100);
    expect(second.detail).to.include({ earlier_attempts: 200 });
    expect(before - (await documents()), 'the budget of 300, not 200 + 300').to.equal(300);
    // Kept after success: deleted before the completion is recorded, a crash in between restarted the budget.
    const { rows } = await t.db.query<{ rows: string }>(
      'SELECT rows::text AS rows FROM sdops_job_progress WHERE job_id = $1',
      [jobId],
    );
    expect(rows).to.deep.equal([{ rows: '300' }]);
    await t.db.exec('DELETE FROM documents');
  });

  it('enqueues the follow-up of a chained job whose failed attempts used its whole budget, once, under one id', async () => {
    const handlers = handlersWith(200);
    const jobId = randomUUID();
    // What a first attempt that died after its last batch, before enqueuing its follow-up, left.
    await t.db.query('INSERT INTO sdops_job_progress (job_id, rows) VALUES ($1, 200)', [jobId]);
    const payload = { entity: 'documents', olderThanDays: 0 };
    const second = await handlers.purge_expired!(payload, contextOf(jobId, 2));
    const third = await handlers.purge_expired!(payload, contextOf(jobId, 3));
    // Before: the retry returned with no follow-up, and the backlog waited for the next cron run.
    expect(second.detail).to.include({ follow_up: true, earlier_attempts: 200 });
    expect(third.detail).to.include({ follow_up: true });
    expect(enqueued).to.have.length(2);
    expect(enqueued[0])
      .to.equal(enqueued[1])
      .and.match(/^[0-9a-f-]{36}$/);
  });

  it('gives the jobs a fan-out enqueues the same ids on every attempt, so a retry adds none', async () => {
    const handlers = handlersWith(200);
    const jobId = randomUUID();
    await handlers.purge_expired!({}, contextOf(jobId, 1));
    await handlers.purge_expired!({}, contextOf(jobId, 2));
    const [first, second] = fannedOut;
    expect(first).to.have.length(4);
    expect(second).to.deep.equal(first);
  });

  // A bulk_soft_delete job enqueued by hand carries no opId. Each attempt made up its own, so a first
  // attempt that died half-way and its retry left two operations on the rows of one job (a probe:
  // 26,600 and 33,400 rows of one filter under two delete_op_ids), and restoring "everything one
  // delete took" by op id restored part of it.
  it('stamps the rows of a bulk delete job without an opId with its job id, on the failed attempt and on the retry', async () => {
    const { customer } = await makeFamily(t.db);
    const ids = await makeDocuments(t.db, 2500, customer);
    // A filter runs in batches of 1,000 (the service's default); the first attempt fails in its third,
    // after the first two committed.
    await t.db.exec(`
      CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure'; END $$;
      CREATE TRIGGER fail_once BEFORE UPDATE ON documents FOR EACH ROW
        WHEN (OLD.id = ${Number(ids[2200])}) EXECUTE FUNCTION fail_once();`);
    const handlers = handlersWith(50_000);
    const jobId = randomUUID();
    const payload = { entity: 'documents', filter: { owner_customer_id: customer }, reason: 'by hand' };

    const failed = await handlers.bulk_soft_delete!(payload, contextOf(jobId, 1, 'bulk_soft_delete')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(failed)).to.include('injected failure');
    const deleted = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM documents WHERE id = ANY($1::bigint[]) AND deleted_at IS NOT NULL',
      [ids],
    );
    expect(deleted.rows[0]?.n, 'rows the failed attempt committed').to.equal(2000);
    await t.db.exec('DROP TRIGGER fail_once ON documents; DROP FUNCTION fail_once();');
    const second = await handlers.bulk_soft_delete!(payload, contextOf(jobId, 2, 'bulk_soft_delete'));
    // Before, the output said 500 of the job's 2,500 rows, with nothing about the 2,000 before.
    expect(second.count).to.equal(500);
    // Before, the 2,000 rows of the first attempt were noop again (the throughput panel's noop line
    // grew with every retry of a large job).
    expect(second.detail).to.include({ earlier_attempts: 2000, noop: 0 });

    const { rows } = await t.db.query<{ op: string | null; n: number }>(
      `SELECT delete_op_id::text AS op, count(*)::int AS n FROM documents
        WHERE id = ANY($1::bigint[]) GROUP BY 1`,
      [ids],
    );
    expect(rows).to.deep.equal([{ op: jobId, n: 2500 }]);
  });

  /**
   * Handlers whose worker shuts down once the attempt's first batch committed: the job's signal is
   * aborted as the worker aborts it, between that batch and the next.
   */
  /**
   * Runs one attempt of a job whose worker shuts down once the attempt's first batch committed (its
   * signal aborted as the worker aborts it, between that batch and the next); the attempt must end
   * handed back.
   */
  const handedBackAfterFirstBatch = async (
    jobType: 'purge_expired' | 'archive_entity' | 'bulk_soft_delete' | 'bulk_restore' | 'cascade_soft_delete',
    payload: Record<string, unknown>,
    jobId: string,
  ): Promise<void> => {
    const shutdown = new AbortController();
    const db = new Proxy(t.db, {
      get(target, prop) {
        if (prop === 'transaction') {
          return async (fn: never) => {
            const result = await target.transaction(fn);
            shutdown.abort(new Error('handed back'));
            return result;
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const handlers = builtinHandlers(new SoftDeleteService(db, { defaultIdBatchSize: 1000 }), {
      archiveAfterDays: 30,
      batchSize: 100,
      maxRowsPerJob: 50_000,
    });
    const stopped = await handlers[jobType]!(payload, {
      ...contextOf(jobId, 1, jobType),
      signal: shutdown.signal,
    }).catch((e: unknown) => e);
    expect(String(stopped)).to.include('handed back');
  };

  it('goes on where its handed-back attempt got to when a bulk delete by ids runs again: no row handled or counted twice', async () => {
    const ids = await makeDocuments(t.db, 2500);
    // Deleted by someone else before: the job's only noop, 5 in the first attempt's part, 5 in the rest.
    await new SoftDeleteService(t.db).softDelete('documents', {
      ids: [...ids.slice(0, 5), ...ids.slice(2000, 2005)],
    });
    const jobId = randomUUID();
    const payload = { entity: 'documents', ids };
    await handedBackAfterFirstBatch('bulk_soft_delete', payload, jobId);
    const again = await handlersWith(50_000).bulk_soft_delete!(
      payload,
      contextOf(jobId, 1, 'bulk_soft_delete'),
    );
    // Before: it started over at the first id and counted the first 1,000 again as noop (995 of them
    // its own earlier rows), once per hand-back.
    expect(again.detail).to.include({ earlier_attempts: 995, success: 1495, noop: 5, batches: 1 });
    await t.db.exec('DELETE FROM documents');
  });

  it('goes on with the child rows its handed-back attempt had not reached when a cascade job runs again', async () => {
    const { customer, orders } = await makeFamily(t.db, { orders: 2500, items: 1 });
    // Deleted by someone else before: 5 in the first attempt's batch, 5 after it.
    await new SoftDeleteService(t.db).softDelete('orders', {
      ids: [...orders.slice(0, 5), ...orders.slice(2000, 2005)],
    });
    const parent = await new SoftDeleteService(t.db).softDelete(
      'customers',
      { id: customer },
      { cascade: false },
    );
    const jobId = randomUUID();
    const payload = { entity: 'customers', id: customer, opId: parent.opId };
    await handedBackAfterFirstBatch('cascade_soft_delete', payload, jobId);
    const pages: string[] = [];
    const db = new Proxy(t.db, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (prop !== 'query') return typeof value === 'function' ? value.bind(target) : value;
        return (sql: string, params?: unknown[]) => {
          if (sql.includes('FROM "orders" AS t')) pages.push(String(params?.at(-2)));
          return target.query(sql, params as never);
        };
      },
    });
    const handlers = builtinHandlers(new SoftDeleteService(db), {
      archiveAfterDays: 30,
      batchSize: 100,
      maxRowsPerJob: 50_000,
    });
    const again = await handlers.cascade_soft_delete!(payload, contextOf(jobId, 1, 'cascade_soft_delete'));
    // Before: it read the orders from the first again (a first page after id 0) and counted the 5
    // deleted before the job as noop once more.
    expect(pages[0], 'the first page starts after the first batch').to.equal(orders[999]);
    expect(again.count, 'the other 1,495 orders and their items').to.equal(2990);
    expect(again.detail).to.include({ earlier_attempts: 1990 });
    const { rows } = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM orders WHERE customer_id = $1 AND delete_op_id = $2',
      [customer, parent.opId],
    );
    expect(rows[0]?.n, 'every order not deleted before, under the parent op').to.equal(2490);
    await t.db.exec('DELETE FROM order_items; DELETE FROM orders; DELETE FROM customers');
  });

  // A worker shutting down hands its job back without spending a retry, so the job runs again as the
  // same attempt. The purge's retry then took its whole budget again, and a restore by op id, which
  // no longer finds the rows it already restored, said it restored only the rest.
  it('counts what a handed-back attempt did: a purge keeps to its budget and a bulk restore names its earlier rows', async () => {
    const ids = await makeDocuments(t.db, 500);
    await t.db.query('UPDATE documents SET deleted_at = now() WHERE id = ANY($1::bigint[])', [ids]);
    await backdate(t.db, 'documents', ids, 400);
    const handlers = handlersWith(50_000);
    const purgeJob = randomUUID();
    const payload = { entity: 'documents', olderThanDays: 0, maxRows: 300, batchSize: 100 };
    await handedBackAfterFirstBatch('purge_expired', payload, purgeJob);
    const again = await handlers.purge_expired!(payload, contextOf(purgeJob, 1));
    expect(again.detail).to.include({ earlier_attempts: 100 });
    expect(again.count, 'the rest of the budget of 300').to.equal(200);
    await t.db.exec('DELETE FROM documents');

    const { customer } = await makeFamily(t.db);
    const docs = await makeDocuments(t.db, 2500, customer);
    const deleted = await new SoftDeleteService(t.db).softDelete('documents', { ids: docs });
    const restoreJob = randomUUID();
    const restore = { entity: 'documents', filter: { delete_op_id: deleted.opId } };
    await handedBackAfterFirstBatch('bulk_restore', restore, restoreJob);
    const rest = await handlers.bulk_restore!(restore, contextOf(restoreJob, 1, 'bulk_restore'));
    expect(rest.count).to.equal(1500);
    expect(rest.detail).to.include({ earlier_attempts: 1000 });
    await t.db.exec('DELETE FROM documents');
  });

  it('names every row the earlier attempts of an archive job moved, the children that went with them included', async () => {
    const { customer, orders, items } = await makeFamily(t.db, { orders: 300, items: 2 });
    for (const [table, ids] of [
      ['orders', orders],
      ['order_items', items],
    ] as const) {
      await t.db.query(`UPDATE ${table} SET deleted_at = now() WHERE id = ANY($1::bigint[])`, [ids]);
      await backdate(t.db, table, ids, 400);
    }
    const jobId = randomUUID();
    const payload = { entity: 'orders', olderThanDays: 0, batchSize: 100 };
    await handedBackAfterFirstBatch('archive_entity', payload, jobId);
    const again = await handlersWith(50_000).archive_entity!(payload, contextOf(jobId, 1, 'archive_entity'));
    expect(again.count, 'the other 200 orders and their 400 items').to.equal(600);
    // Before: 100, the first batch's orders without the 200 items that went with them (a probe's
    // killed archive job said 9,950 where it had moved 18,848 rows).
    expect(again.detail).to.include({ earlier_attempts: 300 });
    await t.db.query('DELETE FROM customers WHERE id = $1', [customer]);
    await t.db.exec('DELETE FROM order_items_archive; DELETE FROM orders_archive');
  });
});
