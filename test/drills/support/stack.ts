import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { ALERT_PARAMS, type AlertParams, alertRules, prometheusRules } from '../../../grafana/src/index.ts';
import {
  collectorTargets,
  freePort,
  type InstantSample,
  promQuery,
  startCollector,
  startPrometheus,
  type TestCollector,
  type TestPrometheus,
} from '../../pipeline/support/index.ts';
import { runCli, SDOPS_BIN } from '../../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { type SdopsProcess, spawnSdops } from '../../support/sdops-process.ts';
import { waitUntil } from '../../support/wait.ts';

/**
 * What a drill runs against: a fresh PostgreSQL database, the real collector, the Prometheus compose
 * runs (with the production rules, plus the same rules with windows a drill can wait out: DRILL_PARAMS),
 * and `sdops serve`, which samples the database gauges the queue and migration alerts read, as in
 * compose. Every sdops process (the drill's and the operator's) gets `env`.
 */

/**
 * The production rules (alertRules) with thresholds and windows a drill of about a minute can reach
 * and wait out; loaded as group soft-delete-ops-drill, their ALERTS carry drill="true". Same
 * expressions, same code path. The production numbers are exercised separately by `promtool test
 * rules` (test/alerts), and a drill checks the production expression too where its threshold is
 * reachable (failure ratio, backlog, failed run, API 5xx ratio).
 */
export const DRILL_PARAMS: AlertParams = {
  ...ALERT_PARAMS,
  failureRatioWindow: '20s',
  failureRatioFor: '0s',
  minJobsPerWindow: 3,
  apiErrorRatioWindow: '30s',
  apiErrorRatioFor: '0s',
  apiAuthRefusalWindow: '30s',
  apiAuthRefusalFor: '0s',
  apiRecentWindow: '30s',
  minApiRequestsPerWindow: 5,
  queueBacklogFor: '2s',
  queueStalledSeconds: 5,
  queueStalledWindow: '5s',
  migrationFailureWindow: '20s',
  migrationStaleSeconds: 2,
  collectorDownFor: '2s',
  serviceLiveWindow: '5s',
  serviceSeenWindow: '10m',
  serviceDownFor: '0s',
  serviceKeepFiringFor: '0s',
  serviceCollectorOutageHold: '1m',
  serviceCrashWindow: '1m',
  serviceShortLifeSeconds: 300,
  serviceCrashes: 2,
  serviceCrashLoopFor: '0s',
  // The drill's workers start seconds apart and live less than a minute: no slack, so the one
  // still running is no replacement of the one killed.
  serviceReplacementSlackSeconds: 0,
  backendStuckWindow: '5s',
  backendDownFor: '0s',
  droppedWindow: '20s',
  droppedFor: '0s',
};

export const DRILL_RULES = alertRules(DRILL_PARAMS);

export interface DrillStack {
  readonly db: TestDatabase;
  readonly sql: pg.Client;
  readonly collector: TestCollector;
  readonly prometheus: TestPrometheus;
  /** The environment of every sdops process, the operator's shell included. */
  readonly env: Readonly<Record<string, string>>;
  /** A directory with an `sdops` executable (the real CLI), for the operator's PATH. */
  readonly bin: string;
  /** The API of the stack's `sdops serve` (no tokens: loopback only). */
  readonly apiUrl: string;
  /**
   * One more `sdops serve` of the stack (as deployed: service sdops-api, same collector), with extra
   * settings such as SDOPS_API_TOKENS; the stack stops it with the rest.
   */
  startApi(env: Record<string, string>): Promise<{ readonly url: string; stop(): Promise<void> }>;
  /** Kills the stack's own `sdops serve` with SIGKILL (a crash: nothing more is exported). */
  killApi(): Promise<void>;
  /** Starts the stack's own `sdops serve` again on its port, as compose's `up -d sdops-api` would. */
  restartApi(): Promise<void>;
  /** A worker of the stack itself (as deployed, not started by the operator), with extra settings. */
  startWorker(args: readonly string[], env?: Record<string, string>): Promise<SdopsProcess>;
  /** Stops the stack's own workers (a redeploy replaces them). */
  stopStackWorkers(): Promise<void>;
  query(expr: string): Promise<InstantSample[]>;
  stop(): Promise<void>;
}

function shim(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const path = join(bin, 'sdops');
  writeFileSync(path, `#!/bin/sh\nexec "${process.execPath}" "${SDOPS_BIN}" "$@"\n`);
  chmodSync(path, 0o755);
  return bin;
}

