import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { waitUntil } from '../support/wait.ts';
import {
  collectorTargets,
  startCollector,
  startPrometheus,
  type TestCollector,
  type TestPrometheus,
} from './support/index.ts';
import { promQuery } from './support/prom-api.ts';
import { appEnvironment, type LongRunning, sdopsJson, startLongRunning } from './workload/app.ts';
import { firing } from './workload/query.ts';

/**
 * MigrationRunFailed when the run's count never reaches Prometheus: an `sdops migrate` process
 * exports its counters once, as it exits, so a collector that is down then (or restarts before
 * Prometheus scrapes it) loses that count, and a failed run paged nobody (a probe: a
 * partially_failed run ended 0.1 s before a collector restart). The rule also reads the runs table
 * through the database gauge that every running serve and worker exports; this runs the failure
 * with the collector down, deterministically, against the production rules.
 */

const MIGRATION = 'backfill-deleted-at';

describe('MigrationRunFailed for a run whose count the collector lost', function () {
  this.timeout(240_000);
  let dir = '';
  let collector: TestCollector | undefined;
  let prometheus: TestPrometheus | undefined;
  let db: TestDatabase | undefined;
  let worker: LongRunning | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sdops-failed-run-'));
    collector = await startCollector();
    const ports = collector.ports;
    prometheus = await startPrometheus((port) => collectorTargets(ports, port));
    db = await createTestDatabase();
  });

  after(async () => {
    await worker?.stop();
    await prometheus?.stop();
    await collector?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fires from the runs table, read by a running worker, for a run that failed while the collector was down', async () => {
    const c = collector as TestCollector;
    const prom = (prometheus as TestPrometheus).url;
    const env = appEnvironment((db as TestDatabase).url, c.appEnv);
    await sdopsJson(env, ['seed', '--rows', '200', '--legacy-fraction', '0.5']);
    worker = await startLongRunning('worker', env, ['worker', '--no-schedule'], /worker started/, dir);
    const gauge = `migration_runs_last_failure_timestamp_seconds{migration="${MIGRATION}"}`;
    await waitUntil(
      'the worker to export the runs table reading (0: no run failed yet)',
      async () => ((await promQuery(prom, gauge)).length > 0 ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 250 },
    );

    await c.stop();
    // Batch 2 fails on every attempt: the run ends partially_failed, and its process's one export
    // at exit finds no collector.
    const run = await sdopsJson<{ runId: string; state: string }>(
      env,
      ['migrate', 'start', MIGRATION, '--entity', 'customers', '--batch-size', '10'],
      { expectCode: 1, extraEnv: { SDOPS_MIGRATION_FAIL_BATCH: `${MIGRATION}:2` } },
    );
    expect(run.state).to.equal('partially_failed');
    await c.start();

    const firedAt = await waitUntil(
      'MigrationRunFailed (the production rule) to fire for the run whose count was lost',
      async () =>
        (await firing(prom, 'MigrationRunFailed', false, 'migration')).includes(MIGRATION)
          ? Date.now()
          : undefined,
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    // The premise: no counter series of any process rose, so only the table can have fired it. The
    // worker's series comes back after the collector's restart at its exporter's next probe (its
    // circuit breaker waits up to 15 s), which can be after the table's gauge fired the alert.
    const counted = await waitUntil(
      "the worker's run counter back in Prometheus",
      async () => {
        const found = await promQuery(prom, `max(migration_run_failure_total{migration="${MIGRATION}"})`);
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(
      counted.map((s) => s.value),
      'the lost count (the worker reports its counter at 0)',
    ).to.deep.equal([0]);
    const [reading] = await promQuery(prom, gauge);
    expect(
      firedAt / 1000 - (reading?.value ?? 0),
      'seconds from the run end the table gives to the alert',
    ).to.be.within(0, 90);
  });
});
