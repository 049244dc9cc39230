import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createTestDatabase } from '../support/postgres.ts';
import {
  COLLECTOR_CONFIG,
  collectorTargets,
  PROMETHEUS_CONFIG,
  promtoolCheckConfig,
  startCollector,
  startPrometheus,
  validateCollectorConfig,
} from './support/index.ts';
import { appEnvironment, type LongRunning, sqlClient, startLongRunning } from './workload/app.ts';
import { Ledger } from './workload/ledger.ts';
import type { World } from './workload/world.ts';
import { apiPhase, outagePhase, retentionJobs } from './workload/service-phase.ts';
import {
  backdate,
  cliPhase,
  type Ctx,
  migrationPhase,
  retentionPhase,
  seedPhase,
} from './workload/scenario.ts';
import { registerMetricTests } from './workload/metric-tests.ts';
import { registerSignalTests } from './workload/signal-tests.ts';
import { registerGrafanaTests } from './workload/grafana-tests.ts';

/**
 * The whole pipeline under the real workload: `sdops` CLI commands, `sdops serve` and `sdops worker`
 * against one PostgreSQL database export to the real collector (otel-collector/config.yaml + the
 * test overlay), which Prometheus (prometheus/prometheus.yml) scrapes. The workload runs once in
 * before(); every test then compares what the pipeline shows with what the database says.
 */

describe('the pipeline under the real workload (CLI, API, worker, migrations -> collector -> Prometheus)', function () {
  this.timeout(900_000);
  const world = { ledger: new Ledger(), exitCodes: {}, serviceLogs: {} } as World;
  let dir = '';
  const services: LongRunning[] = [];

  before(async () => {
    world.startedAt = Date.now();
    dir = mkdtempSync(join(tmpdir(), 'sdops-workload-'));
    world.collector = await startCollector();
    world.prometheus = await startPrometheus((port) => collectorTargets(world.collector.ports, port));
    world.db = await createTestDatabase();
    world.sql = sqlClient(world.db.url);
    const env = appEnvironment(world.db.url, world.collector.appEnv);
    const ctx: Ctx = { env, sql: world.sql, ledger: world.ledger };

    await seedPhase(ctx);
    const worker = await startLongRunning(
      'worker',
      env,
      ['worker', '--no-schedule', '--concurrency', '2'],
      /worker started/,
      dir,
    );
    services.push(worker);
    const serve = await startLongRunning(
      'serve',
      env,
      ['serve', '--port', '0'],
      /sdops api listening on (http:\S+)/,
      dir,
    );
    services.push(serve);
    const base = serve.match[1] as string;

    await apiPhase(ctx, base);
    await outagePhase(ctx, base, world.collector, () => [worker.logText(), serve.logText()]);
    // Short-lived processes only after the outage: a collector restart forgets the last values of
    // processes that already exited (the prometheus exporter's state is in memory).
    await migrationPhase(ctx);
    await cliPhase(ctx);
    await backdate(world.sql);
    await retentionPhase(ctx);
    await retentionJobs(ctx);

    // Graceful shutdown flushes the last cumulative values.
    for (const s of services.splice(0)) {
      world.exitCodes[s.name] = await s.stop();
      world.serviceLogs[s.name] = s.logText();
    }
  });

  after(async () => {
    for (const s of services.splice(0)) await s.stop();
    await world.sql?.end();
    await world.prometheus?.stop();
    await world.collector?.close();
    await world.db?.drop();
    if (dir && process.env.SDOPS_KEEP_TEST_DIRS !== '1') rmSync(dir, { recursive: true, force: true });
  });

  it('otelcol validate accepts otel-collector/config.yaml', async () => {
    const { code, output } = await validateCollectorConfig([COLLECTOR_CONFIG]);
    expect(code, output).to.equal(0);
  });

  it('promtool check config accepts prometheus/prometheus.yml', async () => {
    const { code, output } = await promtoolCheckConfig(PROMETHEUS_CONFIG);
    expect(code, output).to.equal(0);
  });

  it('serve and worker exit 0 on SIGTERM, and no API call failed while the collector was down', () => {
    expect(world.exitCodes).to.deep.equal({ worker: 0, serve: 0 });
    expect(world.ledger.outageStatuses.length).to.be.greaterThan(0);
    expect(
      world.ledger.outageStatuses.every((s) => s === 200),
      String(world.ledger.outageStatuses),
    ).to.equal(true);
  });

  registerMetricTests(world);
  registerSignalTests(world);
  registerGrafanaTests(world);
});
