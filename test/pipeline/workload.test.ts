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
  MIGRATION,
  migrationPhase,
  retentionPhase,
  seedPhase,
} from './workload/scenario.ts';
import { firing, scrapedAfter, spanMetricsCaughtUp } from './workload/query.ts';
import { writeScaledRules } from './workload/rules.ts';
import { heldJobStretch, noWorkerStretch, staleRunStretch } from './workload/stretches.ts';
import { registerMetricTests } from './workload/metric-tests.ts';
import { registerSignalTests } from './workload/signal-tests.ts';
import { registerGrafanaTests } from './workload/grafana-tests.ts';
import { registerPanelTests } from './workload/panel-tests.ts';
import { waitUntil } from '../support/wait.ts';

/**
 * The whole pipeline under a mixed workload: `sdops` CLI commands and migrate runs (short-lived,
 * exporting once at exit), `sdops serve` and `sdops worker` (long-running) against one PostgreSQL
 * database export to the real collector (otel-collector/config.yaml + the test overlay), which the
 * Prometheus compose.yaml runs scrapes, with the production alert rules and the same rules scaled
 * to the workload's minutes (workload/rules.ts). On the way: a migration process frozen until its
 * run is stale, a collector restart, a stretch with no worker while jobs wait, a serve restart. The
 * workload runs once in before(); every test then compares what the pipeline shows with what the
 * database (and the calls' own reports) say.
 */

const WORKER_ARGS = ['worker', '--no-schedule', '--concurrency', '2'];
const SERVE_ARGS = ['serve', '--port', '0'];

describe('the pipeline under the real workload (CLI, API, worker, migrations -> collector -> Prometheus)', function () {
  this.timeout(900_000);
  const world = {
    ledger: new Ledger(),
    exitCodes: {},
    serviceLogs: {},
    moments: {},
  } as unknown as World;
  let dir = '';
  const running = new Map<string, LongRunning>();

  before(async () => {
    world.startedAt = Date.now();
    dir = mkdtempSync(join(tmpdir(), 'sdops-workload-'));
    world.collector = await startCollector();
    world.prometheus = await startPrometheus((port) => collectorTargets(world.collector.ports, port), {
      extraRuleFiles: [writeScaledRules(dir)],
    });
    world.db = await createTestDatabase();
    world.sql = sqlClient(world.db.url);
    const env = appEnvironment(world.db.url, world.collector.appEnv);
    const ctx: Ctx = { env, sql: world.sql, ledger: world.ledger, prom: world.prometheus.url };
    const prom = world.prometheus.url;

    const start = async (name: string, args: string[], ready: RegExp) => {
      const service = await startLongRunning(name, env, args, ready, dir);
      running.set(name, service);
      return service;
    };
    const stop = async (name: string) => {
      const service = running.get(name);
      if (!service) throw new Error(`${name} is not running`);
      running.delete(name);
      world.exitCodes[name] = await service.stop();
      world.serviceLogs[name] = service.logText();
    };
    let serveName = 'serve';
    let base = '';
    const startServe = async (name: string) => {
      serveName = name;
      base = (await start(name, SERVE_ARGS, /sdops api listening on (http:\S+)/)).match[1] as string;
    };

    await seedPhase(ctx);
    await start('worker', WORKER_ARGS, /worker started/);
    await startServe('serve');

    await apiPhase(ctx, base);
    await cliPhase(ctx);
    await migrationPhase(ctx);
    world.failedAlertFiringAt = await waitUntil(
      'MigrationRunFailed (the production rule) to fire for the failed runs',
      async () =>
        (await firing(prom, 'MigrationRunFailed', false, 'migration')).includes(MIGRATION)
          ? Date.now()
          : undefined,
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const stale = await staleRunStretch(ctx);
    world.moments.stale = stale.during;
    world.moments.staleAfter = stale.after;

    // Every short-lived process has exported and been scraped, span metrics too: the restart below
    // forgets them all.
    await scrapedAfter(prom, world.ledger.lastCliExit);
    await spanMetricsCaughtUp(prom, () => world.collector.readSpans());
    const live = () => ['worker', serveName].map((n) => running.get(n)?.logText() ?? '');
    world.collectorStoppedAt = Date.now();
    // Down long enough for Prometheus to see it and the scaled TelemetryCollectorDown (1 s) to fire.
    const seenDown = () =>
      waitUntil(
        'the scaled TelemetryCollectorDown alert to fire while the collector is stopped',
        async () => (await firing(prom, 'TelemetryCollectorDown', true, 'job')).length > 0 || undefined,
        { timeoutMs: 30_000, intervalMs: 250 },
      ).then(() => undefined);
    await outagePhase(ctx, base, world.collector, live, seenDown);
    world.collectorRestartedAt = Date.now();

    const noWorker = await noWorkerStretch(ctx, {
      stopWorker: () => stop('worker'),
      startWorker: async () => {
        await start('worker-2', WORKER_ARGS, /worker started/);
      },
      restartServe: async () => {
        await stop('serve');
        await startServe('serve-2');
      },
      base: () => base,
    });
    world.moments.noWorker = noWorker.during;
    world.moments.afterServeRestart = noWorker.afterServeRestart;
    world.moments.drained = noWorker.drained;
    const held = await heldJobStretch(ctx);
    world.moments.held = held.during;
    world.moments.heldAfter = held.after;

    await backdate(world.sql);
    await retentionPhase(ctx);
    await retentionJobs(ctx);

    // Graceful shutdown flushes the last cumulative values; the scrape after it holds them, and the
    // span metrics of the last spans.
    for (const name of [...running.keys()]) await stop(name);
    await scrapedAfter(prom, Date.now());
    await spanMetricsCaughtUp(prom, () => world.collector.readSpans());
    world.endedAt = Date.now();
  });

  after(async () => {
    for (const s of running.values()) await s.stop();
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

  it('ran at least 20 short-lived sdops processes besides the long-running ones', () => {
    expect(world.ledger.cliProcesses).to.be.at.least(20);
  });

  it('serve and worker (each twice) exit 0 on SIGTERM, and no API call failed while the collector was down', () => {
    expect(world.exitCodes).to.deep.equal({ worker: 0, serve: 0, 'serve-2': 0, 'worker-2': 0 });
    expect(world.ledger.outageStatuses.length).to.be.greaterThan(0);
    expect(
      world.ledger.outageStatuses.every((s) => s === 200),
      String(world.ledger.outageStatuses),
    ).to.equal(true);
  });

  registerMetricTests(world);
  registerSignalTests(world);
  registerGrafanaTests(world);
  registerPanelTests(world);
});
