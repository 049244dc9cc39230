import { context, trace } from '@opentelemetry/api';
import { listQueries, PANEL_IDS, SPAN_METRICS } from '../../grafana/src/index.ts';
import { SeverityNumber } from '@opentelemetry/api';
import { expect } from 'chai';
import { promtool } from '../support/prometheus-bin.ts';
import {
  COLLECTOR_CONFIG,
  COLLECTOR_OVERLAY,
  collectorTargets,
  createTestTelemetry,
  PROMETHEUS_CONFIG,
  promExemplars,
  promQuery,
  promSeries,
  promtoolCheckConfig,
  startCollector,
  startPrometheus,
  type TestCollector,
  type TestPrometheus,
  type TestTelemetry,
  type TestTelemetryOptions,
  validateCollectorConfig,
} from './support/index.ts';
import { waitUntil } from '../support/wait.ts';

/**
 * OTel instrument name + unit -> the Prometheus name the collector's `prometheus` exporter
 * (translation_strategy UnderscoreEscapingWithSuffixes) exposes, as observed on collector v0.165.0.
 * Annotation units such as {row} add no suffix; counters gain `_total` once; `s` becomes `_seconds`
 * unless the name already ends with it.
 */
const TRANSLATIONS = [
  {
    otel: 'soft_delete.operations.total',
    kind: 'counter',
    unit: '{row}',
    prom: 'soft_delete_operations_total',
  },
  {
    otel: 'soft_delete.operations.duration_seconds',
    kind: 'histogram',
    unit: 's',
    prom: 'soft_delete_operations_duration_seconds',
  },
  {
    otel: 'cleanup.worker.jobs_processed',
    kind: 'counter',
    unit: '{job}',
    prom: 'cleanup_worker_jobs_processed_total',
  },
  {
    otel: 'cleanup.worker.job_failures',
    kind: 'counter',
    unit: '{job}',
    prom: 'cleanup_worker_job_failures_total',
  },
  { otel: 'cleanup.queue.length', kind: 'gauge', unit: '{job}', prom: 'cleanup_queue_length' },
  { otel: 'cleanup.queue.dead', kind: 'gauge', unit: '{job}', prom: 'cleanup_queue_dead' },
  { otel: 'cleanup.queue.active', kind: 'gauge', unit: '{job}', prom: 'cleanup_queue_active' },
  {
    otel: 'cleanup.queue.oldest_active',
    kind: 'gauge',
    unit: 's',
    prom: 'cleanup_queue_oldest_active_seconds',
  },
  {
    otel: 'cleanup.queue.oldest_wait',
    kind: 'gauge',
    unit: 's',
    prom: 'cleanup_queue_oldest_wait_seconds',
  },
  {
    otel: 'migration.runs.stale_seconds',
    kind: 'gauge',
    unit: 's',
    prom: 'migration_runs_stale_seconds',
  },
  {
    otel: 'migration.runs.last_failure_timestamp',
    kind: 'gauge',
    unit: 's',
    prom: 'migration_runs_last_failure_timestamp_seconds',
  },
  {
    otel: 'cleanup.worker.job.duration_seconds',
    kind: 'histogram',
    unit: 's',
    prom: 'cleanup_worker_job_duration_seconds',
  },
  {
    otel: 'cleanup.worker.queue_wait_seconds',
    kind: 'histogram',
    unit: 's',
    prom: 'cleanup_worker_queue_wait_seconds',
  },
  { otel: 'migration.run.success', kind: 'counter', unit: '{run}', prom: 'migration_run_success_total' },
  { otel: 'migration.run.failure', kind: 'counter', unit: '{run}', prom: 'migration_run_failure_total' },
  {
    otel: 'migration.rows_processed',
    kind: 'counter',
    unit: '{row}',
    prom: 'migration_rows_processed_total',
  },
  {
    otel: 'migration.batch.duration_seconds',
    kind: 'histogram',
    unit: 's',
    prom: 'migration_batch_duration_seconds',
  },
] as const;

