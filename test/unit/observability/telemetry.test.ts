import { expect } from 'chai';
import { DATABASE_READ_DEADLINE_MS } from '../../../src/observability/database-gauges.ts';
import type { HistogramMetricData, MetricData } from '@opentelemetry/sdk-metrics';
import {
  captureTraceContext,
  dbSpanInfo,
  defineAttributeValues,
  getLogger,
  migrationMetrics,
  softDeleteMetrics,
  withDbSpan,
  withSpan,
  workerMetrics,
  zeroCounters,
} from '../../../src/observability/index.ts';
import { spanContextFromCarrier } from '../../../src/observability/trace-context.ts';
import { resetAttributeValues } from '../../../src/observability/attributes.ts';
import type { DatabaseGaugeOptions } from '../../../src/observability/database-gauges.ts';
import { resetWarnings } from '../../../src/observability/diagnostics.ts';
import { type InMemoryTelemetry, startInMemoryTelemetry } from './harness.ts';

function points(metric: MetricData | undefined): { attributes: Record<string, unknown>; value: unknown }[] {
  expect(metric, 'metric was exported').to.not.equal(undefined);
  return (metric as MetricData).dataPoints.map((p) => ({ attributes: p.attributes, value: p.value }));
}

describe('observability with in-memory exporters', () => {
  let t: InMemoryTelemetry;

  beforeEach(async () => {
    resetWarnings();
    resetAttributeValues();
    defineAttributeValues({ entity: ['orders'], job_type: ['purge', 'archive'], migration: ['0001_init'] });
    t = await startInMemoryTelemetry();
  });

  afterEach(async () => {
    await t.telemetry.shutdown();
  });

  it('zeroCounters creates every counter series of the registered closed sets at 0', async () => {
    zeroCounters();
    softDeleteMetrics.recordRows({ entity: 'orders', operation: 'purge', status: 'success', rows: 2 });
    const m = await t.metrics();
    const ops = points(m.get('soft_delete.operations.total'));
    expect(ops).to.have.length(4 * 3);
    expect(ops.filter((p) => p.value !== 0)).to.deep.equal([
      { attributes: { entity: 'orders', operation: 'purge', status: 'success' }, value: 2 },
    ]);
    for (const name of ['cleanup.worker.jobs_processed', 'cleanup.worker.job_failures']) {
      expect(points(m.get(name)), name).to.deep.equal([
        { attributes: { job_type: 'purge' }, value: 0 },
        { attributes: { job_type: 'archive' }, value: 0 },
      ]);
    }
    for (const name of ['migration.run.success', 'migration.run.failure']) {
      expect(points(m.get(name)), name).to.deep.equal([{ attributes: { migration: '0001_init' }, value: 0 }]);
    }
    expect(points(m.get('migration.rows_processed'))).to.deep.equal([
      { attributes: { migration: '0001_init', status: 'success' }, value: 0 },
      { attributes: { migration: '0001_init', status: 'failure' }, value: 0 },
    ]);
  });

  it("reports the database's gauges under the database's identity, every registered job type and migration, 0 where the tables say nothing", async () => {
    let reads = 0;
    const observation = t.telemetry.observeDatabase({
      database: 'db.example:5432/sdops',
      intervalMs: 3_600_000,
      read: async () => {
        reads += 1;
        return {
          queue: {
            purge: { waiting: 3, oldestWaitSeconds: 12.5, active: 2, oldestActiveSeconds: 40, dead: 2 },
            mystery: { waiting: 1, oldestWaitSeconds: 2, active: 1, oldestActiveSeconds: 7, dead: 0 },
            unknown: { waiting: 0, oldestWaitSeconds: 0, active: 0, oldestActiveSeconds: 0, dead: 1 },
          },
          staleRuns: { '0001_init': 90 },
          lastFailedRuns: { '0001_init': 1_796_000_000.5 },
        };
      },
    });
    const { resource, metrics } = await t.databaseMetrics();
    expect(resource).to.include({
      'service.name': 'sdops-database',
      'service.instance.id': 'db.example:5432/sdops',
    });
    // Nothing of the process: two versions or environments on one database must not split the series.
    expect(Object.keys(resource).sort()).to.deep.equal(['service.instance.id', 'service.name']);
    expect(points(metrics.get('cleanup.queue.length'))).to.deep.equal([
      { attributes: { job_type: 'purge' }, value: 3 },
      { attributes: { job_type: 'archive' }, value: 0 },
      { attributes: { job_type: 'other' }, value: 1 },
    ]);
    expect(metrics.get('cleanup.queue.oldest_wait')?.descriptor.unit).to.equal('s');
    expect(points(metrics.get('cleanup.queue.oldest_wait'))).to.deep.equal([
      { attributes: { job_type: 'purge' }, value: 12.5 },
      { attributes: { job_type: 'archive' }, value: 0 },
      { attributes: { job_type: 'other' }, value: 2 },
    ]);
    expect(points(metrics.get('cleanup.queue.dead'))).to.deep.equal([
      { attributes: { job_type: 'purge' }, value: 2 },
      { attributes: { job_type: 'archive' }, value: 0 },
      { attributes: { job_type: 'other' }, value: 1 },
    ]);
    expect(points(metrics.get('cleanup.queue.active'))).to.deep.equal([
      { attributes: { job_type: 'purge' }, value: 2 },
      { attributes: { job_type: 'archive' }, value: 0 },
      { attributes: { job_type: 'other' }, value: 1 },
    ]);
    expect(metrics.get('cleanup.queue.oldest_active')?.descriptor.unit).to.equal('s');
    expect(points(metrics.get('cleanup.queue.oldest_active'))).to.deep.equal([
      { attributes: { job_type: 'purge' }, value: 40 },
      { attributes: { job_type: 'archive' }, value: 0 },
      { attributes: { job_type: 'other' }, value: 7 },
    ]);
    expect(points(metrics.get('migration.runs.stale_seconds'))).to.deep.equal([
      { attributes: { migration: '0001_init' }, value: 90 },
    ]);
    expect(metrics.get('migration.runs.last_failure_timestamp')?.descriptor.unit).to.equal('s');
    expect(points(metrics.get('migration.runs.last_failure_timestamp'))).to.deep.equal([
      { attributes: { migration: '0001_init' }, value: 1_796_000_000.5 },
    ]);
    await observation.stop();
    const before = reads;
    await t.databaseMetrics();
    expect(reads, 'no reads after stop()').to.equal(before);
  });

  it("keeps reporting 'other' at 0 once it emptied, instead of leaving its last value in the export", async () => {
    let unknownDead = 1;
    let gone = false;
    t.telemetry.observeDatabase({
      database: 'db.example:5432/sdops',
      intervalMs: 3_600_000,
      read: async (): ReturnType<DatabaseGaugeOptions['read']> =>
        gone
          ? { queue: {}, staleRuns: {}, lastFailedRuns: {} }
          : {
              queue: {
                legacy_reindex: {
                  waiting: 0,
                  oldestWaitSeconds: 0,
                  active: 0,
                  oldestActiveSeconds: 0,
                  dead: unknownDead,
                },
              },
              staleRuns: { 'retired-migration': unknownDead * 400 },
              lastFailedRuns: { 'retired-migration': unknownDead * 1_796_000_000 },
            },
    });
    const other = (m: Map<string, MetricData>, name: string) =>
      points(m.get(name)).filter((p) => Object.values(p.attributes).includes('other'));
    const first = (await t.databaseMetrics()).metrics;
    expect(other(first, 'cleanup.queue.dead')).to.deep.equal([
      { attributes: { job_type: 'other' }, value: 1 },
    ]);
    gone = true; // cancelled: the usual reading no longer names the unknown type at all
    const then = (await t.databaseMetrics()).metrics;
    // Was still 1: the series was no longer observed, and the SDK kept exporting its last value.
    expect(other(then, 'cleanup.queue.dead')).to.deep.equal([
      { attributes: { job_type: 'other' }, value: 0 },
    ]);
    expect(other(then, 'migration.runs.stale_seconds')).to.deep.equal([
      { attributes: { migration: 'other' }, value: 0 },
    ]);
    expect(other(then, 'migration.runs.last_failure_timestamp')).to.deep.equal([
      { attributes: { migration: 'other' }, value: 0 },
    ]);
    gone = false;
    await t.databaseMetrics();
    unknownDead = 0; // a reading that names the type with nothing in it
    const later = (await t.databaseMetrics()).metrics;
    expect(other(later, 'cleanup.queue.dead')).to.deep.equal([
      { attributes: { job_type: 'other' }, value: 0 },
    ]);
  });

  it('skips a database reading that fails, with one warning, and reads again next time', async () => {
    let fail = true;
    t.telemetry.observeDatabase({
      database: 'db.example:5432/sdops',
      intervalMs: 3_600_000,
      read: async () => {
        if (fail) throw new Error('connection refused');
        return {
          queue: { purge: { waiting: 1, oldestWaitSeconds: 1, active: 0, oldestActiveSeconds: 0, dead: 0 } },
          staleRuns: {},
          lastFailedRuns: {},
        };
      },
    });
    expect((await t.databaseMetrics()).metrics.get('cleanup.queue.length')).to.equal(undefined);
    fail = false;
    expect(points((await t.databaseMetrics()).metrics.get('cleanup.queue.length'))).to.deep.equal([
      { attributes: { job_type: 'purge' }, value: 1 },
      { attributes: { job_type: 'archive' }, value: 0 },
    ]);
    const warnings = (await t.consoleRecords()).filter((r) => r.level === 'warn');
    expect(warnings.map((w) => w.message)).to.deep.equal([
      'reading the queue and migration tables failed; this sample is skipped',
    ]);
  });

  it('skips a database reading that does not answer before the export deadline, instead of failing the export', async function () {
    this.timeout(10_000);
    t.telemetry.observeDatabase({
      database: 'db.example:5432/sdops',
      intervalMs: 3_600_000,
      // A pool whose connections are all busy: the reading waits for one for up to 5 s, or longer.
      read: () => new Promise(() => {}),
    });
    const started = performance.now();
    expect((await t.databaseMetrics()).metrics.get('cleanup.queue.length')).to.equal(undefined);
    // Before: the collection waited past the reader's 3 s timeout, reported as a failed export.
    expect(performance.now() - started).to.be.below(DATABASE_READ_DEADLINE_MS + 700);
    const warnings = (await t.consoleRecords()).filter((r) => r.level === 'warn');
    expect(warnings.map((w) => [w.message, w.reason])).to.deep.equal([
      ['reading the queue and migration tables failed; this sample is skipped', 'no answer within 2 s'],
    ]);
  });

  it('counts soft-delete rows and records one duration per call with the exact name, unit and attributes', async () => {
    softDeleteMetrics.recordOperation({
      entity: 'orders',
      operation: 'delete',
      status: 'success',
      rows: 7,
      durationSeconds: 0.02,
    });
    softDeleteMetrics.recordOperation({
      entity: 'orders',
      operation: 'delete',
      status: 'success',
      rows: 3,
      durationSeconds: 0.2,
    });
    const m = await t.metrics();
    const counter = m.get('soft_delete.operations.total');
    expect(counter?.descriptor.unit).to.equal('{row}');
    expect(points(counter)).to.deep.equal([
      { attributes: { entity: 'orders', operation: 'delete', status: 'success' }, value: 10 },
    ]);
    const histogram = m.get('soft_delete.operations.duration_seconds') as HistogramMetricData;
    expect(histogram.descriptor.unit).to.equal('s');
    const point = histogram.dataPoints[0]!;
    expect(point.attributes).to.deep.equal({ entity: 'orders', operation: 'delete', status: 'success' });
    expect(point.value.count).to.equal(2);
    expect(point.value.buckets.boundaries[0]).to.equal(0.001);
    expect(point.value.buckets.boundaries.at(-1)).to.equal(3600);
  });

  it('records unregistered entity names as other and drops invalid input without throwing', async () => {
    softDeleteMetrics.recordOperation({
      entity: 'user-42',
      operation: 'purge',
      status: 'noop',
      rows: 1,
      durationSeconds: 0,
    });
    softDeleteMetrics.recordRows({ entity: 'orders', operation: 'delete', status: 'success', rows: -1 });
    softDeleteMetrics.recordRows({
      entity: 'orders',
      operation: 'explode' as 'delete',
      status: 'success',
      rows: 1,
    });
    softDeleteMetrics.recordCall({
      entity: 'orders',
      operation: 'delete',
      status: 'success',
      durationSeconds: Number.NaN,
    });
    const m = await t.metrics();
    expect(points(m.get('soft_delete.operations.total'))).to.deep.equal([
      { attributes: { entity: 'other', operation: 'purge', status: 'noop' }, value: 1 },
    ]);
    const warnings = (await t.consoleRecords()).filter((r) => r.level === 'warn');
    expect(warnings.map((w) => w.message)).to.have.length(4);
  });

  it('counts worker attempts, failures, durations and queue wait per job type', async () => {
    workerMetrics.jobStarted({ jobType: 'purge', queueWaitSeconds: 1.5 });
    workerMetrics.jobFinished({ jobType: 'purge', status: 'success', durationSeconds: 0.5 });
    workerMetrics.jobFinished({ jobType: 'purge', status: 'failure', durationSeconds: 0.1 });
    const m = await t.metrics();
    expect(points(m.get('cleanup.worker.jobs_processed'))).to.deep.equal([
      { attributes: { job_type: 'purge' }, value: 2 },
    ]);
    expect(points(m.get('cleanup.worker.job_failures'))).to.deep.equal([
      { attributes: { job_type: 'purge' }, value: 1 },
    ]);
    const duration = m.get('cleanup.worker.job.duration_seconds') as HistogramMetricData;
    expect(duration.dataPoints.map((p) => p.attributes)).to.deep.equal([
      { job_type: 'purge', status: 'success' },
      { job_type: 'purge', status: 'failure' },
    ]);
    const wait = m.get('cleanup.worker.queue_wait_seconds') as HistogramMetricData;
    expect(wait.dataPoints[0]?.value.sum).to.equal(1.5);
  });

  it('counts migration runs by outcome and batch rows by status', async () => {
    migrationMetrics.runEnded({ migration: '0001_init', status: 'success' });
    migrationMetrics.runEnded({ migration: '0001_init', status: 'failure' });
    migrationMetrics.batchProcessed({
      migration: '0001_init',
      status: 'success',
      rows: 500,
      durationSeconds: 0.3,
    });
    const m = await t.metrics();
    expect(points(m.get('migration.run.success'))).to.deep.equal([
      { attributes: { migration: '0001_init' }, value: 1 },
    ]);
    expect(points(m.get('migration.run.failure'))).to.deep.equal([
      { attributes: { migration: '0001_init' }, value: 1 },
    ]);
    expect(points(m.get('migration.rows_processed'))).to.deep.equal([
      { attributes: { migration: '0001_init', status: 'success' }, value: 500 },
    ]);
    expect(m.get('migration.batch.duration_seconds')?.descriptor.unit).to.equal('s');
  });

  it('nests one soft_delete.batch span per batch under soft_delete.bulk and returns the function result', async () => {
    const result = await withSpan(
      'soft_delete.bulk',
      { entity: 'orders', operation: 'delete', run_id: 'r1' },
      async (bulk) => {
        for (let i = 0; i < 2; i++) {
          await withSpan('soft_delete.batch', { entity: 'orders', 'batch.size': 100 }, async () => {
            await withDbSpan(
              dbSpanInfo('UPDATE orders', {
                'db.system.name': 'postgresql',
                'db.operation.name': 'UPDATE',
                'db.collection.name': 'orders',
              }),
              async () => 1,
            );
          });
        }
        bulk.setAttributes({ count: 200, status: 'success' });
        return 'done';
      },
    );
    expect(result).to.equal('done');
    const spans = await t.spans();
    const bulk = spans.find((s) => s.name === 'soft_delete.bulk')!;
    const batches = spans.filter((s) => s.name === 'soft_delete.batch');
    expect(batches).to.have.length(2);
    for (const b of batches) expect(b.parentSpanContext?.spanId).to.equal(bulk.spanContext().spanId);
    expect(bulk.attributes).to.include({ entity: 'orders', count: 200, status: 'success', run_id: 'r1' });
    const db = spans.find((s) => s.name === 'UPDATE orders')!;
    expect(db.attributes).to.include({
      'db.system.name': 'postgresql',
      'db.operation.name': 'UPDATE',
      'db.collection.name': 'orders',
    });
    expect(batches.map((b) => b.spanContext().spanId)).to.include(db.parentSpanContext?.spanId);
  });

  it('ends a failing span with status ERROR, the exception event and status=failure, and rethrows', async () => {
    const boom = new Error('boom');
    expect(() =>
      withSpan('soft_delete.purge', { entity: 'orders' }, () => {
        throw boom;
      }),
    ).to.throw(boom);
    const span = (await t.spans()).find((s) => s.name === 'soft_delete.purge')!;
    expect(span.status.code).to.equal(2);
    expect(span.attributes.status).to.equal('failure');
    expect(span.events.map((e) => e.name)).to.include('exception');
    expect(span.ended).to.equal(true);
  });

  it('starts a job as a new root trace linked to the trace that enqueued it', async () => {
    const carrier = withSpan('soft_delete.delete', { entity: 'orders' }, () => captureTraceContext());
    expect(carrier?.traceparent).to.match(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await withSpan('migration.run', { migration: '0001_init' }, () =>
      withSpan('cleanup.job', { job_type: 'purge', 'job.id': 'j1', attempt: 1 }, async () => {}, {
        root: true,
        kind: 'consumer',
        links: [carrier],
      }),
    );
    const enqueuer = (await t.spans()).find((s) => s.name === 'soft_delete.delete')!;
    const job = (await t.spans()).find((s) => s.name === 'cleanup.job')!;
    const run = (await t.spans()).find((s) => s.name === 'migration.run')!;
    expect(job.parentSpanContext).to.equal(undefined);
    expect(job.spanContext().traceId).to.not.equal(run.spanContext().traceId);
    expect(job.links[0]?.context.spanId).to.equal(enqueuer.spanContext().spanId);
    expect(spanContextFromCarrier({ traceparent: 'garbage' })).to.equal(undefined);
  });

  it('writes JSON log lines and OTLP log records that carry the trace_id and span_id of the active span', async () => {
    const log = getLogger('core');
    const ids = withSpan('soft_delete.delete', { entity: 'orders' }, (span) => {
      log.info('deleted', { run_id: 'r1', entity: 'orders', count: 1, duration: 0.004, status: 'success' });
      return { traceId: span.traceId, spanId: span.spanId };
    });
    const line = (await t.consoleRecords()).find((r) => r.message === 'deleted')!;
    expect(line).to.include({
      component: 'core',
      run_id: 'r1',
      entity: 'orders',
      count: 1,
      duration: 0.004,
      status: 'success',
    });
    expect(line).to.include({ trace_id: ids.traceId, span_id: ids.spanId });
    const record = (await t.logs()).find((r) => r.body === 'deleted')!;
    expect(record.spanContext?.traceId).to.equal(ids.traceId);
    expect(record.spanContext?.spanId).to.equal(ids.spanId);
    expect(record.attributes).to.include({ run_id: 'r1', entity: 'orders', count: 1, status: 'success' });
    expect(record.severityText).to.equal('info');
  });

  it('ends a span whose status attribute says failure with status code ERROR, though nothing was thrown', async () => {
    // A migration run that ended partially_failed returns normally: its span read status=failure, code OK.
    await withSpan('migration.run', { run_id: 'r-pf' }, async (span) => {
      span.setAttributes({ status: 'failure', 'migration.state': 'partially_failed' });
    });
    await withSpan('migration.run', { run_id: 'r-ok' }, async (span) => {
      span.setAttributes({ status: 'success' });
    });
    const byRun = Object.fromEntries(
      (await t.spans())
        .filter((s) => s.name === 'migration.run')
        .map((s) => [s.attributes.run_id, s.status.code]),
    );
    expect(byRun).to.deep.equal({ 'r-pf': 2, 'r-ok': 1 });
  });

  it('leaves a field without a value out of the OTLP record, where it was an empty value', async () => {
    getLogger('api').info('request', { route: null, cursor_from: undefined, status_code: 404 });
    const record = (await t.logs()).find((r) => r.body === 'request')!;
    expect(record.attributes).to.include({ status_code: 404 });
    expect(record.attributes).to.not.have.property('route');
    expect(record.attributes).to.not.have.property('cursor_from');
  });

  it('redacts secrets and connection-string credentials in console and OTLP logs', async () => {
    getLogger('cli').warn('connecting', {
      password: 'hunter2',
      DATABASE_URL: 'postgres://u:hunter2@db/x',
      target: 'postgres://app:hunter2@db:5432/app',
      authorization: 'Bearer abc',
      // An endpoint given without its scheme (refused by config, which logs the value it refused).
      value: 'u:hunter2@collector:4318',
      said: 'endpoint u:hunter2@collector:4318 refused',
    });
    const otlp = JSON.stringify((await t.logs()).map((r) => r.attributes));
    const text = t.console.lines.join('\n') + otlp;
    expect(text).to.not.include('hunter2');
    expect(text).to.not.include('abc');
    expect(t.console.records().find((r) => r.message === 'connecting')).to.include({
      target: 'postgres://app:[REDACTED]@db:5432/app',
      value: 'u:[REDACTED]@collector:4318',
      said: 'endpoint u:[REDACTED]@collector:4318 refused',
    });
  });

  it('logs the stack of an unexpected error, and none for an expected outcome such as not found', async () => {
    const log = getLogger('core');
    const expected = Object.assign(new Error('customers 9 does not exist'), {
      code: 'not_found',
      kind: 'not_found',
    });
    log.warn('expected', {}, expected);
    log.warn('unexpected', {}, Object.assign(new Error('violates check constraint'), { code: '23514' }));
    const lines = await t.consoleRecords();
    const error = (message: string) =>
      lines.find((r) => r.message === message)?.error as Record<string, unknown>;
    expect(error('expected')).to.deep.equal({
      name: 'Error',
      message: 'customers 9 does not exist',
      code: 'not_found',
    });
    expect(error('unexpected'))
      .to.include({ code: '23514' })
      .and.to.have.property('stack')
      .that.includes('at ');
  });

  it('turns every call into a no-op after shutdown, and shutdown is idempotent', async () => {
    await Promise.all([t.telemetry.shutdown(), t.telemetry.shutdown()]);
    const before = (await t.spans()).length;
    withSpan('soft_delete.restore', { entity: 'orders' }, () => 1);
    softDeleteMetrics.recordOperation({
      entity: 'orders',
      operation: 'restore',
      status: 'success',
      rows: 1,
      durationSeconds: 0.1,
    });
    getLogger('x').info('after shutdown');
    expect((await t.spans()).length).to.equal(before);
    expect((await t.logs()).some((r) => r.body === 'after shutdown')).to.equal(false);
    await t.telemetry.shutdown();
  });
});