export async function startDrillStack(name: string): Promise<DrillStack> {
  const dir = mkdtempSync(join(tmpdir(), `sdops-drill-${name}-`));
  const rules = join(dir, 'drill.rules.yml');
  writeFileSync(
    rules,
    stringify(prometheusRules(DRILL_RULES, { group: 'soft-delete-ops-drill', labels: { drill: 'true' } }), {
      lineWidth: 0,
    }),
  );
  const collector = await startCollector({ name: `collector-${name}` });
  const prometheus = await startPrometheus((port) => collectorTargets(collector.ports, port), {
    extraRuleFiles: [rules],
  });
  const db = await createTestDatabase();
  const env: Record<string, string> = {
    ...collector.appEnv,
    DATABASE_URL: db.url,
    OTEL_SDK_DISABLED: 'false',
    OTEL_METRIC_EXPORT_INTERVAL: '500',
    LOG_LEVEL: 'info',
    SDOPS_ENVIRONMENT: `drill-${name}`,
    SDOPS_QUEUE_POLL_INTERVAL_MS: '100',
    SDOPS_QUEUE_SAMPLE_INTERVAL_MS: '300',
    SDOPS_QUEUE_MAINTENANCE_INTERVAL_SECONDS: '1',
    SDOPS_JOB_RETRY_DELAY_SECONDS: '1',
    SDOPS_WORKER_SHUTDOWN_TIMEOUT_MS: '5000',
    SDOPS_PURGE_CRON: 'off',
    SDOPS_ARCHIVE_CRON: 'off',
    SDOPS_MIGRATION_HEARTBEAT_MS: '250',
    SDOPS_MIGRATION_LEASE_TIMEOUT_MS: '1500',
    SDOPS_MIGRATION_RETRY_ATTEMPTS: '2',
    SDOPS_MIGRATION_RETRY_BASE_MS: '10',
    SDOPS_MIGRATION_RETRY_MAX_MS: '20',
  };
  const migrated = await runCli(['db', 'migrate'], env);
  if (migrated.code !== 0) throw new Error(`sdops db migrate failed: ${migrated.stderr}`);
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  // The stack's API process: it samples the database gauges, as compose's sdops-api does.
  const port = await freePort();
  const startServe = async (): Promise<SdopsProcess> => {
    const started = spawnSdops(['serve', '--port', String(port)], env);
    await started.waitFor(/sdops api listening on/, 30_000).catch(async (error: unknown) => {
      await started.stop('SIGKILL');
      throw error;
    });
    return started;
  };
  let serve = await startServe();
  const workers: SdopsProcess[] = [];
  const apis: SdopsProcess[] = [];
  const query = (expr: string) => promQuery(prometheus.url, expr);
  // The gauges reach Prometheus: the stack is ready for the drill.
  await waitUntil(
    'the database gauges in Prometheus',
    async () => ((await query('cleanup_queue_length')).length > 0 ? true : undefined),
    { timeoutMs: 30_000 },
  );
  return {
    db,
    sql,
    collector,
    prometheus,
    env,
    bin: shim(dir),
    apiUrl: `http://127.0.0.1:${port}`,
    query,
    async startApi(extra) {
      const apiPort = await freePort();
      const api = spawnSdops(['serve', '--port', String(apiPort)], { ...env, ...extra });
      apis.push(api);
      await api.waitFor(/sdops api listening on/, 30_000);
      return {
        url: `http://127.0.0.1:${apiPort}`,
        async stop() {
          apis.splice(apis.indexOf(api), 1);
          await api.stop('SIGTERM');
        },
      };
    },
    async killApi() {
      await serve.stop('SIGKILL');
    },
    async restartApi() {
      serve = await startServe();
    },
    async startWorker(args, extra = {}) {
      const w = spawnSdops(['worker', '--no-schedule', ...args], { ...env, ...extra });
      workers.push(w);
      await w.waitFor(/worker started/);
      return w;
    },
    async stopStackWorkers() {
      await Promise.all(workers.splice(0).map((w) => w.stop('SIGTERM')));
    },
    async stop() {
      await Promise.all([...workers.splice(0), ...apis.splice(0)].map((w) => w.stop('SIGTERM')));
      await serve.stop('SIGTERM');
      await sql.end().catch(() => undefined);
      await prometheus.stop();
      await collector.close();
      await db.drop();
      if (process.env.SDOPS_KEEP_TEST_DIRS !== '1') rmSync(dir, { recursive: true, force: true });
    },
  };
}
