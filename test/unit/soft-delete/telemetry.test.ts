import { expect } from 'chai';
import type { DataPoint, Histogram, MetricData } from '@opentelemetry/sdk-metrics';
import { type Database, databaseError, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { defineAttributeValues } from '../../../src/observability/index.ts';
import { entityNames, SoftDeleteService } from '../../../src/soft-delete/index.ts';
import { type InMemoryTelemetry, startInMemoryTelemetry } from '../observability/harness.ts';

function points(metric: MetricData | undefined): DataPoint<number | Histogram>[] {
  return (metric?.dataPoints ?? []) as DataPoint<number | Histogram>[];
}

function counter(metrics: Map<string, MetricData>, attrs: Record<string, string>): number {
  return points(metrics.get('soft_delete.operations.total'))
    .filter((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v))
    .reduce((sum, p) => sum + (p.value as number), 0);
}

function histogramCount(
  metrics: Map<string, MetricData>,
  name: string,
  attrs: Record<string, string>,
): number {
  return points(metrics.get(name))
    .filter((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v))
    .reduce((n, p) => n + (p.value as Histogram).count, 0);
}

/** Runs a delete that must fail; returns its row-counter change per status (documents, delete). */
async function failedDelete(
  t: InMemoryTelemetry,
  call: () => Promise<unknown>,
): Promise<(status: string) => number> {
  const before = await t.metrics();
  const failed = await call().then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failed, 'the call fails').to.be.instanceOf(Error);
  const after = await t.metrics();
  return (status) =>
    counter(after, { entity: 'documents', operation: 'delete', status }) -
    counter(before, { entity: 'documents', operation: 'delete', status });
}

