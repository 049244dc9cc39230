import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import { expect } from 'chai';
import type { Database } from '../../../src/db/index.ts';
import { MigrationRunner } from '../../../src/migration/index.ts';
import { RunStateError } from '../../../src/migration/errors.ts';
import {
  type InMemoryTelemetry,
  startInMemoryTelemetry,
  uncataloguedAttributes,
} from '../../unit/observability/harness.ts';
import {
  type MigrationTestDb,
  openMigrationTestDb,
  recordBackfillSource,
  scalar,
  seedDocuments,
  tableChecksum,
} from './support.ts';
import { losingCommitReplies } from '../../support/lost-commit.ts';
import { waitUntil } from '../../support/wait.ts';

const FAST = {
  heartbeatIntervalMs: 50,
  leaseTimeoutMs: 500,
  retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 4 },
};

function counterValue(metrics: Map<string, MetricData>, name: string, attrs: Record<string, string>): number {
  const points = metrics.get(name)?.dataPoints ?? [];
  return points
    .filter((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v))
    .reduce((n, p) => n + (p.value as number), 0);
}

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

const attr = (r: ReadableLogRecord, key: string) => (r.attributes as Record<string, unknown>)[key];

describe('MigrationRunner in process (real PostgreSQL, in-memory telemetry)', function () {
  this.timeout(30_000);
  let t: MigrationTestDb;
  let tel: InMemoryTelemetry;

  before(async () => {
    tel = await startInMemoryTelemetry({ console: 'none' });
    t = await openMigrationTestDb();
    await seedDocuments(t.db, { legacy: 8_000, deleted: 1_000, live: 1_000 });
    await recordBackfillSource(t.db);
  });
  after(async () => {
    await t?.close();
    await tel?.telemetry.shutdown();
  });

  it('a batch that keeps failing is recorded with its range, the run ends partially_failed, and retry-failed completes it', async () => {
    const failing = new MigrationRunner(t.db, {
      ...FAST,
      faults: [{ migration: 'backfill-deleted-at', batchNo: 2 }],
    });
    const handle = await failing.start('backfill-deleted-at', {
      batchSize: 1_000,
      params: { entities: 'documents' },
    });
    const first = await handle.done;
    expect(first).to.include({
      state: 'partially_failed',
      batchesFailed: 1,
      rowsFailed: 1_000,
      rowsProcessed: 7_000,
    });
    // A batch that finally failed counts its planned rows as failed, once, however many attempts it took.
    const failureRows = () =>
      tel.metrics().then((m) =>
        counterValue(m, 'migration.rows_processed', {
          migration: 'backfill-deleted-at',
          status: 'failure',
        }),
      );
    expect(await failureRows()).to.equal(1_000);
    expect(await scalar(t.db, 'SELECT sum(rows_failed) AS v FROM sdops_migration_runs')).to.equal('1000');
    const [failed] = await failing.batches(handle.runId, { status: 'failed' });
    expect(failed).to.include({ batchNo: 2, entity: 'documents', rows: 1_000, attempts: 3 });
    expect(failed?.error).to.contain('injected failure');
    // The failed range really was left alone, and nothing else was.
    const pendingInRange = await scalar(
      t.db,
      'SELECT count(*) AS v FROM documents WHERE is_deleted AND deleted_at IS NULL AND id > $1 AND id <= $2',
      [failed?.keyFrom, failed?.keyTo],
    );
    expect(pendingInRange).to.equal('1000');
    expect(await scalar(t.db, 'SELECT count(*) AS v FROM touches')).to.equal('7000');

    const fixed = await new MigrationRunner(t.db, FAST).retryFailed(handle.runId);
    const second = await fixed.done;
    expect(second).to.include({ state: 'succeeded', batchesFailed: 0, rowsFailed: 0, rowsProcessed: 8_000 });
    expect(await scalar(t.db, 'SELECT count(DISTINCT id) AS v FROM touches')).to.equal('8000');
    expect(await scalar(t.db, 'SELECT count(*) AS v FROM touches')).to.equal('8000');
    expect(await rejection(new MigrationRunner(t.db, FAST).retryFailed(handle.runId))).to.be.instanceOf(
      RunStateError,
    );

    // Counters and logs tell the same story as the run record.
    const metrics = await tel.metrics();
    expect(counterValue(metrics, 'migration.run.failure', { migration: 'backfill-deleted-at' })).to.equal(1);
    expect(counterValue(metrics, 'migration.run.success', { migration: 'backfill-deleted-at' })).to.equal(1);
    expect(
      counterValue(metrics, 'migration.rows_processed', {
        migration: 'backfill-deleted-at',
        status: 'success',
      }),
    ).to.equal(8_000);
    // Reprocessed rows count as success; the earlier failure stays counted (a counter never goes down).
    expect(await failureRows()).to.equal(1_000);
    const logs = (await tel.logs()).filter((r) => attr(r, 'run_id') === handle.runId);
    const failedLogs = logs.filter((r) => r.body === 'migration batch failed; recorded and skipped');
    expect(failedLogs).to.have.length(1);
    expect(attr(failedLogs[0] as ReadableLogRecord, 'cursor_to')).to.equal(failed?.keyTo);
    // status is the closed outcome set; the run state is the record's own field.
    const ends = logs.filter((r) => r.body === 'migration ended');
    expect(ends.map((r) => attr(r, 'status'))).to.deep.equal(['failure', 'success']);
    expect(ends.map((r) => attr(r, 'state'))).to.deep.equal(['partially_failed', 'succeeded']);
    // count is rows affected by each session, so the sessions' lines add up to the run (they said the
    // run's total each: 7,000 + 8,000); the run's entities are a list, not an "entity" of commas.
    expect(ends.map((r) => [attr(r, 'count'), attr(r, 'rows_processed')])).to.deep.equal([
      [7_000, 7_000],
      [1_000, 8_000],
    ]);
    expect(ends.map((r) => [attr(r, 'entity'), attr(r, 'entities')])).to.deep.equal([
      [undefined, ['documents']],
      [undefined, ['documents']],
    ]);
    const starts = logs.filter((r) => /^migration (start|retry-failed)$/.test(String(r.body)));
    expect(starts.map((r) => [attr(r, 'count'), attr(r, 'rows_estimate')])).to.deep.equal([
      [undefined, 8_000],
      [undefined, 8_000],
    ]);
    // The spans say the same: a failing attempt's range, and the partially_failed run as an error.
    const spans = (await tel.spans()).filter((s) => s.attributes.run_id === handle.runId);
    const failedAttempts = spans.filter(
      (s) => s.name === 'migration.batch' && s.attributes.status === 'failure',
    );
    expect(failedAttempts.map((s) => s.attributes['cursor.to'])).to.deep.equal([
      failed?.keyTo,
      failed?.keyTo,
      failed?.keyTo,
    ]);
    const runs = spans.filter((s) => s.name === 'migration.run');
    expect(runs.map((s) => [s.attributes['migration.state'], s.status.code])).to.deep.equal([
      ['partially_failed', 2],
      ['succeeded', 1],
    ]);
  });

  it("a retry-failed session's line names the entity of its first failed batch, not the one the scan ended on", async () => {
    await t.db.query(
      `INSERT INTO customers (email, name, is_deleted) SELECT 'retry-entity-' || g || '@example.com', 'T', true
         FROM generate_series(1, 250) g`,
    );
    await t.db.query(
      "UPDATE documents SET deleted_at = NULL, delete_reason = NULL WHERE delete_reason = 'legacy'",
    );
    const failing = new MigrationRunner(t.db, {
      ...FAST,
      faults: [{ migration: 'backfill-deleted-at', batchNo: 1 }],
    });
    const handle = await failing.start('backfill-deleted-at', {
      batchSize: 100,
      params: { entities: 'customers,documents' },
    });
    expect(await handle.done).to.include({ state: 'partially_failed', batchesFailed: 1 });
    expect((await failing.batches(handle.runId, { status: 'failed' }))[0]).to.include({
      entity: 'customers',
    });
    const second = await (await new MigrationRunner(t.db, FAST).retryFailed(handle.runId)).done;
    expect(second.state).to.equal('succeeded');
    const starts = (await tel.logs()).filter(
      (r) => attr(r, 'run_id') === handle.runId && /^migration (start|retry-failed)$/.test(String(r.body)),
    );
    // Before: the retry-failed line said documents, where the scan had ended; its one failed batch is a customers one.
    expect(starts.map((r) => [r.body, attr(r, 'entity')])).to.deep.equal([
      ['migration start', 'customers'],
      ['migration retry-failed', 'customers'],
    ]);
  });

  it('spans, metrics and logs of a run share its run_id; a resumed session is a new trace linked to the previous one', async () => {
    await t.db.query(
      "UPDATE documents SET deleted_at = NULL, delete_reason = NULL WHERE delete_reason = 'legacy'",
    );
    const runner = new MigrationRunner(t.db, FAST);
    const handle = await runner.start(
      'backfill-deleted-at',
      { batchSize: 500, params: { entities: ['documents'] } },
      { onProgress: (e) => e.processed >= 2_000 && handle.stop() },
    );
    const stopped = await handle.done;
    expect(stopped.state).to.equal('stopped');
    const resumed = await (await runner.resume(handle.runId)).done;
    expect(resumed.state).to.equal('succeeded');
    expect(resumed.traceId).to.not.equal(stopped.traceId);

    const spans = (await tel.spans()).filter((s) => s.attributes.run_id === handle.runId);
    const roots = spans.filter((s) => s.name === 'migration.run');
    expect(roots.map((s) => s.spanContext().traceId)).to.deep.equal([stopped.traceId, resumed.traceId]);
    expect(roots[0]?.attributes.dry_run).to.equal(false);
    const [firstRoot, secondRoot] = roots;
    expect(secondRoot?.links.map((l) => l.context.spanId)).to.deep.equal([firstRoot?.spanContext().spanId]);
    // Span status is the closed set the span-metrics label takes; the run's state has its own key.
    expect(roots.map((s) => [s.attributes.status, s.attributes['migration.state']])).to.deep.equal([
      ['success', 'stopped'],
      ['success', 'succeeded'],
    ]);
    const allBatches = spans.filter((s) => s.name === 'migration.batch');
    expect(new Set(allBatches.map((s) => s.attributes.status))).to.deep.equal(new Set(['success', 'noop']));
    expect(new Set(allBatches.map((s) => s.attributes['migration.batch.result']))).to.deep.equal(
      new Set(['committed', 'exhausted']),
    );
    const batches = spans.filter((s) => s.name === 'migration.batch' && s.attributes.count !== 0);
    expect(batches.length).to.equal(16);
    for (const b of batches) {
      const root = roots.find((r) => r.spanContext().traceId === b.spanContext().traceId);
      expect(b.parentSpanContext?.spanId).to.equal(root?.spanContext().spanId);
      expect(b.attributes).to.include.keys('cursor.from', 'cursor.to', 'attempt');
    }
    const run = await runner.get(handle.runId);
    expect(run.traceId).to.equal(resumed.traceId);
    // migration.mode, migration.session, cursor.from ... were set but missing from the catalog.
    expect(uncataloguedAttributes(spans)).to.deep.equal([]);

    const batchLogs = (await tel.logs()).filter(
      (r) => attr(r, 'run_id') === handle.runId && r.body === 'migration batch committed',
    );
    expect(batchLogs.length).to.equal(16);
    for (const log of batchLogs) {
      const span = batches.find((b) => b.spanContext().spanId === log.spanContext?.spanId);
      expect(span, 'every batch log is emitted inside its batch span').to.not.equal(undefined);
      expect(log.spanContext?.traceId).to.equal(span?.spanContext().traceId);
    }
    // Every line of a run that writes says so, as its spans do: was only its start lines.
    const runLines = (await tel.logs()).filter((r) => attr(r, 'run_id') === handle.runId);
    expect(new Set(runLines.map((r) => r.body))).to.include.keys('migration start', 'migration ended');
    expect(runLines.filter((r) => r.attributes.dry_run !== false).map((r) => r.body)).to.deep.equal([]);
  });

  it('refuses to resume or retry a run another release started, and leaves it as it was', async () => {
    const runs = [
      [
        '11111111-1111-4111-8111-000000000001',
        'backfill-deleted-at',
        99,
        '{}',
        /version 99 of backfill-deleted-at; this release has version 1/,
      ],
      [
        '11111111-1111-4111-8111-000000000002',
        'future-migration',
        1,
        '{}',
        /migration future-migration, which this release does not have/,
      ],
      [
        '11111111-1111-4111-8111-000000000003',
        'backfill-deleted-at',
        1,
        '{"entities":"nope"}',
        /params this release's backfill-deleted-at does not take/,
      ],
    ] as const;
    for (const [runId, migration, version, params] of runs) {
      await t.db.query(
        `INSERT INTO sdops_migration_runs (run_id, migration, migration_version, state, batch_size, max_failed_batches, params, batches_failed)
         VALUES ($1, $2, $3, 'stopped', 100, 10, $4::jsonb, 1)`,
        [runId, migration, version, params],
      );
    }
    const runRows = () =>
      scalar(t.db, `SELECT md5(string_agg(r::text, ',' ORDER BY run_id)) AS v FROM sdops_migration_runs r`);
    const before = await runRows();
    const documents = await tableChecksum(t.db, 'documents');
    const runner = new MigrationRunner(t.db, FAST);
    for (const [runId, , , , said] of runs) {
      // Before: a resume ran this release's logic on the run (exit 0, rows changed), or refused an
      // unknown migration as bad input (exit 2 / 400) after taking the lease.
      for (const attempt of [() => runner.resume(runId), () => runner.retryFailed(runId)]) {
        const error = (await rejection(attempt())) as { code?: string; kind?: string; message?: string };
        expect(error, runId).to.include({ code: 'run_other_release', kind: 'conflict' });
        expect(error.message).to.match(said);
      }
    }
    expect(await runRows()).to.equal(before);
    expect(await tableChecksum(t.db, 'documents')).to.equal(documents);
    await t.db.query('DELETE FROM sdops_migration_runs WHERE run_id::text LIKE $1', ['11111111-%']);
  });

  it('a CLI start whose run was created but whose answer was lost goes on with that run, not an orphan', async () => {
    // The first transaction is the run's insert: committed, then the connection dropped.
    const losing = losingCommitReplies(t.db, (n) => n === 1);
    const before = Number(await scalar(t.db, 'SELECT count(*) AS v FROM sdops_migration_runs'));
    const handle = await new MigrationRunner(losing, FAST).start(
      'backfill-deleted-at',
      { dryRun: true, params: { entities: 'documents' } },
      { waitOutOutage: true },
    );
    const summary = await handle.done;
    expect(losing.lost()).to.equal(1);
    expect(summary.state).to.equal('succeeded');
    // Before: the start failed with "the database is unavailable" and left its run `running`.
    expect(Number(await scalar(t.db, 'SELECT count(*) AS v FROM sdops_migration_runs'))).to.equal(before + 1);
    expect(
      await scalar(t.db, 'SELECT state AS v FROM sdops_migration_runs WHERE run_id = $1', [handle.runId]),
    ).to.equal('succeeded');
  });

  // The UPDATE that ends the run lands, then its connection drops (a restart at that moment). Before:
  // leaseLost, "another runner took the run over" (exit 1); with a stop (SIGTERM) arriving then, whose
  // guard does not wait: recorded false, "the run shows running until its lease expires" (probe F2).
  for (const withStop of [false, true]) {
    it(`a run whose end was recorded but whose answer was lost${withStop ? ' as a stop arrived' : ''} ends as recorded`, async () => {
      let lost = 0;
      let stop = () => {};
      const losing: Database = {
        ...t.db,
        query: (async (sql: string, params?: unknown[]) => {
          const result = await t.db.query(sql, params);
          if (lost === 0 && sql.includes('owner = NULL, heartbeat_at = NULL')) {
            lost++;
            if (withStop) stop();
            throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
          }
          return result;
        }) as Database['query'],
      };
      const handle = await new MigrationRunner(losing, FAST).start('backfill-deleted-at', {
        dryRun: true,
        params: { entities: 'documents' },
      });
      stop = handle.stop;
      const summary = await handle.done;
      expect(lost).to.equal(1);
      expect(summary).to.include({ state: 'succeeded', leaseLost: false, recorded: true });
    });
  }

  it('a run past --max-failed-batches ends failed, and stop on a finished run is refused', async () => {
    const runner = new MigrationRunner(t.db, {
      ...FAST,
      faults: [1, 2].map((batchNo) => ({ migration: '*', batchNo })),
    });
    await t.db.query(
      "UPDATE documents SET deleted_at = NULL, delete_reason = NULL WHERE delete_reason = 'legacy'",
    );
    const handle = await runner.start('backfill-deleted-at', { batchSize: 1_000, maxFailedBatches: 1 });
    const summary = await handle.done;
    expect(summary).to.include({ state: 'failed', batchesFailed: 2, rowsProcessed: 0 });
    expect((await runner.get(handle.runId)).lastError).to.contain('exceed --max-failed-batches 1');
    expect(await rejection(runner.stop(handle.runId))).to.be.instanceOf(RunStateError);
  });

  it('archive-soft-deleted moves old soft-deleted rows to the archive, purge-archived removes them after retention', async () => {
    const runner = new MigrationRunner(t.db, FAST);
    const deletedOld = await scalar(
      t.db,
      "SELECT count(*) AS v FROM documents WHERE deleted_at < now() - interval '100 days'",
    );
    expect(Number(deletedOld)).to.be.greaterThan(0);
    const dry = await (
      await runner.start('archive-soft-deleted', { dryRun: true, params: { olderThanDays: 100 } })
    ).done;
    expect(dry.rowsProcessed).to.equal(Number(deletedOld));
    const archived = await (await runner.start('archive-soft-deleted', { params: { olderThanDays: 100 } }))
      .done;
    expect(archived).to.include({ state: 'succeeded', rowsProcessed: Number(deletedOld) });
    expect(await scalar(t.db, 'SELECT count(*) AS v FROM documents_archive')).to.equal(deletedOld);
    expect(
      await scalar(
        t.db,
        "SELECT count(*) AS v FROM documents WHERE deleted_at < now() - interval '100 days'",
      ),
    ).to.equal('0');

    const before = await tableChecksum(t.db, 'documents_archive');
    const kept = await (await runner.start('purge-archived', { params: {} })).done;
    expect(kept.rowsProcessed, 'freshly archived rows are within retention').to.equal(0);
    expect(await tableChecksum(t.db, 'documents_archive')).to.equal(before);
    await t.db.query("UPDATE documents_archive SET archived_at = now() - interval '91 days'");
    const purged = await (await runner.start('purge-archived', { params: { entities: 'documents' } })).done;
    expect(purged.rowsProcessed).to.equal(Number(deletedOld));
    expect(await scalar(t.db, 'SELECT count(*) AS v FROM documents_archive')).to.equal('0');
  });

  it('counts a dry run in no migration metric: it migrated nothing', async () => {
    const runner = new MigrationRunner(t.db, FAST);
    await t.db.query(
      `UPDATE documents SET deleted_at = now() - interval '2 days', is_deleted = true
        WHERE id IN (SELECT id FROM documents WHERE deleted_at IS NULL ORDER BY id DESC LIMIT 5)`,
    );
    const before = await tel.metrics();
    const summary = await (
      await runner.start('archive-soft-deleted', { dryRun: true, params: { olderThanDays: 1 } })
    ).done;
    expect(summary.state).to.equal('succeeded');
    expect(summary.rowsProcessed, 'the dry run saw rows it would move').to.be.greaterThan(0);
    const after = await tel.metrics();
    for (const [name, attrs] of [
      ['migration.run.success', { migration: 'archive-soft-deleted' }],
      ['migration.rows_processed', { migration: 'archive-soft-deleted', status: 'success' }],
    ] as const) {
      // Was: a dry run's rows as migrated rows, and the run as a successful run, on the dashboard.
      expect(counterValue(after, name, attrs), name).to.equal(counterValue(before, name, attrs));
    }
    // Its batches look "committed" (their checkpoints are): every span and line says dry run.
    const handle = summary.runId;
    const spans = (await tel.spans()).filter((s) => s.attributes.run_id === handle);
    expect(spans.filter((s) => s.name === 'migration.batch').length).to.be.greaterThan(0);
    expect(spans.filter((s) => s.attributes.dry_run !== true).map((s) => s.name)).to.deep.equal([]);
    const lines = (await tel.logs()).filter((r) => r.attributes.run_id === handle);
    expect(lines.map((r) => r.body)).to.include('migration batch committed');
    expect(lines.filter((r) => r.attributes.dry_run !== true).map((r) => r.body)).to.deep.equal([]);
  });

  it('takes any day count the checks allow: a fraction, and 100 years (past int4 as seconds)', async () => {
    const runner = new MigrationRunner(t.db, FAST);
    await t.db.query(
      `UPDATE documents SET deleted_at = now() - interval '1 day', is_deleted = true
        WHERE id IN (SELECT id FROM documents WHERE deleted_at IS NULL ORDER BY id LIMIT 5)`,
    );
    const count = async (days: number) =>
      Number(
        await scalar(
          t.db,
          `SELECT count(*) AS v FROM documents WHERE deleted_at < now() - ${days} * interval '1 day'`,
        ),
      );
    for (const name of ['archive-soft-deleted', 'purge-archived'] as const) {
      for (const olderThanDays of [0.5, 24_856, 36_500]) {
        const dry = await (
          await runner.start(name, { dryRun: true, params: { entities: 'documents', olderThanDays } })
        ).done;
        // Before: "invalid input syntax for type integer" and "integer out of range", the run failed.
        expect(dry.state, `${name} ${olderThanDays}`).to.equal('succeeded');
        if (name === 'archive-soft-deleted' && olderThanDays === 0.5) {
          expect(dry.rowsProcessed).to.equal(await count(0.5));
          expect(dry.rowsProcessed).to.be.greaterThan(0);
        }
      }
    }
  });

  it('stop from another runner (the CLI path) parks a live run as stopped after its batch in flight', async () => {
    await t.db.query(
      "UPDATE documents SET deleted_at = NULL, delete_reason = NULL WHERE delete_reason = 'legacy'",
    );
    const runner = new MigrationRunner(t.db, FAST);
    const handle = await runner.start('backfill-deleted-at', { batchSize: 200, maxRowsPerSecond: 2_000 });
    await waitUntil('some progress', async () =>
      (await runner.get(handle.runId)).rowsProcessed > 0 ? true : undefined,
    );
    const asked = await new MigrationRunner(t.db, FAST).stop(handle.runId);
    expect(asked.state).to.equal('stopping');
    const summary = await handle.done;
    expect(summary.state).to.equal('stopped');
    const run = await runner.get(handle.runId);
    expect(run.owner).to.equal(null);
    expect(run.rowsProcessed).to.equal(
      Number(await scalar(t.db, "SELECT count(*) AS v FROM documents WHERE delete_reason = 'legacy'")),
    );
    // A second operator's stop (or `stop --wait`) finds its goal met: the run as it is, not a
    // conflict (was run_state_conflict, exit 1).
    const again = await new MigrationRunner(t.db, FAST).stop(handle.runId);
    expect(again).to.include({ state: 'stopped', rowsProcessed: run.rowsProcessed });
    const waited = await new MigrationRunner(t.db, FAST).stopAndWait(handle.runId, { timeoutMs: 1_000 });
    expect(waited.state).to.equal('stopped');
  });

  it('stop --wait rides out a database restart while it waits for the run to be parked', async () => {
    await t.db.query(
      "UPDATE documents SET deleted_at = NULL, delete_reason = NULL WHERE delete_reason = 'legacy'",
    );
    const handle = await new MigrationRunner(t.db, FAST).start('backfill-deleted-at', {
      batchSize: 50,
      maxRowsPerSecond: 500,
    });
    // The waiting command's reads fail for a while as during a restart (connection refused).
    let reads = 0;
    const refused = () =>
      Promise.reject(
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      );
    const restarting = {
      ...t.db,
      query: ((sql: string, params?: readonly unknown[]) => {
        reads++;
        return reads >= 2 && reads <= 4 ? refused() : t.db.query(sql, params);
      }) as typeof t.db.query,
      // The stop itself is a transaction (its lock wait is limited).
      transaction: ((fn) => {
        reads++;
        return reads >= 2 && reads <= 4 ? refused() : t.db.transaction(fn);
      }) as typeof t.db.transaction,
    };
    const waited = await new MigrationRunner(restarting, FAST).stopAndWait(handle.runId, {
      timeoutMs: 20_000,
      pollMs: 20,
    });
    expect(reads).to.be.greaterThan(4);
    // Before: the first refused read ended the wait with "the database is unavailable".
    expect(waited.state).to.equal('stopped');
    expect((await handle.done).state).to.equal('stopped');
  });
});
