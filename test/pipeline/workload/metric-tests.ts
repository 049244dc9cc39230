import { expect } from 'chai';
import { promtool } from '../../support/prometheus-bin.ts';
import type { World } from './world.ts';
import { promMetricNames, promQuery, promSeries } from '../support/prom-api.ts';
import { expectedCalls, expectedMigration, expectedSoftDelete, expectedWorker } from './expected.ts';
import { APP, catalogMetrics, isInfrastructureLabel, totals, untilExact, WINDOW } from './prom.ts';
import { MIGRATION } from './scenario.ts';
import { measured } from '../../support/measured.ts';

/** Attempts per migration batch the workload configures (SDOPS_MIGRATION_RETRY_ATTEMPTS). */
const BATCH_ATTEMPTS = 2;

export function registerMetricTests(world: World): void {
  describe('metrics in Prometheus', () => {
    it('every metric of docs/telemetry.md exists under its Prometheus name with exactly its labels', async () => {
      const catalog = catalogMetrics();
      expect(catalog.length, 'metrics parsed from docs/telemetry.md').to.be.greaterThan(5);
      const problems: string[] = [];
      for (const metric of catalog) {
        for (const name of metric.prom) {
          const series = await promSeries(world.prometheus.url, `${name}{${APP}}`);
          if (series.length === 0) {
            problems.push(`${name} (${metric.otel}): no series`);
            continue;
          }
          const labels = new Set(
            series.flatMap((s) => Object.keys(s).filter((l) => !isInfrastructureLabel(l))),
          );
          // The exporter turns dots in attribute names into underscores (http.route -> http_route).
          const want = metric.attributes.map((a) => a.replaceAll('.', '_')).sort();
          if (JSON.stringify([...labels].sort()) !== JSON.stringify(want)) {
            problems.push(`${name}: labels ${[...labels].sort().join(',')} != catalog ${want.join(',')}`);
          }
        }
      }
      expect(problems).to.deep.equal([]);
    });

    it('every metric the app exports is in docs/telemetry.md', async () => {
      const documented = new Set(catalogMetrics().flatMap((m) => m.prom));
      const names = await promMetricNames(world.prometheus.url);
      const undocumented: string[] = [];
      for (const name of names) {
        // Span metrics are the collector's (job = the span's service), not instruments of the app;
        // ALERTS are Prometheus's own, labelled with the job of an alert such as ServiceDown.
        if (
          documented.has(name) ||
          ['target_info', 'ALERTS', 'ALERTS_FOR_STATE'].includes(name) ||
          name.startsWith('traces_spanmetrics_')
        )
          continue;
        if ((await promSeries(world.prometheus.url, `${name}{${APP}}`)).length > 0) undocumented.push(name);
      }
      expect(undocumented, 'metrics exported by sdops processes but missing from the catalog').to.deep.equal(
        [],
      );
    });

    it('soft_delete_operations_total equals the rows the database shows deleted, restored, archived and purged', async () => {
      const expected = await expectedSoftDelete(world.sql, world.ledger);
      expect(expected['documents|archive|success'] ?? 0, 'the workload archived rows').to.be.greaterThan(0);
      expect(
        expected['customers|restore|failure'] ?? 0,
        'the workload had restore conflicts',
      ).to.be.greaterThan(0);
      const by = ['entity', 'operation', 'status'];
      const seen = await untilExact(world.prometheus.url, 'soft_delete_operations_total', by, expected);
      expect(seen).to.deep.equal(expected);
    });

    it('soft_delete_operations_duration_seconds counts one observation per core call', async () => {
      const expected = await expectedCalls(world.sql, world.ledger);
      const by = ['entity', 'operation'];
      const seen = await untilExact(
        world.prometheus.url,
        'soft_delete_operations_duration_seconds_count',
        by,
        expected,
      );
      expect(seen).to.deep.equal(expected);
    });

    it('migration run counters equal the session outcomes recorded in sdops_migration_runs', async () => {
      const { runs } = await expectedMigration(world.sql, world.ledger, BATCH_ATTEMPTS);
      expect(world.ledger.sessions.map((s) => s.state)).to.deep.equal([
        'partially_failed',
        'succeeded',
        'failed',
        'succeeded',
      ]);
      const success = await untilExact(world.prometheus.url, 'migration_run_success_total', ['migration'], {
        [MIGRATION]: runs[`${MIGRATION}|success`] ?? 0,
      });
      const failure = await untilExact(world.prometheus.url, 'migration_run_failure_total', ['migration'], {
        [MIGRATION]: runs[`${MIGRATION}|failure`] ?? 0,
      });
      expect({ success, failure }).to.deep.equal({
        success: { [MIGRATION]: 2 },
        failure: { [MIGRATION]: 2 },
      });
    });

    it('migration rows and batch attempts equal sdops_migration_runs / sdops_migration_batches', async () => {
      const { rows, batches } = await expectedMigration(world.sql, world.ledger, BATCH_ATTEMPTS);
      expect(rows[`${MIGRATION}|success`] ?? 0).to.be.greaterThan(0);
      const url = world.prometheus.url;
      const seenRows = await untilExact(url, 'migration_rows_processed_total', ['migration', 'status'], rows);
      expect(seenRows).to.deep.equal(rows);
      const seenBatches = await untilExact(
        url,
        'migration_batch_duration_seconds_count',
        ['migration', 'status'],
        batches,
      );
      expect(seenBatches).to.deep.equal(batches);
      // The failure series exists (failed attempts are recorded), even though it adds no rows.
      const failureSeries = await promSeries(url, `migration_rows_processed_total{${APP},status="failure"}`);
      expect(failureSeries.length).to.be.greaterThan(0);
    });

    it('cleanup worker counters equal the finished job attempts in pg-boss', async () => {
      const { processed, failures } = await expectedWorker(world.sql);
      expect(failures.noop ?? 0, 'the failing noop job failed every attempt').to.equal(2);
      const url = world.prometheus.url;
      const seenProcessed = await untilExact(
        url,
        'cleanup_worker_jobs_processed_total',
        ['job_type'],
        processed,
      );
      const seenFailures = await untilExact(url, 'cleanup_worker_job_failures_total', ['job_type'], failures);
      const seenDuration = await untilExact(
        url,
        'cleanup_worker_job_duration_seconds_count',
        ['job_type'],
        processed,
      );
      const seenWait = await untilExact(
        url,
        'cleanup_worker_queue_wait_seconds_count',
        ['job_type'],
        processed,
      );
      expect({ seenProcessed, seenFailures, seenDuration, seenWait }).to.deep.equal({
        seenProcessed: processed,
        seenFailures: failures,
        seenDuration: processed,
        seenWait: processed,
      });
    });

    it('the failing job is dead in pg-boss and cleanup_queue_length ends at 0 for every job type', async () => {
      const [dead] = (
        await world.sql.query<{ n: string }>(
          `SELECT count(*) AS n FROM pgboss.job WHERE name = 'cleanup.dead_letter' AND data->'meta'->>'jobId' = $1`,
          [world.ledger.jobIds.failing],
        )
      ).rows;
      expect(Number(dead?.n)).to.equal(1);
      const lengths = await promQuery(
        world.prometheus.url,
        `max by (job_type) (last_over_time(cleanup_queue_length{job="sdops-database"}[${WINDOW}]))`,
      );
      expect(lengths.length).to.be.greaterThan(0);
      expect(lengths.filter((s) => s.value !== 0)).to.deep.equal([]);
      const peak = await promQuery(
        world.prometheus.url,
        `max(max_over_time(cleanup_queue_length{job="sdops-database"}[${WINDOW}]))`,
      );
      expect(peak[0]?.value ?? 0, 'the gauge saw waiting jobs at some point').to.be.greaterThan(0);
    });

    it('every metric family the collector serves has HELP text (promtool check metrics)', async () => {
      const response = await fetch(`http://127.0.0.1:${world.collector.ports.metrics}/metrics`);
      const scrape = await response.text();
      expect(scrape).to.include('soft_delete_operations_total{');
      const { output } = await promtool(['check', 'metrics'], { input: scrape });
      expect(output.split('\n').filter((line) => /no help text/i.test(line))).to.deep.equal([]);
    });

    it('costs a bounded number of series per process, and the collector stays small (measured)', async () => {
      const perInstance = await promQuery(
        world.prometheus.url,
        `count by (job, instance) (last_over_time({job=~"sdops-.*"}[${WINDOW}] @ ${world.endedAt / 1000}))`,
      );
      const byJob: Record<string, number[]> = {};
      for (const s of perInstance)
        byJob[s.metric.job ?? ''] = [...(byJob[s.metric.job ?? ''] ?? []), s.value];
      const summary = Object.fromEntries(
        Object.entries(byJob).map(([job, counts]) => [
          job,
          {
            processes: counts.length,
            maxSeries: Math.max(...counts),
            series: counts.reduce((a, b) => a + b, 0),
          },
        ]),
      );
      const peak = async (metric: string) =>
        (await promQuery(world.prometheus.url, `max(max_over_time(${metric}[30m]))`))[0]?.value ?? 0;
      const rss = await peak('otelcol_process_memory_rss');
      const heap = await peak('otelcol_process_runtime_heap_alloc_bytes');
      measured(
        `series per process kind over the workload ${JSON.stringify(summary)}; collector peak RSS ${Math.round(rss / 2 ** 20)} MiB, heap ${Math.round(heap / 2 ** 20)} MiB`,
      );
      // A CLI command is its counters and histograms for what it did, span metrics and target_info.
      expect(summary['sdops-cli']?.maxSeries ?? 0).to.be.within(1, 400);
      expect(summary['sdops-database']?.processes, 'one identity for the database gauges').to.equal(1);
    });

    it('histogram sums are positive and _bucket{le="+Inf"} equals _count', async () => {
      for (const metric of catalogMetrics().filter((m) => m.type === 'histogram')) {
        const base = metric.prom[0]!.replace(/_bucket$/, '');
        const inf = await totals(world.prometheus.url, `${base}_bucket`, ['le']);
        const count = await totals(world.prometheus.url, `${base}_count`, []);
        const sum = await totals(world.prometheus.url, `${base}_sum`, []);
        expect(inf['+Inf'], `${base} +Inf bucket`).to.equal(count['']);
        expect(sum[''] ?? 0, `${base}_sum`).to.be.greaterThan(0);
      }
    });
  });
}