describe('soft-delete core telemetry', function () {
  this.timeout(60_000);
  let db: Database;
  let sd: SoftDeleteService;
  let t: InMemoryTelemetry;

  before(async () => {
    t = await startInMemoryTelemetry();
    defineAttributeValues({ entity: entityNames() });
    db = await openDatabase({ memory: true });
    await migrateSchema(db);
    await db.exec(`INSERT INTO documents (title, body) SELECT 'doc ' || g, 'b' FROM generate_series(1, 2500) g;
      INSERT INTO customers (email, name) VALUES ('a@example.com', 'A');
      INSERT INTO orders (customer_id, status, total_cents) SELECT id, 'paid', 100 FROM customers;`);
    sd = new SoftDeleteService(db);
  });

  after(async () => {
    await db?.close();
    await t?.telemetry.shutdown();
  });

  it('counts exactly the rows each operation reports, by entity, operation and status', async () => {
    const before = await t.metrics();
    const bulk = await sd.softDelete('documents', { ids: ['1', '2', '3', '999999'] }, { reason: 'test' });
    const again = await sd.softDelete('documents', { id: '1' });
    const after = await t.metrics();
    const delta = (status: string) =>
      counter(after, { entity: 'documents', operation: 'delete', status }) -
      counter(before, { entity: 'documents', operation: 'delete', status });
    expect(delta('success')).to.equal(bulk.counts.success).and.to.equal(3);
    expect(delta('failure')).to.equal(bulk.counts.failure).and.to.equal(1);
    expect(delta('noop')).to.equal(again.counts.noop).and.to.equal(1);
  });

  it('records nothing for refused input: no row counted, no call, no span, since nothing was attempted', async () => {
    const before = await t.metrics();
    const spansBefore = (await t.spans()).length;
    const calls = (m: Map<string, MetricData>) =>
      points(m.get('soft_delete.operations.duration_seconds')).reduce(
        (n, p) => n + (p.value as Histogram).count,
        0,
      );
    for (const refused of [
      sd.softDelete('customers', { id: 'abc' }),
      sd.softDelete('documents', { filter: { no_such_column: 'x' } }),
      sd.restore('orders', { ids: ['1', 'x'] }),
      sd.purge('documents', { batchSize: 0 }),
      sd.archive('documents', { olderThanDays: -1 }),
    ]) {
      await refused.then(
        () => expect.fail('the input should have been refused'),
        (error: unknown) => expect((error as { kind?: string }).kind).to.equal('invalid_input'),
      );
    }
    const after = await t.metrics();
    expect(counter(after, { status: 'failure' })).to.equal(counter(before, { status: 'failure' }));
    expect(calls(after)).to.equal(calls(before));
    expect((await t.spans()).length).to.equal(spansBefore);
  });

  it('records one duration per call with the unit s and the call outcome as status', async () => {
    await sd.restore('documents', { id: '2' });
    const histogram = (await t.metrics()).get('soft_delete.operations.duration_seconds');
    expect(histogram?.descriptor.unit).to.equal('s');
    const restore = points(histogram).find(
      (p) => p.attributes.operation === 'restore' && p.attributes.status === 'success',
    );
    expect(restore, 'a restore/success data point').to.exist;
    expect((restore!.value as Histogram).count).to.equal(1);
  });

  it('gives a call that had nothing to change the status noop, not success', async () => {
    // Nothing in this database was ever deleted, so no customer is past any retention.
    const result = await sd.purge('customers', { olderThanDays: 36_500 });
    expect(result.counts).to.deep.equal({ success: 0, noop: 0, failure: 0 });
    const span = (await t.spans()).filter((s) => s.name === 'soft_delete.purge').at(-1);
    expect(span?.attributes).to.include({ entity: 'customers', status: 'noop', count: 0 });
    const calls = points((await t.metrics()).get('soft_delete.operations.duration_seconds')).filter(
      (p) => p.attributes.entity === 'customers' && p.attributes.operation === 'purge',
    );
    expect(calls.map((p) => p.attributes.status)).to.deep.equal(['noop']);
  });

  it('wraps a bulk operation in soft_delete.bulk with one soft_delete.batch child per batch', async () => {
    const ids = Array.from({ length: 2000 }, (_, i) => String(i + 100));
    const result = await sd.softDelete('documents', { ids }, { batchSize: 500 });
    const spans = await t.spans();
    const bulk = spans.filter((s) => s.name === 'soft_delete.bulk').at(-1)!;
    expect(bulk.attributes).to.include({
      entity: 'documents',
      operation: 'delete',
      status: 'success',
      count: 2000,
    });
    const batches = spans.filter(
      (s) => s.name === 'soft_delete.batch' && s.parentSpanContext?.spanId === bulk.spanContext().spanId,
    );
    expect(batches).to.have.length(result.batches).and.to.have.length(4);
    expect(batches[0]!.attributes['batch.size']).to.equal(500);
    expect(batches.map((b) => b.attributes.status)).to.deep.equal([
      'success',
      'success',
      'success',
      'success',
    ]);
  });

  it('names single-row calls soft_delete.<operation> and retention calls purge/archive', async () => {
    await sd.softDelete('customers', { id: '1' });
    await sd.archive('orders', { olderThanDays: 0 });
    await sd.purge('documents', { olderThanDays: 0 });
    const names = new Set((await t.spans()).map((s) => s.name));
    for (const name of [
      'soft_delete.delete',
      'soft_delete.restore',
      'soft_delete.archive',
      'soft_delete.purge',
    ]) {
      expect(names, name).to.include(name);
    }
  });

  it('writes one log line per call carrying the trace and span ids of its operation span', async () => {
    await sd.softDelete('documents', { id: '50' }, { reason: 'log test' });
    const span = (await t.spans()).filter((s) => s.name === 'soft_delete.delete').at(-1)!;
    const record = t.console
      .records()
      .filter((r) => r.message === 'soft_delete operation')
      .at(-1)!;
    expect(record).to.include({ entity: 'documents', count: 1, status: 'success' });
    expect(record.trace_id).to.equal(span.spanContext().traceId);
    expect(record.span_id).to.equal(span.spanContext().spanId);
    expect(record.duration).to.be.a('number');
  });

  it('records a failed call when a single id does not exist, and rethrows', async () => {
    const before = counter(await t.metrics(), {
      entity: 'documents',
      operation: 'delete',
      status: 'failure',
    });
    let error: unknown;
    try {
      await sd.softDelete('documents', { id: '8888888' });
    } catch (e) {
      error = e;
    }
    expect((error as { code?: string }).code).to.equal('not_found');
    const after = counter(await t.metrics(), { entity: 'documents', operation: 'delete', status: 'failure' });
    expect(after - before).to.equal(1);
    // The caller's answer: an info line with the error, so a CLI's console (warn and up) shows only
    // its one error line (it printed a warning beside it that said the same).
    const line = (await t.consoleRecords())
      .filter((r) => r.message === 'soft_delete operation failed')
      .at(-1);
    expect(line).to.include({ level: 'info', status: 'failure' });
    expect(line?.error).to.include({ code: 'not_found' });
  });

  it('counts no failed row for a single-row call that could not reach the database, only the failed call', async () => {
    const unreachable = () =>
      Promise.reject(
        databaseError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
      );
    const down: Database = { ...db, query: unreachable, exec: unreachable, transaction: unreachable };
    const rows = async () =>
      counter(await t.metrics(), { entity: 'documents', operation: 'delete', status: 'failure' });
    const calls = async () =>
      histogramCount(await t.metrics(), 'soft_delete.operations.duration_seconds', {
        entity: 'documents',
        operation: 'delete',
        status: 'failure',
      });
    const [rowsBefore, callsBefore] = [await rows(), await calls()];
    const error = await new SoftDeleteService(down)
      .softDelete('documents', { id: '1' })
      .catch((e: unknown) => e);
    expect((error as { code?: string }).code).to.equal('database_unavailable');
    const line = (await t.consoleRecords())
      .filter((r) => r.message === 'soft_delete operation failed')
      .at(-1);
    expect(line, 'a database that is down stays a warning').to.include({ level: 'warn' });
    // Before: one failed row per 503, so an outage looked like rows the data refused.
    expect((await rows()) - rowsBefore).to.equal(0);
    expect((await calls()) - callsBefore).to.equal(1);
  });

  it('counts the rows of the batches a failed bulk call committed before it failed, so the counter matches the tables', async () => {
    const { rows: fresh } = await db.query<{ id: string }>(
      `INSERT INTO documents (title, body) SELECT 'refused ' || g, 'b' FROM generate_series(1, 30) g RETURNING id::text AS id`,
    );
    const ids = fresh.map((r) => r.id);
    // Another team's rule refuses one row: the third batch of ten fails, the first two stay.
    await db.exec(`CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN IF NEW.id = ${Number(ids[24])} AND NEW.deleted_at IS NOT NULL THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse_one BEFORE UPDATE ON documents FOR EACH ROW EXECUTE FUNCTION refuse_one();`);
    try {
      const delta = await failedDelete(t, () => sd.softDelete('documents', { ids }, { batchSize: 10 }));
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM documents WHERE id = ANY($1::bigint[]) AND deleted_at IS NOT NULL',
        [ids],
      );
      expect(rows[0]!.n).to.equal(20);
      // Before, a failed call counted no row at all, whatever its committed batches had changed.
      expect(delta('success')).to.equal(20);
      expect(delta('failure')).to.equal(0);
      // What the batches committed, on the line and the span as for a call that succeeds: the
      // failure path left out the batch count and batch.size, where they are read first.
      const line = (await t.consoleRecords())
        .filter((r) => r.message === 'soft_delete operation failed')
        .at(-1);
      expect(line).to.include({ status: 'failure', count: 20, noop: 0, failure: 0, batches: 2 });
      const spans = await t.spans();
      const span = spans.filter((s) => s.name === 'soft_delete.bulk').at(-1);
      expect(span?.attributes).to.include({ status: 'failure', count: 20, 'batch.size': 10 });
      const batches = spans.filter((s) => s.parentSpanContext?.spanId === span?.spanContext().spanId);
      expect(batches.map((b) => b.attributes.status)).to.deep.equal(['success', 'success', 'failure']);
    } finally {
      await db.exec('DROP TRIGGER refuse_one ON documents; DROP FUNCTION refuse_one();');
    }
  });

  it("counts none of a failed filter batch's rows, not even those already deleted (noop)", async () => {
    // Ten rows one filter selects (no owner: the live-title key does not apply); 4 deleted already.
    const { rows: fresh } = await db.query<{ id: string }>(
      `INSERT INTO documents (title, body) SELECT 'noop-page', 'b' FROM generate_series(1, 10) RETURNING id::text AS id`,
    );
    const ids = fresh.map((r) => r.id);
    await sd.softDelete('documents', { ids: ids.slice(0, 4) });
    // A rule refuses one of the other 6: the page's batch fails.
    await db.exec(`CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN IF NEW.id = ${Number(ids[7])} AND NEW.deleted_at IS NOT NULL THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse_one BEFORE UPDATE ON documents FOR EACH ROW EXECUTE FUNCTION refuse_one();`);
    try {
      const delta = await failedDelete(t, () =>
        sd.softDelete('documents', { filter: { title: 'noop-page' } }, { batchSize: 10 }),
      );
      // Before: the failed page's 4 rows already deleted were counted noop, once per attempt.
      expect([delta('success'), delta('noop'), delta('failure')]).to.deep.equal([0, 0, 0]);
    } finally {
      await db.exec('DROP TRIGGER refuse_one ON documents; DROP FUNCTION refuse_one();');
    }
  });

  it("records a call its caller's signal cut short inside a batch as stopped after its committed batches, not as a failed call", async () => {
    const { rows: fresh } = await db.query<{ id: string }>(
      `INSERT INTO documents (title, body) SELECT 'stopped ' || g, 'b' FROM generate_series(1, 30) g RETURNING id::text AS id`,
    );
    const ids = fresh.map((r) => r.id);
    // A worker's shutdown in the second batch: its wait for the database ends with the signal's reason.
    const stop = new AbortController();
    const shutdown = Object.assign(new Error('the worker shut down before the job finished'), {
      code: 'worker_shutdown',
    });
    let batches = 0;
    const before = await t.metrics();
    const delta = await failedDelete(t, () =>
      sd.softDelete(
        'documents',
        { ids },
        {
          batchSize: 10,
          signal: stop.signal,
          inBatch: async () => {
            batches += 1;
            if (batches < 2) return;
            stop.abort(shutdown);
            throw shutdown;
          },
        },
      ),
    );
    const after = await t.metrics();
    expect([delta('success'), delta('failure')]).to.deep.equal([10, 0]);
    const calls = (status: string) =>
      histogramCount(after, 'soft_delete.operations.duration_seconds', { entity: 'documents', status }) -
      histogramCount(before, 'soft_delete.operations.duration_seconds', { entity: 'documents', status });
    // Before, every deploy with a bulk job in flight added a failed call to the error-rate panel.
    expect([calls('success'), calls('failure')]).to.deep.equal([1, 0]);
    const records = await t.consoleRecords();
    const line = records.filter((r) => r.message === 'soft_delete operation interrupted').at(-1);
    expect(line).to.include({ level: 'info', status: 'success', count: 10, batches: 1 });
    expect(records.filter((r) => r.run_id === line?.run_id).map((r) => r.message)).to.deep.equal([
      'soft_delete operation interrupted',
    ]);
    const span = (await t.spans()).find(
      (s) => s.name === 'soft_delete.bulk' && s.attributes.run_id === line?.run_id,
    );
    expect(span?.attributes).to.include({ status: 'success', count: 10 });
    expect(span?.status.code, 'the span ends as the call did, not as an error').to.not.equal(2);
  });

  it('still records a failed call when a batch fails for its own reason after the signal was aborted', async () => {
    const { rows: fresh } = await db.query<{ id: string }>(
      `INSERT INTO documents (title, body) SELECT 'stopped-too-late ' || g, 'b' FROM generate_series(1, 5) g RETURNING id::text AS id`,
    );
    const stop = new AbortController();
    stop.abort(new Error('stop'));
    const delta = await failedDelete(t, () =>
      sd.softDelete(
        'documents',
        { ids: fresh.map((r) => r.id) },
        {
          signal: stop.signal,
          inBatch: async () => {
            throw new Error('a trigger refused the batch');
          },
        },
      ),
    );
    expect(delta('failure')).to.equal(0);
    const line = (await t.consoleRecords()).at(-1);
    expect(line).to.include({ message: 'soft_delete operation failed', level: 'warn', status: 'failure' });
  });

  it("counts a batched call's rows as each batch commits, so a process killed in a long call loses only its last export's", async () => {
    const { rows: fresh } = await db.query<{ id: string }>(
      `INSERT INTO documents (title, body) SELECT 'per-batch ' || g, 'b' FROM generate_series(1, 30) g RETURNING id::text AS id`,
    );
    const success = async () =>
      counter(await t.metrics(), { entity: 'documents', operation: 'delete', status: 'success' });
    const before = await success();
    const seen: number[] = [];
    await sd.softDelete(
      'documents',
      { ids: fresh.map((r) => r.id) },
      {
        batchSize: 10,
        // In each batch's transaction: what the counter holds before this batch commits.
        inBatch: async () => {
          seen.push((await success()) - before);
        },
      },
    );
    // Before, nothing until the call's end: [0, 0, 0].
    expect(seen).to.deep.equal([0, 10, 20]);
    expect((await success()) - before).to.equal(30);
  });

  it('counts a page with nothing to do once when a filter call stopped after it is resumed from its last position', async () => {
    // Pages of 4: the first to delete, the second deleted before (noop), the third to delete.
    const { rows: fresh } = await db.query<{ id: string }>(
      `INSERT INTO documents (title, body) SELECT 'resume-noop', 'b' FROM generate_series(1, 12) RETURNING id::text AS id`,
    );
    const ids = fresh.map((r) => r.id);
    await sd.softDelete('documents', { ids: ids.slice(4, 8) });
    const noop = async () =>
      counter(await t.metrics(), { entity: 'documents', operation: 'delete', status: 'noop' });
    const before = await noop();
    const positions: (string | undefined)[] = [];
    const stop = new AbortController();
    const handedBack = new Error('handed back');
    // A hand-back cuts the third page's batch short: the resume goes on after the first page.
    await sd
      .softDelete(
        'documents',
        { filter: { title: 'resume-noop' } },
        {
          batchSize: 4,
          signal: stop.signal,
          inBatch: async (_tx, _rows, at) => {
            positions.push(at);
            if (positions.length === 2) {
              stop.abort(handedBack);
              throw handedBack;
            }
          },
        },
      )
      .catch((e: unknown) => expect(e).to.equal(handedBack));
    expect(positions[0]).to.equal(ids[3]);
    const resumed = await sd.softDelete(
      'documents',
      { filter: { title: 'resume-noop' } },
      { batchSize: 4, resumeAfter: ids[3]!, inBatch: async () => {} },
    );
    expect(resumed.counts).to.deep.equal({ success: 4, noop: 4, failure: 0 });
    // Before: the second page counted by the stopped call and again by its resume (8).
    expect((await noop()) - before).to.equal(4);
  });

  it('counts rows a cascade changed under their own entity, so the counter matches the tables', async () => {
    const { rows } = await db.query<{ id: string }>(
      `WITH c AS (INSERT INTO customers (email, name) VALUES ('cascade@example.com', 'C') RETURNING id),
            o AS (INSERT INTO orders (customer_id, status, total_cents) SELECT id, 'paid', 1 FROM c, generate_series(1, 2) RETURNING id)
       SELECT id::text FROM c`,
    );
    const before = await t.metrics();
    const deleted = await sd.softDelete('customers', { ids: [rows[0]!.id] });
    const after = await t.metrics();
    const delta = (entity: string) =>
      counter(after, { entity, operation: 'delete', status: 'success' }) -
      counter(before, { entity, operation: 'delete', status: 'success' });
    expect(deleted.cascaded.orders).to.equal(2);
    expect(delta('customers')).to.equal(1);
    expect(delta('orders')).to.equal(2);
  });

  it('gives a bulk call a run_id of its own on its span, its batches, its log line and its result', async () => {
    const result = await sd.softDelete('documents', { ids: ['2300', '2301', '2302'] }, { batchSize: 2 });
    expect(result.runId).to.match(/^[0-9a-f-]{36}$/);
    const spans = await t.spans();
    const bulk = spans.find((s) => s.name === 'soft_delete.bulk' && s.attributes.run_id === result.runId)!;
    expect(bulk.attributes['batch.size']).to.equal(2);
    const batches = spans.filter((s) => s.parentSpanContext?.spanId === bulk.spanContext().spanId);
    expect(batches.map((b) => b.attributes.run_id)).to.deep.equal([result.runId, result.runId]);
    const line = (await t.consoleRecords()).find((r) => r.run_id === result.runId);
    expect(line).to.include({ entity: 'documents', count: 3 });
  });

  it('gives a single-row call no run_id: nothing of it needs following across batches', async () => {
    const result = await sd.softDelete('documents', { id: '2400' });
    expect(result).not.to.have.property('runId');
    const span = (await t.spans()).filter((s) => s.name === 'soft_delete.delete').at(-1)!;
    expect(span.attributes).not.to.have.property('run_id');
  });
});