/** A fresh service.name per test keeps each test's series apart inside one collector + Prometheus. */
let serviceCounter = 0;
function uniqueService(): string {
  serviceCounter += 1;
  return `sdops-pipeline-test-${process.pid}-${serviceCounter}`;
}

describe('the collector pipeline (real otelcol-sdops, the Prometheus of compose.yaml)', function () {
  // Cold collector builds take minutes; every assertion below polls with its own deadline.
  this.timeout(900_000);

  let collector: TestCollector;
  let prometheus: TestPrometheus;
  const telemetries: TestTelemetry[] = [];

  before(async () => {
    collector = await startCollector();
    prometheus = await startPrometheus((port) => collectorTargets(collector.ports, port));
  });

  afterEach(async () => {
    await Promise.all(telemetries.splice(0).map((t) => t.shutdown().catch(() => undefined)));
  });

  after(async () => {
    await prometheus?.stop();
    await collector?.close();
  });

  function telemetryFor(service: string, options: TestTelemetryOptions = {}): TestTelemetry {
    const telemetry = createTestTelemetry(
      collector.otlpHttpEndpoint,
      {
        'service.name': service,
        'service.namespace': 'sdops',
        'service.instance.id': `${service}-instance`,
      },
      options,
    );
    telemetries.push(telemetry);
    return telemetry;
  }

  async function singleValue(expr: string): Promise<number | undefined> {
    const result = await promQuery(prometheus.url, expr);
    return result.length === 1 ? result[0]?.value : undefined;
  }

  it('otelcol validate accepts otel-collector/config.yaml with its env defaults', async () => {
    const { code, output } = await validateCollectorConfig([COLLECTOR_CONFIG]);
    expect(code, output).to.equal(0);
  });

  it('otelcol validate accepts config.yaml layered with the test overlay', async () => {
    const { code, output } = await validateCollectorConfig([COLLECTOR_CONFIG, COLLECTOR_OVERLAY], {
      SDOPS_TEST_SINK_ENDPOINT: 'http://127.0.0.1:4318',
    });
    expect(code, output).to.equal(0);
  });

  it('otelcol validate rejects a config with an unknown component, so the checks above can fail', async () => {
    const { code, output } = await validateCollectorConfig([
      COLLECTOR_CONFIG,
      'yaml:exporters::no_such_exporter: {}',
    ]);
    expect(code, output).to.not.equal(0);
  });

  it('promtool check config accepts prometheus/prometheus.yml', async () => {
    const { code, output } = await promtoolCheckConfig(PROMETHEUS_CONFIG);
    expect(code, output).to.equal(0);
  });

  it('the test Prometheus scrapes every job of prometheus.yml successfully', async () => {
    const up = await waitUntil('all scrape targets up', async () => {
      const samples = await promQuery(prometheus.url, 'up');
      return samples.length === 3 && samples.every((s) => s.value === 1) ? samples : undefined;
    });
    expect(up.map((s) => s.metric.job).sort()).to.deep.equal([
      'otel-collector',
      'otel-collector-exporter',
      'prometheus',
    ]);
  });

  it('OTLP metrics reach Prometheus under their translated names with exact values', async () => {
    const service = uniqueService();
    const telemetry = telemetryFor(service);
    const meter = telemetry.meterProvider.getMeter('pipeline-test');
    const attrs = { entity: 'customer', operation: 'delete', status: 'success' };
    for (const t of TRANSLATIONS) {
      if (t.kind === 'counter') meter.createCounter(t.otel, { unit: t.unit }).add(7, attrs);
      if (t.kind === 'histogram') {
        const histogram = meter.createHistogram(t.otel, {
          unit: t.unit,
          advice: { explicitBucketBoundaries: [0.025, 0.5] },
        });
        histogram.record(0.02, attrs);
        histogram.record(0.3, attrs);
      }
      if (t.kind === 'gauge') meter.createGauge(t.otel, { unit: t.unit }).record(42, attrs);
    }
    await telemetry.flush();

    for (const t of TRANSLATIONS) {
      const selector = `{job="sdops/${service}",entity="customer",operation="delete",status="success"}`;
      if (t.kind === 'histogram') {
        const count = await waitUntil(`${t.prom}_count`, () => singleValue(`${t.prom}_count${selector}`));
        expect(count, `${t.otel} -> ${t.prom}_count`).to.equal(2);
        expect(await singleValue(`${t.prom}_sum${selector}`)).to.be.closeTo(0.32, 1e-9);
        expect(await singleValue(`${t.prom}_bucket${selector.replace('}', ',le="0.025"}')}`)).to.equal(1);
      } else {
        const value = await waitUntil(`${t.prom}`, () => singleValue(`${t.prom}${selector}`));
        expect(value, `${t.otel} -> ${t.prom}`).to.equal(t.kind === 'gauge' ? 42 : 7);
      }
    }
  });

  it('a counter a process exports once and then exits with shows its whole step in increase(... anchored)', async () => {
    const service = uniqueService();
    const telemetry = telemetryFor(service);
    // Created at its first increment, exported once, at shutdown: what a CLI command does.
    telemetry.meterProvider.getMeter('pipeline-test').createCounter('migration.run.failure').add(1, {
      migration: 'backfill-deleted-at',
    });
    await telemetry.shutdown();
    const selector = `migration_run_failure_total{job="sdops/${service}"}`;
    const step = await waitUntil('the counter and its start-timestamp 0 in Prometheus', async () => {
      const [min, max] = await Promise.all([
        singleValue(`min_over_time(${selector}[5m])`),
        singleValue(`max_over_time(${selector}[5m])`),
      ]);
      return min === 0 && max === 1 ? { min, max } : undefined;
    });
    expect(step).to.deep.equal({ min: 0, max: 1 });
    expect(await singleValue(`sum(increase(${selector}[5m] anchored))`)).to.equal(1);
    // Without anchored, increase() extrapolates past the samples it has: not a count.
    expect(await singleValue(`sum(increase(${selector}[5m]))`)).to.not.equal(undefined);
  });

  it('the span-metrics families have HELP text (promtool check metrics)', async () => {
    const service = uniqueService();
    const telemetry = telemetryFor(service);
    const span = telemetry.tracerProvider.getTracer('pipeline-test').startSpan('soft_delete.bulk', {
      attributes: { entity: 'invoice', operation: 'delete', status: 'success' },
    });
    span.end();
    await telemetry.flush();
    const scrape = await waitUntil('span metrics on the exporter', async () => {
      const response = await fetch(`http://127.0.0.1:${collector.ports.metrics}/metrics`);
      const text = await response.text();
      return text.includes(`${SPAN_METRICS.calls}{`) ? text : undefined;
    });
    const { output } = await promtool(['check', 'metrics'], { input: scrape });
    // This file's own test instruments carry no description; the app's do (workload.test.ts).
    const missing = output
      .split('\n')
      .filter(
        (line) => line.startsWith(SPAN_METRICS.namespace.replaceAll('.', '_')) && /no help text/i.test(line),
      );
    expect(missing).to.deep.equal([]);
    expect(scrape).to.match(new RegExp(`# HELP ${SPAN_METRICS.latency} \\S`));
    expect(scrape).to.match(new RegExp(`# HELP ${SPAN_METRICS.calls} \\S`));
  });

  it('gives a slow span that ends after many fast ones of its series an exemplar in its bucket', async () => {
    const service = uniqueService();
    // One export of all 21 spans, in the order they ended, as the app's batch processor sends them.
    const telemetry = telemetryFor(service, { batch: true });
    const tracer = telemetry.tracerProvider.getTracer('pipeline-test');
    const attributes = { entity: 'invoice', operation: 'delete', status: 'success' };
    const began = Date.now() - 3000;
    for (let i = 0; i < 20; i++) tracer.startSpan('soft_delete.bulk', { attributes }).end();
    // Ends last, as a slow request does: the connector kept only the first 5 spans of each flush,
    // so the one worth clicking had no dot (a probe: 2 of 14 requests of 2.4 s and more had one).
    const slow = tracer.startSpan('soft_delete.bulk', { attributes, startTime: began });
    slow.end();
    await telemetry.flush();
    const selector = `{service_name="${service}",span_name="soft_delete.bulk"}`;
    const slowExemplars = await waitUntil('an exemplar of the slow span', async () => {
      const result = await promExemplars(prometheus.url, `${SPAN_METRICS.latency}_bucket${selector}`);
      const found = result
        .flatMap((series) => series.exemplars)
        .filter((e) => e.labels.trace_id === slow.spanContext().traceId);
      return found.length > 0 ? found : undefined;
    });
    expect(Number(slowExemplars[0]?.value)).to.be.within(2.9, 3.1);
  });

  it('span-metrics histograms reach Prometheus with exemplars whose trace ids are in the exported traces', async () => {
    const service = uniqueService();
    const telemetry = telemetryFor(service);
    const tracer = telemetry.tracerProvider.getTracer('pipeline-test');
    const traceIds: string[] = [];
    for (const status of ['success', 'success', 'failure']) {
      const span = tracer.startSpan('soft_delete.bulk', {
        attributes: { entity: 'invoice', operation: 'delete', status, count: 3, run_id: 'run-1' },
      });
      traceIds.push(span.spanContext().traceId);
      span.end();
    }
    await telemetry.flush();

    const selector = `{service_name="${service}",span_name="soft_delete.bulk",entity="invoice"}`;
    const count = await waitUntil('span-metrics call counts', async () => {
      const samples = await promQuery(prometheus.url, `sum(${SPAN_METRICS.calls}${selector})`);
      return samples[0]?.value === 3 ? 3 : undefined;
    });
    expect(count).to.equal(3);
    const series = await promSeries(prometheus.url, `${SPAN_METRICS.latency}_bucket${selector}`);
    expect(series.map((s) => s.status).sort()).to.include.members(['failure', 'success']);
    expect(series.every((s) => s.operation === 'delete')).to.equal(true);

    const exemplarTraceIds = await waitUntil('exemplars on the span-metrics histogram', async () => {
      const result = await promExemplars(prometheus.url, `${SPAN_METRICS.latency}_bucket${selector}`);
      const ids = result.flatMap((s) => s.exemplars.map((e) => e.labels.trace_id ?? ''));
      return ids.length > 0 ? ids : undefined;
    });
    const exported = new Set(collector.readSpans().map((s) => s.traceId));
    for (const id of exemplarTraceIds) {
      expect(exported.has(id), `exemplar trace id ${id} is in the exported traces`).to.equal(true);
      expect(traceIds).to.include(id);
    }
  });

  it('logs reach the log sink with their attributes and the trace context of their span', async () => {
    const service = uniqueService();
    const telemetry = telemetryFor(service);
    const tracer = telemetry.tracerProvider.getTracer('pipeline-test');
    const logger = telemetry.loggerProvider.getLogger('pipeline-test');
    const span = tracer.startSpan('migration.batch', { attributes: { run_id: 'run-42', migration: 'm1' } });
    logger.emit({
      body: 'batch done',
      severityNumber: SeverityNumber.INFO,
      severityText: 'info',
      attributes: { run_id: 'run-42', entity: 'customer', count: 10, duration: 0.25, status: 'success' },
      context: trace.setSpan(context.active(), span),
    });
    span.end();
    await telemetry.flush();

    const record = await waitUntil('the log record in the sink', async () =>
      collector.readLogs().find((r) => r.resource['service.name'] === service),
    );
    expect(record.body).to.equal('batch done');
    expect(record.attributes).to.deep.include({
      run_id: 'run-42',
      entity: 'customer',
      count: 10,
      duration: 0.25,
      status: 'success',
    });
    expect(record.traceId).to.equal(span.spanContext().traceId);
    expect(record.spanId).to.equal(span.spanContext().spanId);
  });

  it('stopping and restarting the collector while the app keeps counting loses no increments', async () => {
    const service = uniqueService();
    const telemetry = telemetryFor(service);
    const counter = telemetry.meterProvider
      .getMeter('pipeline-test')
      .createCounter('cleanup.worker.jobs_processed');
    const expr = `cleanup_worker_jobs_processed_total{job="sdops/${service}",job_type="purge"}`;
    let produced = 0;
    const produce = setInterval(() => {
      counter.add(1, { job_type: 'purge' });
      produced += 1;
    }, 20);
    try {
      await waitUntil(
        'the first increments in Prometheus',
        async () => ((await singleValue(expr)) ?? 0) > 0 || undefined,
      );
      await collector.stop();
      // Keep producing while the collector is down: at least several failed export rounds.
      const producedAtStop = produced;
      await waitUntil('increments made while the collector is down', async () =>
        produced >= producedAtStop + 100 ? true : undefined,
      );
      expect(collector.isRunning()).to.equal(false);
      await collector.start();
      const producedAtRestart = produced;
      await waitUntil(
        'Prometheus to see increments made after the restart',
        async () => ((await singleValue(expr)) ?? 0) >= producedAtRestart || undefined,
      );
    } finally {
      clearInterval(produce);
    }
    await telemetry.flush();
    const total = produced;
    const seen = await waitUntil(
      `Prometheus to reach exactly ${total}`,
      async () => {
        const value = await singleValue(expr);
        return value === total ? value : undefined;
      },
      { timeoutMs: 20_000 },
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}; last value ${await singleValue(expr)}`);
    });
    expect(seen).to.equal(total);
  });

  it('the throughput panel reads a steady rate steady at its newest point, "now"', async () => {
    const service = uniqueService();
    const telemetry = telemetryFor(service);
    const counter = telemetry.meterProvider
      .getMeter('pipeline-test')
      .createCounter('soft_delete.operations.total');
    const perSecond = 20;
    const produce = setInterval(() => {
      counter.add(1, { entity: 'orders', operation: 'delete', status: 'success' });
    }, 1000 / perSecond);
    // The panel's own query with a 4 s rate interval, narrowed to this test's process.
    const panel = (rateInterval: string) => {
      const found = listQueries({
        entity: 'orders',
        jobType: 'purge',
        runId: 'r',
        rateInterval,
        range: '1h',
      }).find((q) => q.origin.startsWith(`${PANEL_IDS.throughput} `));
      return (found?.query ?? '').replace('{entity=~"orders"}', `{entity=~"orders",job="sdops/${service}"}`);
    };
    const expr = `soft_delete_operations_total{job="sdops/${service}"}`;
    const readings: number[] = [];
    const smoothedReadings: number[] = [];
    try {
      // Past the series' first seconds: a window that starts before its first scraped sample counts
      // from the series' 0 (its start timestamp), which is a count's concern, not this test's.
      await waitUntil(
        '8 s of scraped samples',
        async () => ((await singleValue(`count_over_time(${expr}[8s])`)) ?? 0) >= 7 || undefined,
        { timeoutMs: 60_000 },
      );
      // Read the newest point as a dashboard refresh does, 24 times over about 6 s of scrape phases.
      await waitUntil(
        '24 readings of the newest point',
        async () => {
          readings.push((await singleValue(panel('4s'))) ?? 0);
          smoothedReadings.push((await singleValue(panel('4s').replace('anchored', 'smoothed'))) ?? 0);
          return readings.length >= 24 || undefined;
        },
        { intervalMs: 250 },
      );
    } finally {
      clearInterval(produce);
    }
    // Both ends of an anchored window are samples of the same age: the steady 20/s reads 20. One
    // export that comes a second late on a loaded machine (this process also produces) reads 15 once.
    const off = (values: number[]) => values.filter((v) => v <= perSecond * 0.85 || v >= perSecond * 1.15);
    expect(off(readings), JSON.stringify(readings)).to.have.length.at.most(2);
    // The check can fail: smoothed, tried for the panels, read the newest point low in a sawtooth
    // (19.8 down to 15 every scrape, a quarter of its readings or more below 17 on a quiet machine).
    expect(off(smoothedReadings), JSON.stringify(smoothedReadings)).to.have.length.at.least(4);
  });
});
