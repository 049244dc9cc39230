import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { builtinHandlers, type CleanupQueue } from '../../../src/cleanup/index.ts';
import type { JobContext } from '../../../src/cleanup/handlers-types.ts';
import { configureLogging, getLogger } from '../../../src/observability/index.ts';
import { SoftDeleteService } from '../../../src/soft-delete/index.ts';
import { makeDocuments, makeFamily, openTestDb, type TestDb } from '../soft-delete/support.ts';

/**
 * A bulk_soft_delete job enqueued by hand carries no opId. Each attempt made up its own, so a first
 * attempt that died half-way and its retry left two operations on the rows of one job (a probe:
 * 26,600 and 33,400 rows of one filter under two delete_op_ids), and restoring "everything one
 * delete took" by op id restored part of it.
 */
describe('a bulk delete job without an opId is one operation across its attempts (PostgreSQL)', function () {
  this.timeout(60_000);
  let t: TestDb;

  before(async () => {
    configureLogging({ level: 'warn', console: 'stderr' });
    t = await openTestDb('postgres');
  });
  after(async () => {
    await t?.close();
  });

  const contextOf = (jobId: string, attempt: number): JobContext => ({
    jobId,
    jobType: 'bulk_soft_delete',
    attempt,
    signal: new AbortController().signal,
    queue: { db: t.db } as unknown as CleanupQueue,
    log: getLogger('cleanup.worker'),
  });

  it('stamps every row it deletes, on the failed attempt and on the retry, with its job id', async () => {
    const { customer } = await makeFamily(t.db);
    const ids = await makeDocuments(t.db, 2500, customer);
    // A filter runs in batches of 1,000 (the service's default); the first attempt fails in its third,
    // after the first two committed.
    await t.db.exec(`
      CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure'; END $$;
      CREATE TRIGGER fail_once BEFORE UPDATE ON documents FOR EACH ROW
        WHEN (OLD.id = ${Number(ids[2200])}) EXECUTE FUNCTION fail_once();`);
    const handlers = builtinHandlers(new SoftDeleteService(t.db), {
      archiveAfterDays: 30,
      batchSize: 100,
      maxRowsPerJob: 50_000,
    });
    const jobId = randomUUID();
    const payload = { entity: 'documents', filter: { owner_customer_id: customer }, reason: 'by hand' };

    const failed = await handlers.bulk_soft_delete!(payload, contextOf(jobId, 1)).then(
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
    await handlers.bulk_soft_delete!(payload, contextOf(jobId, 2));

    const { rows } = await t.db.query<{ op: string | null; n: number }>(
      `SELECT delete_op_id::text AS op, count(*)::int AS n FROM documents
        WHERE id = ANY($1::bigint[]) GROUP BY 1`,
      [ids],
    );
    expect(rows).to.deep.equal([{ op: jobId, n: 2500 }]);
  });
});
